// Multi-head attention written with matmul and softmax (Vaswani et al. 2017, "Attention Is All
// You Need", eq. 1), and a pre-norm transformer block.
// Used by SemBERT, the text encoder, and the generator's UNet.
#pragma once

#include "norms.h"

#include <torch/torch.h>

namespace soul::model {

// softmax(q kᵀ / √d + mask) v on `heads` heads of width d: q (B, L, D), k and v (B, S, D) →
// (B, L, D), before any output projection. `mask` broadcasts to (B, heads, L, S): bool, true where
// a key may be attended to, or floating point, added to the scores; undefined for none. On
// LibTorch ≥ 2.0 it is LibTorch's fused scaled_dot_product_attention (flash and memory-efficient
// kernels on CUDA); on 1.13 the same written out.
torch::Tensor multi_head_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads,
                                   const torch::Tensor& mask = {});

class AttentionImpl : public torch::nn::Module {
public:
    // context_width: the width of the keys/values' source (cross-attention); 0: self-attention.
    AttentionImpl(int64_t width, int64_t heads, int64_t context_width = 0);
    // x (B, L, width); context (B, S, context_width) or undefined for self-attention; key_mask
    // (B, S) true where a key may be attended to, or undefined.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {}, const torch::Tensor& key_mask = {});

private:
    int64_t heads_;
    torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, out_{nullptr};
};
TORCH_MODULE(Attention);

class TransformerBlockImpl : public torch::nn::Module {
public:
    TransformerBlockImpl(int64_t width, int64_t heads, int64_t hidden, double dropout = 0.0);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_mask = {});

private:
    LayerNorm32 norm1_{nullptr}, norm2_{nullptr};
    Attention attention_{nullptr};
    torch::nn::Sequential mlp_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(TransformerBlock);

}  // namespace soul::model
