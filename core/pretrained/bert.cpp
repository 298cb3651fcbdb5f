// BERT (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
// Understanding"), in Hugging Face transformers' layout (modeling_bert.py: BertModel; the keys of
// bert-base-uncased): word, position and token-type embeddings with a LayerNorm; post-norm layers
// of self-attention (attention.self.query/key/value, attention.output.dense + LayerNorm) and a
// GELU feed-forward (intermediate.dense, output.dense + LayerNorm); the pooler's tanh(dense) of
// [CLS]. LayerNorm ε = 1e-12 (BertConfig.layer_norm_eps).
#include "text_encoders.h"

#include "../model/attention.h"
#include "config_json.h"
#include "soul/error.h"

namespace soul::pretrained {

namespace nn = torch::nn;

namespace {

constexpr double kBertLayerNormEps = 1e-12;

nn::LayerNorm bert_layer_norm(int64_t width) { return nn::LayerNorm(nn::LayerNormOptions({width}).eps(kBertLayerNormEps)); }

struct DenseNormImpl : nn::Module {   // BertSelfOutput and BertOutput: dense, then LayerNorm of the residual sum
    nn::Linear dense{nullptr};
    nn::LayerNorm norm{nullptr};
    DenseNormImpl(int64_t in, int64_t out) {
        dense = register_module("dense", nn::Linear(in, out));
        norm = register_module("LayerNorm", bert_layer_norm(out));
    }
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual) { return norm(dense(x) + residual); }
};
TORCH_MODULE(DenseNorm);

struct SelfAttentionImpl : nn::Module {
    nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
    explicit SelfAttentionImpl(int64_t width) {
        query = register_module("query", nn::Linear(width, width));
        key = register_module("key", nn::Linear(width, width));
        value = register_module("value", nn::Linear(width, width));
    }
};
TORCH_MODULE(SelfAttention);

struct AttentionBlockImpl : nn::Module {
    SelfAttention self{nullptr};
    DenseNorm output{nullptr};
    explicit AttentionBlockImpl(int64_t width) {
        self = register_module("self", SelfAttention(width));
        output = register_module("output", DenseNorm(width, width));
    }
};
TORCH_MODULE(AttentionBlock);

struct IntermediateImpl : nn::Module {
    nn::Linear dense{nullptr};
    IntermediateImpl(int64_t width, int64_t inner) { dense = register_module("dense", nn::Linear(width, inner)); }
};
TORCH_MODULE(Intermediate);

}  // namespace

struct BertEmbeddingsImpl : nn::Module {
    nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
    nn::LayerNorm norm{nullptr};
    explicit BertEmbeddingsImpl(const BertConfig& c) {
        word_embeddings = register_module("word_embeddings", nn::Embedding(c.vocabulary, c.hidden));
        position_embeddings = register_module("position_embeddings", nn::Embedding(c.positions, c.hidden));
        token_type_embeddings = register_module("token_type_embeddings", nn::Embedding(c.token_types, c.hidden));
        norm = register_module("LayerNorm", bert_layer_norm(c.hidden));
    }
    torch::Tensor forward(const torch::Tensor& ids) {   // a single sentence: token type 0 throughout
        const int64_t length = ids.size(1);
        return norm(word_embeddings(ids) + position_embeddings->weight.slice(0, 0, length).unsqueeze(0) + token_type_embeddings->weight[0]);
    }
};

struct BertLayerImpl : nn::Module {
    AttentionBlock attention{nullptr};
    Intermediate intermediate{nullptr};
    DenseNorm output{nullptr};
    int64_t heads;
    explicit BertLayerImpl(const BertConfig& c) : heads(c.heads) {
        attention = register_module("attention", AttentionBlock(c.hidden));
        intermediate = register_module("intermediate", Intermediate(c.hidden, c.intermediate));
        output = register_module("output", DenseNorm(c.intermediate, c.hidden));
    }
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_mask) {
        auto& s = attention->self;
        const auto attended = attention->output(model::multi_head_attention(s->query(x), s->key(x), s->value(x), heads, key_mask), x);
        return output(torch::gelu(intermediate->dense(attended)), attended);   // exact (erf) GELU, BERT's "gelu"
    }
};

namespace {
struct EncoderImpl : nn::Module {};
struct PoolerImpl : nn::Module {};
}  // namespace

BertModelImpl::BertModelImpl(const BertConfig& c) : config(c) {
    embeddings = register_module("embeddings", std::make_shared<BertEmbeddingsImpl>(c));
    auto encoder = register_module("encoder", std::make_shared<EncoderImpl>());
    for (int64_t i = 0; i < c.layers; ++i) layers->push_back(std::make_shared<BertLayerImpl>(c));
    encoder->register_module("layer", layers);
    auto pooler_module = register_module("pooler", std::make_shared<PoolerImpl>());
    pooler = pooler_module->register_module("dense", nn::Linear(c.hidden, c.hidden));
}

BertOutput BertModelImpl::forward(const torch::Tensor& ids, const torch::Tensor& attention_mask) {
    if (ids.dim() != 2 || ids.size(1) > config.positions || ids.size(1) < 1)
        throw Error("BERT takes (batch, at most " + std::to_string(config.positions) + ") token ids; got " + std::to_string(ids.dim()) +
                    " dimensions of " + std::to_string(ids.size(-1)));
    const torch::Tensor key_mask = attention_mask.defined() ? (attention_mask != 0).view({ids.size(0), 1, 1, -1}) : torch::Tensor();
    torch::Tensor x = embeddings->forward(ids);
    for (const auto& layer : *layers) x = layer->as<BertLayerImpl>()->forward(x, key_mask);
    return {x, torch::tanh(pooler(x.select(1, 0)))};
}

BertConfig read_bert_config(const std::string& path) {
    const nlohmann::json j = read_config_json(path);
    require_model_type(path, j, {"bert"});
    BertConfig c;
    c.vocabulary = config_size(path, j, "vocab_size", c.vocabulary);
    c.positions = config_size(path, j, "max_position_embeddings", c.positions);
    c.token_types = config_size(path, j, "type_vocab_size", c.token_types);
    c.hidden = config_size(path, j, "hidden_size", c.hidden);
    c.layers = config_size(path, j, "num_hidden_layers", c.layers);
    c.heads = config_size(path, j, "num_attention_heads", c.heads);
    c.intermediate = config_size(path, j, "intermediate_size", c.intermediate);
    const std::string act = j.value("hidden_act", std::string("gelu"));
    if (act != "gelu") throw Error(path, "hidden_act \"" + act + "\" is not BERT's gelu");
    if (j.value("position_embedding_type", std::string("absolute")) != "absolute")
        throw Error(path, "position_embedding_type \"" + j["position_embedding_type"].dump() + "\": only BERT's absolute positions are built");
    if (c.hidden % c.heads) throw Error(path, "hidden_size " + std::to_string(c.hidden) + " is not a multiple of num_attention_heads");
    return c;
}

WeightLayout bert_layout() {
    return {"BERT",
            {"bert."},
            {"cls.", "embeddings.position_ids", "embeddings.token_type_ids"},
            {{"LayerNorm.gamma", "LayerNorm.weight"}, {"LayerNorm.beta", "LayerNorm.bias"}}};
}

}  // namespace soul::pretrained
