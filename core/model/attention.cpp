// Attention and transformer block (see attention.h).
#include "attention.h"

#include <cmath>

namespace soul::model {

AttentionImpl::AttentionImpl(int64_t width, int64_t heads, int64_t context_width) : heads_(heads) {
    const int64_t source = context_width > 0 ? context_width : width;
    q_ = register_module("q", torch::nn::Linear(torch::nn::LinearOptions(width, width).bias(false)));
    k_ = register_module("k", torch::nn::Linear(torch::nn::LinearOptions(source, width).bias(false)));
    v_ = register_module("v", torch::nn::Linear(torch::nn::LinearOptions(source, width).bias(false)));
    out_ = register_module("out", torch::nn::Linear(width, width));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& key_mask) {
    const torch::Tensor& source = context.defined() ? context : x;
    const int64_t batch = x.size(0), length = x.size(1), width = x.size(2), head = width / heads_;
    auto split = [&](const torch::Tensor& t) { return t.view({batch, t.size(1), heads_, head}).transpose(1, 2); };   // B H L h
    const torch::Tensor q = split(q_(x)), k = split(k_(source)), v = split(v_(source));
    torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head));
    if (key_mask.defined()) scores = scores.masked_fill(~key_mask.view({batch, 1, 1, -1}), -1e9);
    const torch::Tensor y = torch::matmul(torch::softmax(scores, -1), v);
    return out_(y.transpose(1, 2).reshape({batch, length, width}));
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
