// Convolutional building blocks of the generator (VAE, UNet, adapters, category classifier):
// the residual block of Ho et al. 2020 ("Denoising Diffusion Probabilistic Models", appendix B,
// after the Wide ResNet) with GroupNorm and SiLU, optionally shifted by a timestep embedding.
#pragma once

#include "norms.h"

#include <torch/torch.h>

namespace soul::model {

constexpr int64_t kNormGroups = 8;   // GroupNorm groups; every width in the generator is a multiple

GroupNorm32 group_norm(int64_t channels, int64_t groups = kNormGroups);
torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1);

class ResBlockImpl : public torch::nn::Module {
public:
    // time_width 0: no timestep input (the VAE and the classifier).
    ResBlockImpl(int64_t in, int64_t out, int64_t time_width = 0);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& time = {});

private:
    GroupNorm32 norm1_{nullptr}, norm2_{nullptr};
    torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
    torch::nn::Linear time_{nullptr};
};
TORCH_MODULE(ResBlock);

}  // namespace soul::model
