// Stable Diffusion's variational autoencoder (Rombach et al. 2022, "High-Resolution Image
// Synthesis with Latent Diffusion Models", the KL-regularised f = 8 autoencoder), in diffusers'
// layout (models/autoencoders/autoencoder_kl.py, vae.py: Encoder, Decoder; resnet.py ResnetBlock2D;
// attention_processor.py Attention), read from either of the layouts Stable Diffusion is
// published in: a diffusers `vae/` folder, or the original single file (CompVis'
// ldm/modules/diffusionmodules/model.py, keys under first_stage_model.).
#pragma once

#include "load_weights.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace soul::pretrained {

struct AutoencoderKLConfig {   // Stable Diffusion 1.x and 2.x's vae/config.json
    int64_t image_channels = 3, latent_channels = 4;
    std::vector<int64_t> channels{128, 256, 512, 512};   // block_out_channels: one block per entry, ×2 resolution between
    int64_t layers_per_block = 2, groups = 32;           // norm_num_groups
    double scaling_factor = 0.18215;                     // latents = scaling_factor · the posterior's mean (SD 1.x, 2.x)
};

// A diffusers vae/config.json (an AutoencoderKL's): soul::Error naming the file and the field.
AutoencoderKLConfig read_autoencoder_kl_config(const std::string& config_json);

struct KlEncoderImpl;
struct KlDecoderImpl;
struct AutoencoderKLImpl : torch::nn::Module {
    explicit AutoencoderKLImpl(const AutoencoderKLConfig& config);
    // Images (B, 3, H, W) in [-1, 1], H and W multiples of 2^(blocks − 1) → scaled latents
    // (B, latent_channels, H/f, W/f): the posterior's mean, as Stable Diffusion's img2img uses it.
    torch::Tensor encode(const torch::Tensor& images);
    // Scaled latents → images in about [-1, 1].
    torch::Tensor decode(const torch::Tensor& latents);
    int64_t downscale() const;   // f: 8 for Stable Diffusion

    AutoencoderKLConfig config;
    std::shared_ptr<KlEncoderImpl> encoder;
    std::shared_ptr<KlDecoderImpl> decoder;
    torch::nn::Conv2d quant_conv{nullptr}, post_quant_conv{nullptr};
};
TORCH_MODULE(AutoencoderKL);

// The layout of `names` (a weight file's keys): diffusers' (with its older attention names
// query/key/value/proj_attn) or the original single file's, read into the diffusers modules.
WeightLayout autoencoder_kl_layout(const std::vector<std::string>& names);

}  // namespace soul::pretrained
