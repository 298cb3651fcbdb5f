// The flattened baseline (see flat_baseline.h).
#include "flat_baseline.h"
#include "norms.h"

#include "targets.h"

namespace soul::model {

namespace {
constexpr int64_t kSeed = 16;          // image and edge heads predict 16×16, upsampled
constexpr double kDropout = 0.3;
torch::Tensor unit(const torch::Tensor& x) { return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(1)); }
}

FlatBaselineImpl::FlatBaselineImpl(int64_t voxels, int64_t hidden, int64_t embed_dim, int64_t caption_dim, int64_t image_size) : image_size_(image_size) {
    trunk_ = register_module("trunk", torch::nn::Sequential(torch::nn::Dropout(kDropout), torch::nn::Linear(voxels, hidden),
                                                            layer_norm(hidden), torch::nn::GELU()));
    residual_ = register_module("residual", torch::nn::Sequential(torch::nn::Linear(hidden, hidden),
                                                                  layer_norm(hidden), torch::nn::GELU()));
    embedding_ = register_module("embedding", torch::nn::Linear(hidden, embed_dim));
    caption_ = register_module("caption", torch::nn::Linear(hidden, caption_dim));
    image_ = register_module("image", torch::nn::Linear(hidden, 3 * kSeed * kSeed));
    palette_ = register_module("palette", torch::nn::Linear(hidden, 3 * kPaletteSide * kPaletteSide));
    edges_ = register_module("edges", torch::nn::Linear(hidden, kSeed * kSeed));
}

FlatOutput FlatBaselineImpl::forward(const torch::Tensor& betas) {
    torch::Tensor h = trunk_->forward(betas);
    h = h + residual_->forward(h);
    auto up = [&](const torch::Tensor& seed) {
        return torch::sigmoid(torch::nn::functional::interpolate(
            seed, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{image_size_, image_size_}).mode(torch::kBilinear).align_corners(false)));
    };
    FlatOutput out;
    out.embedding = unit(embedding_(h));
    out.caption = unit(caption_(h));
    out.image = up(image_(h).view({-1, 3, kSeed, kSeed}));
    out.palette = torch::sigmoid(palette_(h)).view({-1, 3, kPaletteSide, kPaletteSide});
    out.edges = up(edges_(h).view({-1, 1, kSeed, kSeed}));
    return out;
}

}  // namespace soul::model
