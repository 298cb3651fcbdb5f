// The generator's denoising UNet in latent space (box d; Ronneberger et al. 2015, "U-Net", as
// made a noise predictor by Ho et al. 2020 and conditioned by cross-attention in Rombach et al.
// 2022, "High-Resolution Image Synthesis with Latent Diffusion Models", §3.3): residual blocks
// with a timestep embedding at 16×16, 8×8 and 4×4, self- and cross-attention on the caption's
// token features at 8×8 and 4×4, and the adapters' features added after each encoder level.
// The unconditional input of classifier-free guidance (Ho & Salimans 2022) is a learned null
// context token. Optionally the caption also enters globally: its tokens' mean, projected and
// added to the timestep embedding of every residual block (the pooled text embedding of SDXL,
// Podell et al. 2023 §2.1; class conditioning as in Dhariwal & Nichol 2021), so the 16×16 level,
// where the object's outline is drawn, sees what the object is.
#pragma once

#include "attention.h"
#include "conv_blocks.h"

#include <vector>

namespace soul::model {

struct UNetOptions {
    int64_t latent_channels = 4;
    int64_t width = 64;           // channels at the latent resolution; 2× below it
    int64_t heads = 4;
    int64_t context_width = 64;   // the text encoder's token width
    bool pooled_caption = false;  // the caption's mean token also joins the timestep embedding
};

// The channel count and downsampling of each level where adapter features are added.
std::vector<std::pair<int64_t, int64_t>> unet_feature_levels(int64_t width);   // {channels, factor}

// Sinusoidal embedding of diffusion timesteps (Vaswani et al. 2017 §3.5): (B) → (B, dim).
torch::Tensor timestep_embedding(const torch::Tensor& t, int64_t dim);

// Self-attention, cross-attention on the context, MLP, each pre-norm and residual, on a feature map.
class SpatialTransformerImpl : public torch::nn::Module {
public:
    SpatialTransformerImpl(int64_t channels, int64_t heads, int64_t context_width);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& key_mask);

private:
    GroupNorm32 norm_{nullptr};
    torch::nn::Conv2d in_{nullptr}, out_{nullptr};
    LayerNorm32 norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
    Attention self_{nullptr}, cross_{nullptr};
    torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(SpatialTransformer);

class UNetImpl : public torch::nn::Module {
public:
    explicit UNetImpl(const UNetOptions& options);
    // x (B, C, H, W) scaled noisy latents; t (B) timesteps; context (B, L, context_width) and
    // key_mask (B, L) from `condition`; adapter: empty, or one feature map per level.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& context, const torch::Tensor& key_mask,
                          const std::vector<torch::Tensor>& adapter = {});
    // Token features and their mask, with the rows where `unconditional` is true replaced by the
    // null context (one valid token).
    std::pair<torch::Tensor, torch::Tensor> condition(const torch::Tensor& features, const torch::Tensor& key_mask,
                                                      const torch::Tensor& unconditional);
    torch::Tensor null_context;   // (1, 1, context_width)

private:
    int64_t width_;
    torch::nn::Sequential time_{nullptr};
    torch::nn::Linear pooled_{nullptr};   // empty unless options.pooled_caption
    torch::nn::Conv2d in_{nullptr}, down0_{nullptr}, down1_{nullptr}, out_{nullptr};
    ResBlock res0_{nullptr}, res1_{nullptr}, mid0_{nullptr}, mid1_{nullptr}, up1_{nullptr}, up0_{nullptr};
    SpatialTransformer attn1_{nullptr}, attn_mid_{nullptr}, attn_up1_{nullptr};
    GroupNorm32 out_norm_{nullptr};
};
TORCH_MODULE(UNet);

}  // namespace soul::model
