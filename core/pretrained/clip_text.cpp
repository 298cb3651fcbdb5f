// CLIP's text tower (Radford et al. 2021, "Learning Transferable Visual Models From Natural
// Language Supervision"), in Hugging Face transformers' layout (modeling_clip.py: CLIPTextModel,
// CLIPTextModelWithProjection; the keys of openai/clip-vit-large-patch14's model.safetensors and of
// Stable Diffusion's text_encoder folder): token and position embeddings, the pre-norm encoder of
// clip_layers.h under a causal mask, final_layer_norm, pooling at the end token, and the
// projection without bias.
#include "text_encoders.h"

#include "clip_layers.h"
#include "config_json.h"
#include "soul/error.h"

namespace soul::pretrained {

namespace nn = torch::nn;

struct ClipTextEmbeddingsImpl : nn::Module {
    nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
    explicit ClipTextEmbeddingsImpl(const ClipTextConfig& c) {
        token_embedding = register_module("token_embedding", nn::Embedding(c.vocabulary, c.hidden));
        position_embedding = register_module("position_embedding", nn::Embedding(c.positions, c.hidden));
    }
    torch::Tensor forward(const torch::Tensor& ids) {
        return token_embedding(ids) + position_embedding->weight.slice(0, 0, ids.size(1)).unsqueeze(0);
    }
};
TORCH_MODULE(ClipTextEmbeddings);

struct ClipTextTransformerImpl : nn::Module {
    ClipTextEmbeddings embeddings{nullptr};
    ClipEncoder encoder{nullptr};
    nn::LayerNorm final_layer_norm{nullptr};
    explicit ClipTextTransformerImpl(const ClipTextConfig& c) {
        embeddings = register_module("embeddings", ClipTextEmbeddings(c));
        encoder = register_module("encoder", ClipEncoder(c.layers, c.hidden, c.heads, c.intermediate,
                                                         c.quick_gelu ? ClipActivation::QuickGelu : ClipActivation::Gelu));
        final_layer_norm = register_module("final_layer_norm", clip_layer_norm(c.hidden));
    }
};

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& c) : config(c) {
    text_model = register_module("text_model", std::make_shared<ClipTextTransformerImpl>(c));
    if (c.projection > 0) text_projection = register_module("text_projection", nn::Linear(nn::LinearOptions(c.hidden, c.projection).bias(false)));
}

ClipTextOutput ClipTextModelImpl::forward(const torch::Tensor& ids, int64_t end_id) {
    if (ids.dim() != 2 || ids.size(1) > config.positions || ids.size(1) < 1)
        throw Error("CLIP's text encoder takes (batch, at most " + std::to_string(config.positions) + ") token ids; got " +
                    std::to_string(ids.dim()) + " dimensions of " + std::to_string(ids.size(-1)));
    const int64_t length = ids.size(1);
    const auto x = text_model->embeddings(ids);
    // Causal: position i sees positions ≤ i only (CLIP's text transformer is a language model's).
    const auto causal = torch::ones({length, length}, torch::TensorOptions().dtype(torch::kBool).device(ids.device())).tril();
    const auto states = text_model->encoder->hidden_states(x, causal);
    ClipTextOutput out;
    out.last_hidden_state = text_model->final_layer_norm(states.back());
    out.penultimate_hidden_state = states[states.size() - 2];
    // The first end token of each row; transformers takes argmax(ids) for configs whose
    // eos_token_id is the legacy 2, which is the same position since <|endoftext|> is the largest id.
    const auto is_end = (ids == end_id).to(torch::kInt64);
    const auto first_end = torch::where(is_end.sum(1) > 0, is_end.argmax(1), torch::full_like(is_end.sum(1), length - 1));
    out.pooled = out.last_hidden_state.index({torch::arange(ids.size(0), ids.options()), first_end});
    if (text_projection) out.text_embeds = text_projection(out.pooled);
    return out;
}

ClipTextConfig read_clip_text_config(const std::string& path) {
    nlohmann::json j = read_config_json(path);
    if (j.contains("text_config")) j = j["text_config"];   // a CLIPConfig: the whole model's
    require_model_type(path, j, {"clip_text_model", "clip"});
    ClipTextConfig c;
    c.vocabulary = config_size(path, j, "vocab_size", c.vocabulary);
    c.positions = config_size(path, j, "max_position_embeddings", c.positions);
    c.hidden = config_size(path, j, "hidden_size", c.hidden);
    c.layers = config_size(path, j, "num_hidden_layers", c.layers);
    c.heads = config_size(path, j, "num_attention_heads", c.heads);
    c.intermediate = config_size(path, j, "intermediate_size", c.intermediate);
    c.projection = config_size(path, j, "projection_dim", c.projection);
    const std::string act = j.value("hidden_act", std::string("quick_gelu"));
    if (act != "quick_gelu" && act != "gelu") throw Error(path, "hidden_act \"" + act + "\" is not CLIP's (quick_gelu or gelu)");
    c.quick_gelu = act == "quick_gelu";
    if (c.hidden % c.heads) throw Error(path, "hidden_size " + std::to_string(c.hidden) + " is not a multiple of num_attention_heads");
    return c;
}

WeightLayout clip_text_layout() {
    return {"CLIP's text encoder",
            {"cond_stage_model.transformer."},
            {"vision_model.", "visual_projection.", "logit_scale", "text_model.embeddings.position_ids", "model.diffusion_model.",
             "first_stage_model.", "model_ema.", "alphas_cumprod",
             "alphas_cumprod_prev", "betas", "log_one_minus_alphas_cumprod", "posterior_", "sqrt_"},
            {}};
}

}  // namespace soul::pretrained
