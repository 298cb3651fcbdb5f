// CLIP's vision tower (Radford et al. 2021, "Learning Transferable Visual Models From Natural
// Language Supervision"), ViT-L/14 at 224 px, in Hugging Face transformers' layout
// (modeling_clip.py: CLIPVisionModelWithProjection; the keys of openai/clip-vit-large-patch14's
// model.safetensors): patch embedding without bias, a class token, learned positions, the
// pre-LayerNorm ("pre_layrnorm", sic), pre-norm encoder layers with quick-GELU MLPs, the
// post-LayerNorm of the class token, and the projection without bias. The encoder is the one
// CLIP's text tower has too (core/pretrained/clip_layers.h). The image embedding is what
// MindEye2's CLIP column compares (OpenAI's clip.encode_image computes the same).
#include "metric_nets.h"

#include "../pretrained/clip_layers.h"

namespace soul::metrics {
namespace {

namespace nn = torch::nn;

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

struct VisionTransformerImpl : nn::Module {
    Embeddings embeddings{nullptr};
    nn::LayerNorm pre_layrnorm{nullptr}, post_layernorm{nullptr};
    pretrained::ClipEncoder encoder{nullptr};
    VisionTransformerImpl(const ClipVisionConfig& c) {
        embeddings = register_module("embeddings", Embeddings(c));
        pre_layrnorm = register_module("pre_layrnorm", pretrained::clip_layer_norm(c.hidden));
        encoder = register_module("encoder", pretrained::ClipEncoder(c.layers, c.hidden, c.heads, c.intermediate));
        post_layernorm = register_module("post_layernorm", pretrained::clip_layer_norm(c.hidden));
    }
    torch::Tensor forward(const torch::Tensor& pixels) {
        const auto x = encoder(pre_layrnorm(embeddings(pixels)));
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
