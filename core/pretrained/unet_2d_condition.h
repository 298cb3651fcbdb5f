// Stable Diffusion's denoising UNet (Rombach et al. 2022, "High-Resolution Image Synthesis with
// Latent Diffusion Models", §3.3 and appendix: the ε-prediction UNet conditioned by cross-attention
// on the text encoder's token features), in diffusers' layout (models/unets/unet_2d_condition.py
// UNet2DConditionModel; unet_2d_blocks.py CrossAttnDownBlock2D, DownBlock2D, UNetMidBlock2DCrossAttn,
// CrossAttnUpBlock2D, UpBlock2D; resnet.py ResnetBlock2D; transformers/transformer_2d.py
// Transformer2DModel; attention.py BasicTransformerBlock, FeedForward with GEGLU; embeddings.py
// Timesteps, TimestepEmbedding), read from either layout Stable Diffusion is published in: a
// diffusers `unet/` folder, or the original single file (CompVis' ldm/modules/diffusionmodules/
// openaimodel.py UNetModel, keys under model.diffusion_model.: input_blocks, middle_block,
// output_blocks).
//
// 1.x: cross-attention width 768 (CLIP ViT-L/14), 8 heads in every block, 1×1 convolutions into and
// out of the transformers. 2.x: width 1024 (OpenCLIP ViT-H/14), 64-wide heads (5, 10, 20, 20),
// linear projections.
#pragma once

#include "load_weights.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace soul::pretrained {

struct UNet2DConditionConfig {   // Stable Diffusion 1.x's unet/config.json
    int64_t in_channels = 4, out_channels = 4;
    std::vector<int64_t> channels{320, 640, 1280, 1280};     // block_out_channels: one block a resolution
    std::vector<bool> cross_attention{true, true, true, false};   // CrossAttnDownBlock2D (true) or DownBlock2D; up blocks mirror
    // Heads of each down block's transformers (the mid-block uses the last; up blocks mirror).
    // diffusers' configs of SD call this attention_head_dim (a historical misnomer it keeps).
    std::vector<int64_t> heads{8, 8, 8, 8};
    int64_t layers_per_block = 2;   // resnets a down block; up blocks have one more
    int64_t groups = 32;            // norm_num_groups
    double norm_eps = 1e-5;         // the resnets' and the output's GroupNorm
    int64_t context_width = 768;    // cross_attention_dim
    bool linear_projection = false; // use_linear_projection: proj_in/proj_out linear (2.x) or 1×1 convolutions (1.x)
    bool flip_sin_to_cos = true;    // the timestep features as [cos, sin]
    double freq_shift = 0;          // downscale_freq_shift of the timestep features
    int64_t time_embedding() const { return 4 * channels.front(); }   // TimestepEmbedding's width: 1280
};

// The published configurations, for the original single files, which carry no config.
UNet2DConditionConfig stable_diffusion_1_unet_config();
UNet2DConditionConfig stable_diffusion_2_unet_config();

// A diffusers unet/config.json (a UNet2DConditionModel's). soul::Error naming the file and the
// field: another class, an SDXL UNet (addition_embed_type), class embeddings, block types other
// than SD's, a size that is not a positive integer, heads that do not divide a block's width.
UNet2DConditionConfig read_unet_2d_condition_config(const std::string& config_json);

struct UnetDownBlockImpl;
struct UnetMidBlockImpl;
struct UnetUpBlockImpl;
struct TimestepEmbeddingImpl;
struct UNet2DConditionModelImpl : torch::nn::Module {
    explicit UNet2DConditionModelImpl(const UNet2DConditionConfig& config);
    // sample (B, in_channels, h, w), h and w multiples of 2^(blocks − 1); timesteps (B) or a
    // scalar, in [0, 1000); context (B, L, context_width): the text encoder's token features.
    // Returns (B, out_channels, h, w): the model's prediction (ε for 1.x and 2.x-base, v for 2.x-v).
    // down_residuals: none, or one per down block at its output's size (adapter features: its
    // block_out_channels, the latent side halved per block before it).
    torch::Tensor forward(const torch::Tensor& sample, const torch::Tensor& timesteps, const torch::Tensor& context,
                          const std::vector<torch::Tensor>& down_residuals = {});
    // The channels of each down block's output: where adapter residuals join.
    std::vector<int64_t> adapter_levels() const { return config.channels; }

    UNet2DConditionConfig config;
    torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
    std::shared_ptr<TimestepEmbeddingImpl> time_embedding;
    torch::nn::ModuleList down_blocks, up_blocks;
    std::shared_ptr<UnetMidBlockImpl> mid_block;
    torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(UNet2DConditionModel);

// The layout of `names` (a weight file's keys): diffusers' unet/ (no prefix), or the original
// single file's (model.diffusion_model.; its VAE, text encoder and schedule keys unused), for a
// UNet with `layers_per_block` resnets a down block.
WeightLayout unet_2d_condition_layout(const std::vector<std::string>& names, int64_t layers_per_block);

}  // namespace soul::pretrained
