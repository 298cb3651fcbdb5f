// The built-in embedding space (see embedding_space.h).
#include "embedding_space.h"

#include "conv_blocks.h"

#include "soul/error.h"

#include <cmath>

namespace soul::model {

namespace {
constexpr double kInitialTemperature = 0.07;   // CLIP's initial τ
constexpr int64_t kTextHeads = 4;
constexpr int64_t kImageNormGroups = 8;   // GroupNorm groups of the image encoder
}

ImageEncoderImpl::ImageEncoderImpl(int64_t image_size, int64_t embed_dim) {
    features_ = register_module("features", torch::nn::Sequential());
    for (auto [in, out] : {std::pair<int64_t, int64_t>{3, 32}, {32, 64}, {64, 128}}) {   // three stride-2 stages
        features_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(2).padding(1)));
        features_->push_back(group_norm(out, kImageNormGroups));
        features_->push_back(torch::nn::SiLU());
        features_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1)));
        features_->push_back(torch::nn::SiLU());
    }
    const int64_t side = (image_size + 7) / 8;
    head_ = register_module("head", torch::nn::Linear(128 * side * side, embed_dim));
}

torch::Tensor ImageEncoderImpl::forward(const torch::Tensor& images) {
    const torch::Tensor f = features_->forward(images * 2 - 1).flatten(1);
    return torch::nn::functional::normalize(head_(f), torch::nn::functional::NormalizeFuncOptions().dim(1));
}

TextEncoderImpl::TextEncoderImpl(int64_t vocabulary, int64_t max_tokens, int64_t width, int64_t layers, int64_t embed_dim) {
    words_ = register_module("words", torch::nn::Embedding(vocabulary, width));
    positions_ = register_module("positions", torch::nn::Embedding(max_tokens, width));
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < layers; ++i) blocks_->push_back(TransformerBlock(width, kTextHeads, 2 * width));
    norm_ = register_module("norm", layer_norm(width));
    head_ = register_module("head", torch::nn::Linear(width, embed_dim));
}

torch::Tensor TextEncoderImpl::token_features(const torch::Tensor& tokens) {
    const torch::Tensor mask = tokens != 0;
    torch::Tensor x = words_(tokens) + positions_(torch::arange(tokens.size(1), tokens.options())).unsqueeze(0);
    for (const auto& block : *blocks_) x = block->as<TransformerBlockImpl>()->forward(x, mask);
    return norm_(x);
}

torch::Tensor TextEncoderImpl::forward(const torch::Tensor& tokens) {
    const torch::Tensor mask = (tokens != 0).unsqueeze(-1).to(torch::kFloat);
    const torch::Tensor pooled = (token_features(tokens) * mask).sum(1) / mask.sum(1).clamp_min(1);
    return torch::nn::functional::normalize(head_(pooled), torch::nn::functional::NormalizeFuncOptions().dim(1));
}

EmbeddingSpaceImpl::EmbeddingSpaceImpl(int64_t image_size, int64_t embed_dim, int64_t vocabulary, int64_t max_tokens, int64_t text_width,
                                       int64_t text_layers) {
    image = register_module("image", ImageEncoder(image_size, embed_dim));
    text = register_module("text", TextEncoder(vocabulary, max_tokens, text_width, text_layers, embed_dim));
    logit_scale = register_parameter("logit_scale", torch::full({1}, std::log(1 / kInitialTemperature)));
}

torch::Tensor clip_loss(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& logit_scale) {
    const torch::Tensor logits = torch::matmul(a, b.t()) * logit_scale.clamp_max(std::log(100.0)).exp();
    const torch::Tensor target = torch::arange(a.size(0), torch::TensorOptions().dtype(torch::kLong).device(a.device()));
    return (torch::nn::functional::cross_entropy(logits, target) + torch::nn::functional::cross_entropy(logits.t(), target)) / 2;
}

EmbeddingEncoder EmbeddingEncoder::torchscript(const std::string& path) {
    std::shared_ptr<torch::jit::Module> module;
    try {
        module = std::make_shared<torch::jit::Module>(torch::jit::load(path));
    } catch (const c10::Error& e) {
        throw Error(path, std::string("is not a TorchScript module: ") + e.what_without_backtrace());
    }
    module->eval();
    return EmbeddingEncoder([module](const torch::Tensor& x) {
        torch::Tensor y = module->forward({x}).toTensor();
        return torch::nn::functional::normalize(y, torch::nn::functional::NormalizeFuncOptions().dim(1));
    });
}

}  // namespace soul::model
