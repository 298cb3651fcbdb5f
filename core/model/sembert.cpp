// fMRI-SemBERT (see sembert.h).
#include "sembert.h"
#include "norms.h"

namespace soul::model {

namespace {
constexpr int kMidventral = 2, kVentral = 5;   // NSD stream codes
}

Region sembert_region() { return region_of("ventral", {kMidventral, kVentral}); }

SemBERTImpl::SemBERTImpl(const TokenLayout& layout, const SemBERTOptions& o) : options_(o) {
    tokenizers_ = register_module("tokenizers", torch::nn::ModuleList());
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    for (size_t r = 0; r < layout.gather.size(); ++r) {
        gather_.push_back(register_buffer("gather" + std::to_string(r), layout.gather[r]));
        centre_.push_back(register_buffer("centre" + std::to_string(r), layout.centre[r]));
        tokenizers_->push_back(VoxelTokenizer(layout.patch, o.width, o.per_patch_weights ? layout.gather[r].size(0) : 0));
    }
    for (int64_t i = 0; i < o.layers; ++i) blocks_->push_back(TransformerBlock(o.width, o.heads, 2 * o.width, 0.1));
    cls_ = register_parameter("cls", torch::randn({1, 1, o.width}) * 0.02);
    mask_token_ = register_parameter("mask_token", torch::randn({1, 1, o.width}) * 0.02);
    norm_ = register_module("norm", layer_norm(o.width));
    head_ = register_module("head", torch::nn::Linear(o.width, o.embed_dim));
    if (o.token_readout > 0) {
        token_proj_ = register_module("token_proj", torch::nn::Linear(o.width, o.token_readout));
        token_readout_ = register_module("token_readout", torch::nn::Linear(layout.tokens() * o.token_readout, o.width));
    }
}

torch::Tensor SemBERTImpl::forward(const torch::Tensor& betas) {
    const torch::Tensor padded = pad_betas(betas);
    std::vector<torch::Tensor> parts;
    for (size_t r = 0; r < gather_.size(); ++r) parts.push_back(tokenizers_[r]->as<VoxelTokenizerImpl>()->forward(padded, gather_[r], centre_[r]));
    torch::Tensor tokens = torch::cat(parts, 1);
    if (is_training() && options_.mask_ratio > 0) {
        // Drawn in float32 whatever the tokens' type: under bfloat16 autocast a bf16 draw has
        // 8 bits of mantissa, too coarse for the ratio.
        const torch::Tensor draw = torch::rand({tokens.size(0), tokens.size(1), 1}, tokens.options().dtype(torch::kFloat));
        const torch::Tensor masked = (draw < options_.mask_ratio).to(tokens.dtype());
        tokens = tokens * (1 - masked) + mask_token_ * masked;
    }
    torch::Tensor x = torch::cat({cls_.expand({tokens.size(0), 1, options_.width}), tokens}, 1);
    for (const auto& block : *blocks_) x = block->as<TransformerBlockImpl>()->forward(x);
    torch::Tensor readout = x.select(1, 0);
    if (options_.token_readout > 0) readout = readout + token_readout_(token_proj_(x.narrow(1, 1, tokens.size(1))).flatten(1));
    return torch::nn::functional::normalize(head_(norm_(readout)), torch::nn::functional::NormalizeFuncOptions().dim(1));
}

}  // namespace soul::model
