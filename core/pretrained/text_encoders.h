// The pretrained text encoders of research scale (design.md §2), rebuilt in LibTorch with the
// exact module names of Hugging Face transformers, so that the user's own weight files load key
// for key with no Python step:
//   - CLIP's text tower (Radford et al. 2021; modeling_clip.py CLIPTextModel and
//     CLIPTextModelWithProjection): Stable Diffusion 1.x's text encoder (openai/clip-vit-large-patch14),
//     2.x's OpenCLIP ViT-H/14 (GELU, 23 layers), and CLIP's text embedding. The UNet's context is
//     last_hidden_state (1.x) or the penultimate layer through final_layer_norm (2.x).
//   - BERT (Devlin et al. 2019; modeling_bert.py BertModel, bert-base-uncased): the caption
//     embedding SemBERT is trained to predict, as the SoulDiffuser paper does.
// The sizes come from the model's config.json (read_*_config) or default to the published ones.
#pragma once

#include "load_weights.h"

#include <torch/torch.h>

#include <string>

namespace soul::pretrained {

struct ClipTextConfig {   // openai/clip-vit-large-patch14's text_config
    int64_t vocabulary = 49408, positions = 77, hidden = 768, layers = 12, heads = 12, intermediate = 3072;
    int64_t projection = 768;   // text_projection's width; 0: CLIPTextModel, as Stable Diffusion's text_encoder folder
    bool quick_gelu = true;     // hidden_act "quick_gelu"; false: "gelu"
};

struct BertConfig {   // bert-base-uncased's config.json
    int64_t vocabulary = 30522, positions = 512, token_types = 2, hidden = 768, layers = 12, heads = 12, intermediate = 3072;
};

// A config.json of transformers (a CLIPTextConfig, a CLIPConfig with its text_config, a BertConfig).
// soul::Error naming the file and the field: not JSON, a size missing or not a positive integer,
// an activation other than the model's, a model_type of another model (an SDXL text encoder's
// config is a CLIPTextModelWithProjection's and reads; a T5's is refused).
ClipTextConfig read_clip_text_config(const std::string& config_json);
BertConfig read_bert_config(const std::string& config_json);

struct ClipTextOutput {
    torch::Tensor last_hidden_state;          // (B, L, hidden), after final_layer_norm
    torch::Tensor penultimate_hidden_state;   // (B, L, hidden), hidden_states[-2], before final_layer_norm
    torch::Tensor pooled;                     // (B, hidden): last_hidden_state at each sequence's first end token
    torch::Tensor text_embeds;                // (B, projection), or undefined without a projection
};

struct ClipTextTransformerImpl;
struct ClipTextModelImpl : torch::nn::Module {
    explicit ClipTextModelImpl(const ClipTextConfig& config);
    // ids (B, L ≤ positions), int64; end_id: the tokenizer's <|endoftext|>, where each sequence is pooled.
    ClipTextOutput forward(const torch::Tensor& ids, int64_t end_id);
    ClipTextConfig config;
    std::shared_ptr<ClipTextTransformerImpl> text_model;
    torch::nn::Linear text_projection{nullptr};
};
TORCH_MODULE(ClipTextModel);

struct BertOutput {
    torch::Tensor last_hidden_state;   // (B, L, hidden)
    torch::Tensor pooler_output;       // (B, hidden): tanh(dense([CLS]))
};

struct BertEmbeddingsImpl;
struct BertLayerImpl;
struct BertModelImpl : torch::nn::Module {
    explicit BertModelImpl(const BertConfig& config);
    // ids (B, L ≤ positions), int64; attention_mask (B, L), 1 for tokens and 0 for padding, or undefined.
    BertOutput forward(const torch::Tensor& ids, const torch::Tensor& attention_mask = {});
    BertConfig config;
    std::shared_ptr<BertEmbeddingsImpl> embeddings;
    torch::nn::ModuleList layers;
    torch::nn::Linear pooler{nullptr};
};
TORCH_MODULE(BertModel);

// How the published files name these modules' keys: CLIP's text tower in a CLIP model file
// (vision keys unused), a diffusers text_encoder folder, or a Stable Diffusion 1.x single file
// (prefix cond_stage_model.transformer., the UNet and VAE keys unused); BERT with or without the
// "bert." prefix of BertForPreTraining, its heads unused, old LayerNorm.gamma/beta names read.
WeightLayout clip_text_layout();
WeightLayout bert_layout();

}  // namespace soul::pretrained
