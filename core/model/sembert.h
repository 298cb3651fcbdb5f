// fMRI-SemBERT (box b of the method): ventral-stream voxels as tokens (Hilbert order, conv
// tokeniser, 3D position embedding, voxel_tokens.h), random token masking in training (a learned
// mask token replaces a fraction of them, as BERT's masked modelling), a transformer encoder, and
// a [CLS] head aligned with the caption embedding of the text encoder. The caption itself comes
// back by retrieval: the nearest caption of the training caption bank — the built-in replacement
// for the paper's GPT-3.5 (design.md §2 table).
#pragma once

#include "attention.h"
#include "voxel_tokens.h"

#include <torch/torch.h>

namespace soul::model {

struct SemBERTOptions {
    int64_t width = 64, heads = 4, layers = 2, embed_dim = 64;
    double mask_ratio = 0.25;
    // The readout: [CLS]'s output alone (BERT) when 0; otherwise plus a linear map of this many
    // features of every token's output, in sequence order. Which patch of cortex is active is
    // what carries the category (category-selective patches), and [CLS] attention alone learns
    // that "where" slowly from a few thousand trials.
    int64_t token_readout = 0;
    bool per_patch_weights = false;   // the tokenizer's filters: shared by all patches, or one bank each
};

class SemBERTImpl : public torch::nn::Module {
public:
    SemBERTImpl(const TokenLayout& layout, const SemBERTOptions& options);
    torch::Tensor forward(const torch::Tensor& betas);   // (B, V) → caption embedding (B, D), unit norm

private:
    SemBERTOptions options_;
    std::vector<torch::Tensor> gather_, centre_;
    torch::nn::ModuleList tokenizers_{nullptr}, blocks_{nullptr};
    torch::Tensor cls_, mask_token_;
    LayerNorm32 norm_{nullptr};
    torch::nn::Linear head_{nullptr}, token_proj_{nullptr}, token_readout_{nullptr};
};
TORCH_MODULE(SemBERT);

// The regions SemBERT reads: NSD's midventral and ventral streams.
Region sembert_region();

}  // namespace soul::model
