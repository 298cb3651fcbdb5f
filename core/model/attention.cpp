// Attention and transformer block (see attention.h).
#include "attention.h"

#include <torch/version.h>

#include <cmath>

namespace soul::model {

torch::Tensor multi_head_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads,
                                   const torch::Tensor& mask) {
    const int64_t batch = q.size(0), length = q.size(1), width = q.size(2), head = width / heads;
    auto split = [&](const torch::Tensor& t) { return t.view({batch, t.size(1), heads, head}).transpose(1, 2); };   // B H L h
    torch::Tensor additive = mask;
    if (mask.defined() && mask.scalar_type() == torch::kBool) {
        // A large negative rather than -inf, so that a row with every key masked stays finite.
        const double masked = q.scalar_type() == torch::kHalf ? -65504.0 : -1e9;
        additive = torch::zeros(mask.sizes(), q.options()).masked_fill(~mask, masked);
    }
#if TORCH_VERSION_MAJOR >= 2
    const torch::Tensor y = at::scaled_dot_product_attention(split(q), split(k), split(v), additive);
#else
    torch::Tensor scores = torch::matmul(split(q), split(k).transpose(-2, -1)) / std::sqrt(static_cast<double>(head));
    if (additive.defined()) scores = scores + additive;
    const torch::Tensor y = torch::matmul(torch::softmax(scores, -1), split(v));
#endif
    return y.transpose(1, 2).reshape({batch, length, width});
}

AttentionImpl::AttentionImpl(int64_t width, int64_t heads, int64_t context_width) : heads_(heads) {
    const int64_t source = context_width > 0 ? context_width : width;
    q_ = register_module("q", torch::nn::Linear(torch::nn::LinearOptions(width, width).bias(false)));
    k_ = register_module("k", torch::nn::Linear(torch::nn::LinearOptions(source, width).bias(false)));
    v_ = register_module("v", torch::nn::Linear(torch::nn::LinearOptions(source, width).bias(false)));
    out_ = register_module("out", torch::nn::Linear(width, width));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& key_mask) {
    const torch::Tensor& source = context.defined() ? context : x;
    const torch::Tensor mask = key_mask.defined() ? key_mask.view({x.size(0), 1, 1, -1}) : torch::Tensor();
    return out_(multi_head_attention(q_(x), k_(source), v_(source), heads_, mask));
}

TransformerBlockImpl::TransformerBlockImpl(int64_t width, int64_t heads, int64_t hidden, double dropout) {
    norm1_ = register_module("norm1", layer_norm(width));
    norm2_ = register_module("norm2", layer_norm(width));
    attention_ = register_module("attention", Attention(width, heads));
    mlp_ = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(width, hidden), torch::nn::GELU(), torch::nn::Linear(hidden, width)));
    dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& key_mask) {
    torch::Tensor y = x + dropout_(attention_->forward(norm1_(x), torch::Tensor(), key_mask));
    return y + dropout_(mlp_->forward(norm2_(y)));
}

}  // namespace soul::model
