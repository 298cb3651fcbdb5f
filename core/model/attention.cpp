// Attention and transformer block (see attention.h).
#include "attention.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace soul::model {

namespace {

constexpr int64_t kScoreBlockElements = int64_t(1) << 24;   // 64 MB of float32 scores at a time

}  // namespace

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
    // q is scaled before the product, as PyTorch's own attention does: one pass over (L, h) rather
    // than over the (L, S) scores. The scores are made a block of query rows at a time, at most
    // kScoreBlockElements: at Stable Diffusion's 64×64 latents they are 4096² a head, 1 GB for a
    // guided batch at once, which the allocator would page in afresh every time (runtime.cpp).
    const torch::Tensor qs = split(q) * (1.0 / std::sqrt(static_cast<double>(head))), kt = split(k).transpose(-2, -1), vs = split(v);
    const int64_t keys = k.size(1);
    const int64_t block = std::max<int64_t>(1, kScoreBlockElements / std::max<int64_t>(1, batch * heads * keys));
    std::vector<torch::Tensor> blocks;
    for (int64_t start = 0; start < length; start += block) {
        const int64_t rows = std::min(block, length - start);
        torch::Tensor scores = torch::matmul(qs.narrow(2, start, rows), kt);
        if (additive.defined()) scores.add_(additive.dim() >= 2 && additive.size(-2) == length && length > 1 ? additive.narrow(-2, start, rows) : additive);
        blocks.push_back(torch::matmul(torch::softmax(scores, -1), vs));
    }
    const torch::Tensor y = blocks.size() == 1 ? blocks.front() : torch::cat(blocks, 2);
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
