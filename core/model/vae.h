// The generator's VAE (box d's E and D; Kingma & Welling 2014, "Auto-Encoding Variational Bayes",
// as used by Rombach et al. 2022, "High-Resolution Image Synthesis with Latent Diffusion Models",
// §3.1): 64×64 RGB ↔ 4×16×16 latents (downsampling factor 4). A KL term with a small weight keeps
// the latent space smooth; `scale` (a buffer set after training, LDM's scale factor) brings the
// latents to unit variance for the diffusion model.
#pragma once

#include "conv_blocks.h"

namespace soul::model {

struct VAEOptions {
    int64_t width = 32;            // channels at half resolution; twice that at the latent resolution
    int64_t latent_channels = 4;
};

class VAEImpl : public torch::nn::Module {
public:
    explicit VAEImpl(const VAEOptions& options);
    // (B, 3, S, S) in [0, 1] → mean and log-variance, each (B, C, S/4, S/4), unscaled.
    std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& images);
    torch::Tensor decode(const torch::Tensor& latents);   // unscaled latents → images in [0, 1]
    // The diffusion model's view: scaled mean latents, and back.
    torch::Tensor to_latent(const torch::Tensor& images);
    torch::Tensor to_image(const torch::Tensor& scaled_latents);
    torch::Tensor scale;   // (1): 1 / SD of the training latents

private:
    torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
};
TORCH_MODULE(VAE);

// The VAE's loss: mean squared pixel error plus kl_weight × the mean KL divergence per latent value.
std::pair<torch::Tensor, torch::Tensor> vae_losses(VAEImpl& vae, const torch::Tensor& images);

}  // namespace soul::model
