// fMRI-SSMNet (see ssmnet.h).
#include "ssmnet.h"
#include "norms.h"

namespace soul::model {

namespace {
constexpr int64_t kImageSeed = 16;        // the image head predicts 16×16, upsampled to the image size
constexpr int64_t kTokenChannels = 4;     // per-token features the image head reads
}

SSMNetImpl::SSMNetImpl(const TokenLayout& layout, const SSMNetOptions& o) : options_(o) {
    tokenizers_ = register_module("tokenizers", torch::nn::ModuleList());
    region_blocks_ = register_module("region_blocks", torch::nn::ModuleList());
    global_blocks_ = register_module("global_blocks", torch::nn::ModuleList());
    const MambaOptions mamba{o.width, o.state, o.expand};
    for (size_t r = 0; r < layout.gather.size(); ++r) {
        gather_.push_back(register_buffer("gather" + std::to_string(r), layout.gather[r]));
        centre_.push_back(register_buffer("centre" + std::to_string(r), layout.centre[r]));
        tokenizers_->push_back(VoxelTokenizer(layout.patch, o.width, o.per_patch_weights ? layout.gather[r].size(0) : 0));
        region_blocks_->push_back(MambaBlock(mamba));
    }
    for (int64_t i = 0; i < o.global_layers; ++i) global_blocks_->push_back(MambaBlock(mamba));
    region_embedding_ = register_parameter("region_embedding", torch::randn({static_cast<int64_t>(layout.gather.size()), o.width}) * 0.02);
    norm_ = register_module("norm", layer_norm(o.width));
    const int64_t pooled = o.width * static_cast<int64_t>(layout.gather.size());
    embed_head_ = register_module("embed_head", torch::nn::Sequential(torch::nn::Linear(pooled, 2 * o.embed_dim), torch::nn::GELU(),
                                                                      torch::nn::Linear(2 * o.embed_dim, o.embed_dim)));
    if (o.token_readout > 0) {
        embed_token_proj_ = register_module("embed_token_proj", torch::nn::Linear(o.width, o.token_readout));
        embed_token_readout_ = register_module("embed_token_readout", torch::nn::Linear(layout.tokens() * o.token_readout, 2 * o.embed_dim));
    }
    token_proj_ = register_module("token_proj", torch::nn::Linear(o.width, kTokenChannels));
    image_head_ = register_module("image_head", torch::nn::Linear(layout.tokens() * kTokenChannels, 3 * kImageSeed * kImageSeed));
}

SSMNetOutput SSMNetImpl::forward(const torch::Tensor& betas) {
    const torch::Tensor padded = pad_betas(betas);
    std::vector<torch::Tensor> regions;
    std::vector<int64_t> lengths;
    for (size_t r = 0; r < gather_.size(); ++r) {
        torch::Tensor tokens = tokenizers_[r]->as<VoxelTokenizerImpl>()->forward(padded, gather_[r], centre_[r]);
        tokens = region_blocks_[r]->as<MambaBlockImpl>()->forward(tokens) + region_embedding_[static_cast<int64_t>(r)];
        regions.push_back(tokens);
        lengths.push_back(tokens.size(1));
    }
    torch::Tensor all = torch::cat(regions, 1);
    for (const auto& block : *global_blocks_) all = block->as<MambaBlockImpl>()->forward(all);
    all = norm_(all);
    std::vector<torch::Tensor> pooled;
    int64_t start = 0;
    for (int64_t n : lengths) {
        pooled.push_back(all.narrow(1, start, n).mean(1));
        start += n;
    }
    SSMNetOutput out;
    torch::Tensor hidden = embed_head_[0]->as<torch::nn::LinearImpl>()->forward(torch::cat(pooled, 1));
    if (options_.token_readout > 0) hidden = hidden + embed_token_readout_(embed_token_proj_(all).flatten(1));
    for (auto layer = std::next(embed_head_->begin()); layer != embed_head_->end(); ++layer) hidden = layer->forward(hidden);
    out.embedding = torch::nn::functional::normalize(hidden, torch::nn::functional::NormalizeFuncOptions().dim(1));
    const torch::Tensor seed = image_head_(token_proj_(all).flatten(1)).view({-1, 3, kImageSeed, kImageSeed});
    out.image = torch::sigmoid(torch::nn::functional::interpolate(
        seed, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{options_.image_size, options_.image_size}).mode(torch::kBilinear).align_corners(false)));
    return out;
}

}  // namespace soul::model
