// CLIP's vision tower (Radford et al. 2021, "Learning Transferable Visual Models From Natural
// Language Supervision"), ViT-L/14 at 224 px, in Hugging Face transformers' layout
// (modeling_clip.py: CLIPVisionModelWithProjection; the keys of openai/clip-vit-large-patch14's
// model.safetensors): patch embedding without bias, a class token, learned positions, the
// pre-LayerNorm ("pre_layrnorm", sic), pre-norm encoder layers with quick-GELU MLPs, the
// post-LayerNorm of the class token, and the projection without bias. The image embedding is what
// MindEye2's CLIP column compares (OpenAI's clip.encode_image computes the same).
#include "metric_nets.h"

namespace soul::metrics {
namespace {

namespace nn = torch::nn;

constexpr double kLayerNormEps = 1e-5;   // CLIPVisionConfig.layer_norm_eps

nn::LayerNorm layer_norm(int64_t width) { return nn::LayerNorm(nn::LayerNormOptions({width}).eps(kLayerNormEps)); }

struct EmbeddingsImpl : nn::Module {
    torch::Tensor class_embedding;
    nn::Conv2d patch_embedding{nullptr};
    nn::Embedding position_embedding{nullptr};
    EmbeddingsImpl(const ClipVisionConfig& c) {
        class_embedding = register_parameter("class_embedding", torch::zeros({c.hidden}));
        patch_embedding = register_module("patch_embedding", nn::Conv2d(nn::Conv2dOptions(3, c.hidden, c.patch).stride(c.patch).bias(false)));
        const int64_t positions = (c.image / c.patch) * (c.image / c.patch) + 1;
        position_embedding = register_module("position_embedding", nn::Embedding(positions, c.hidden));
    }
    torch::Tensor forward(const torch::Tensor& pixels) {
        auto patches = patch_embedding(pixels).flatten(2).transpose(1, 2);   // (B, P, D)
        auto cls = class_embedding.view({1, 1, -1}).expand({patches.size(0), 1, -1});
        return torch::cat({cls, patches}, 1) + position_embedding->weight.unsqueeze(0);
    }
};
TORCH_MODULE(Embeddings);

struct SelfAttentionImpl : nn::Module {
    nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
    int64_t heads;
    SelfAttentionImpl(int64_t width, int64_t heads_) : heads(heads_) {
        k_proj = register_module("k_proj", nn::Linear(width, width));
        v_proj = register_module("v_proj", nn::Linear(width, width));
        q_proj = register_module("q_proj", nn::Linear(width, width));
        out_proj = register_module("out_proj", nn::Linear(width, width));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        const int64_t b = x.size(0), n = x.size(1), d = x.size(2), h = d / heads;
        auto split = [&](const torch::Tensor& t) { return t.view({b, n, heads, h}).transpose(1, 2); };
        const auto q = split(q_proj(x)) * (1.0 / std::sqrt(static_cast<double>(h))), k = split(k_proj(x)), v = split(v_proj(x));
        const auto attention = torch::softmax(torch::matmul(q, k.transpose(-2, -1)), -1);
        return out_proj(torch::matmul(attention, v).transpose(1, 2).reshape({b, n, d}));
    }
};
TORCH_MODULE(SelfAttention);

struct MlpImpl : nn::Module {
    nn::Linear fc1{nullptr}, fc2{nullptr};
    MlpImpl(int64_t width, int64_t inner) {
        fc1 = register_module("fc1", nn::Linear(width, inner));
        fc2 = register_module("fc2", nn::Linear(inner, width));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        const auto y = fc1(x);
        return fc2(y * torch::sigmoid(1.702 * y));   // quick GELU, OpenAI CLIP's activation
    }
};
TORCH_MODULE(Mlp);

struct EncoderLayerImpl : nn::Module {
    SelfAttention self_attn{nullptr};
    nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
    Mlp mlp{nullptr};
    EncoderLayerImpl(const ClipVisionConfig& c) {
        self_attn = register_module("self_attn", SelfAttention(c.hidden, c.heads));
        layer_norm1 = register_module("layer_norm1", layer_norm(c.hidden));
        mlp = register_module("mlp", Mlp(c.hidden, c.intermediate));
        layer_norm2 = register_module("layer_norm2", layer_norm(c.hidden));
    }
    torch::Tensor forward(torch::Tensor x) {
        x = x + self_attn(layer_norm1(x));
        return x + mlp(layer_norm2(x));
    }
};
TORCH_MODULE(EncoderLayer);

struct EncoderImpl : nn::Module {
    nn::ModuleList layers;
    EncoderImpl(const ClipVisionConfig& c) {
        for (int64_t i = 0; i < c.layers; ++i) layers->push_back(EncoderLayer(c));
        register_module("layers", layers);
    }
};
TORCH_MODULE(Encoder);

struct VisionTransformerImpl : nn::Module {
    Embeddings embeddings{nullptr};
    nn::LayerNorm pre_layrnorm{nullptr}, post_layernorm{nullptr};
    Encoder encoder{nullptr};
    VisionTransformerImpl(const ClipVisionConfig& c) {
        embeddings = register_module("embeddings", Embeddings(c));
        pre_layrnorm = register_module("pre_layrnorm", layer_norm(c.hidden));
        encoder = register_module("encoder", Encoder(c));
        post_layernorm = register_module("post_layernorm", layer_norm(c.hidden));
    }
    torch::Tensor forward(const torch::Tensor& pixels) {
        auto x = pre_layrnorm(embeddings(pixels));
        for (const auto& layer : *encoder->layers) x = layer->as<EncoderLayerImpl>()->forward(x);
        return post_layernorm(x.select(1, 0));   // the class token, pooled
    }
};
TORCH_MODULE(VisionTransformer);

struct ClipVisionImpl : MetricNetwork {
    VisionTransformer vision_model{nullptr};
    nn::Linear visual_projection{nullptr};
    explicit ClipVisionImpl(const ClipVisionConfig& c) {
        vision_model = register_module("vision_model", VisionTransformer(c));
        visual_projection = register_module("visual_projection", nn::Linear(nn::LinearOptions(c.hidden, c.projection).bias(false)));
    }
    std::vector<std::string> layer_names() const override { return {"image_embeds"}; }
    std::vector<torch::Tensor> layers(torch::Tensor x) override { return {visual_projection(vision_model(x))}; }
};

}  // namespace

std::shared_ptr<MetricNetwork> make_clip_vision(const ClipVisionConfig& config) { return std::make_shared<ClipVisionImpl>(config); }

}  // namespace soul::metrics
