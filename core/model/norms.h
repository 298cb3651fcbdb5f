// Normalisation layers computed in float32 whatever their input's type, as CUDA's autocast runs
// normalisations (Micikevicius et al. 2018, "Mixed Precision Training": reductions in float32).
// LibTorch 1.13's CPU autocast leaves layer_norm and group_norm (and batch_norm, which
// classifier.cpp handles) out of its float32 list, and a bfloat16 input with float32 weights
// fails there; with these, --precision bf16 runs on the CPU as on CUDA. A float32 input is
// untouched (no copy, the same numbers). The parameters are LibTorch's own modules' (weight,
// bias), so checkpoints load either way.
#pragma once

#include <torch/torch.h>

namespace soul::model {

class LayerNorm32Impl : public torch::nn::LayerNormImpl {
public:
    using torch::nn::LayerNormImpl::LayerNormImpl;
    torch::Tensor forward(const torch::Tensor& x) { return torch::nn::LayerNormImpl::forward(x.to(torch::kFloat)); }
};
TORCH_MODULE(LayerNorm32);

class GroupNorm32Impl : public torch::nn::GroupNormImpl {
public:
    using torch::nn::GroupNormImpl::GroupNormImpl;
    torch::Tensor forward(const torch::Tensor& x) { return torch::nn::GroupNormImpl::forward(x.to(torch::kFloat)); }
};
TORCH_MODULE(GroupNorm32);

// LayerNorm32 over the last dimension of width `width`.
inline LayerNorm32 layer_norm(int64_t width) { return LayerNorm32(torch::nn::LayerNormOptions({width})); }

}  // namespace soul::model
