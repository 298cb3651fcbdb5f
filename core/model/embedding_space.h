// The built-in image–text embedding space (the stand-in for CLIP and BERT, design.md §2 table):
// a small CNN image encoder and a small transformer text encoder trained contrastively on the
// stimuli and their captions with CLIP's symmetric InfoNCE loss (Radford et al. 2021, "Learning
// Transferable Visual Models From Natural Language Supervision", fig. 3). Both return unit-norm
// embeddings. A pretrained TorchScript encoder can replace either through `EmbeddingEncoder`.
#pragma once

#include "attention.h"

#include <torch/script.h>
#include <torch/torch.h>

namespace soul::model {

class ImageEncoderImpl : public torch::nn::Module {
public:
    ImageEncoderImpl(int64_t image_size, int64_t embed_dim);
    torch::Tensor forward(const torch::Tensor& images);   // (B, 3, S, S) in [0, 1] → (B, D), unit norm

private:
    torch::nn::Sequential features_{nullptr};
    torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(ImageEncoder);

class TextEncoderImpl : public torch::nn::Module {
public:
    TextEncoderImpl(int64_t vocabulary, int64_t max_tokens, int64_t width, int64_t layers, int64_t embed_dim);
    torch::Tensor forward(const torch::Tensor& tokens);   // (B, L) ids, 0 = pad → (B, D), unit norm
    // The per-token features before pooling (B, L, width): the generator's cross-attention context.
    torch::Tensor token_features(const torch::Tensor& tokens);

private:
    torch::nn::Embedding words_{nullptr}, positions_{nullptr};
    torch::nn::ModuleList blocks_{nullptr};
    LayerNorm32 norm_{nullptr};
    torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(TextEncoder);

class EmbeddingSpaceImpl : public torch::nn::Module {
public:
    EmbeddingSpaceImpl(int64_t image_size, int64_t embed_dim, int64_t vocabulary, int64_t max_tokens, int64_t text_width, int64_t text_layers);
    ImageEncoder image{nullptr};
    TextEncoder text{nullptr};
    torch::Tensor logit_scale;   // CLIP's learned temperature, log(1 / τ)
};
TORCH_MODULE(EmbeddingSpace);

// Symmetric InfoNCE between two batches of unit vectors matched by row.
torch::Tensor clip_loss(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& logit_scale);

// Either the built-in encoder or a TorchScript module the user points at (its forward takes the
// same input and returns (B, D)); what the rest of the engine calls.
class EmbeddingEncoder {
public:
    EmbeddingEncoder() = default;
    explicit EmbeddingEncoder(std::function<torch::Tensor(const torch::Tensor&)> fn) : fn_(std::move(fn)) {}
    static EmbeddingEncoder torchscript(const std::string& path);   // throws soul::Error naming the file
    torch::Tensor operator()(const torch::Tensor& x) const { return fn_(x); }

private:
    std::function<torch::Tensor(const torch::Tensor&)> fn_;
};

}  // namespace soul::model
