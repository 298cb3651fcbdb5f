// The transformer of CLIP's two towers (Radford et al. 2021), in Hugging Face transformers'
// layout (modeling_clip.py: CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPEncoder): pre-norm
// layers of self-attention (q_proj, k_proj, v_proj, out_proj, all with bias) and a quick-GELU MLP
// (fc1, fc2), LayerNorms layer_norm1 and layer_norm2 with ε = 1e-5. The vision tower
// (core/metrics/clip_vision.cpp) and the text encoder (clip_text.cpp) share it.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace soul::pretrained {

constexpr double kClipLayerNormEps = 1e-5;   // CLIPTextConfig / CLIPVisionConfig.layer_norm_eps

torch::nn::LayerNorm clip_layer_norm(int64_t width);

struct ClipAttentionImpl : torch::nn::Module {
    torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
    int64_t heads;
    ClipAttentionImpl(int64_t width, int64_t heads);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});
};
TORCH_MODULE(ClipAttention);

// hidden_act: "quick_gelu" (OpenAI's CLIP, Stable Diffusion 1.x) or "gelu" (OpenCLIP's, 2.x).
enum class ClipActivation { QuickGelu, Gelu };

struct ClipMlpImpl : torch::nn::Module {
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
    ClipActivation activation;
    ClipMlpImpl(int64_t width, int64_t inner, ClipActivation activation);
    torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(ClipMlp);

struct ClipEncoderLayerImpl : torch::nn::Module {
    ClipAttention self_attn{nullptr};
    torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
    ClipMlp mlp{nullptr};
    ClipEncoderLayerImpl(int64_t width, int64_t heads, int64_t inner, ClipActivation activation);
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask = {});
};
TORCH_MODULE(ClipEncoderLayer);

struct ClipEncoderImpl : torch::nn::Module {
    torch::nn::ModuleList layers;
    ClipEncoderImpl(int64_t count, int64_t width, int64_t heads, int64_t inner, ClipActivation activation = ClipActivation::QuickGelu);
    // The last layer's output.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});
    // The input and the output of every layer, as transformers' hidden_states: count + 1 tensors.
    std::vector<torch::Tensor> hidden_states(torch::Tensor x, const torch::Tensor& mask = {});
};
TORCH_MODULE(ClipEncoder);

}  // namespace soul::pretrained
