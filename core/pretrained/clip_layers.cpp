// CLIP's transformer layers (clip_layers.h).
#include "clip_layers.h"

#include "../model/attention.h"

namespace soul::pretrained {

namespace nn = torch::nn;

nn::LayerNorm clip_layer_norm(int64_t width) { return nn::LayerNorm(nn::LayerNormOptions({width}).eps(kClipLayerNormEps)); }

ClipAttentionImpl::ClipAttentionImpl(int64_t width, int64_t heads_) : heads(heads_) {
    k_proj = register_module("k_proj", nn::Linear(width, width));
    v_proj = register_module("v_proj", nn::Linear(width, width));
    q_proj = register_module("q_proj", nn::Linear(width, width));
    out_proj = register_module("out_proj", nn::Linear(width, width));
}

torch::Tensor ClipAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
    return out_proj(model::multi_head_attention(q_proj(x), k_proj(x), v_proj(x), heads, mask));
}

ClipMlpImpl::ClipMlpImpl(int64_t width, int64_t inner, ClipActivation activation_) : activation(activation_) {
    fc1 = register_module("fc1", nn::Linear(width, inner));
    fc2 = register_module("fc2", nn::Linear(inner, width));
}

torch::Tensor ClipMlpImpl::forward(const torch::Tensor& x) {
    const auto y = fc1(x);
    if (activation == ClipActivation::Gelu) return fc2(torch::gelu(y));
    return fc2(y * torch::sigmoid(1.702 * y));   // quick GELU, OpenAI CLIP's activation
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(int64_t width, int64_t heads, int64_t inner, ClipActivation activation) {
    self_attn = register_module("self_attn", ClipAttention(width, heads));
    layer_norm1 = register_module("layer_norm1", clip_layer_norm(width));
    mlp = register_module("mlp", ClipMlp(width, inner, activation));
    layer_norm2 = register_module("layer_norm2", clip_layer_norm(width));
}

torch::Tensor ClipEncoderLayerImpl::forward(torch::Tensor x, const torch::Tensor& mask) {
    x = x + self_attn(layer_norm1(x), mask);
    return x + mlp(layer_norm2(x));
}

ClipEncoderImpl::ClipEncoderImpl(int64_t count, int64_t width, int64_t heads, int64_t inner, ClipActivation activation) {
    for (int64_t i = 0; i < count; ++i) layers->push_back(ClipEncoderLayer(width, heads, inner, activation));
    register_module("layers", layers);
}

torch::Tensor ClipEncoderImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
    torch::Tensor y = x;
    for (const auto& layer : *layers) y = layer->as<ClipEncoderLayerImpl>()->forward(y, mask);
    return y;
}

std::vector<torch::Tensor> ClipEncoderImpl::hidden_states(torch::Tensor x, const torch::Tensor& mask) {
    std::vector<torch::Tensor> states{x};
    for (const auto& layer : *layers) {
        x = layer->as<ClipEncoderLayerImpl>()->forward(x, mask);
        states.push_back(x);
    }
    return states;
}

}  // namespace soul::pretrained
