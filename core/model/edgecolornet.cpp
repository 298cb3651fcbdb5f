// fMRI-EdgeColorNet (see edgecolornet.h).
#include "edgecolornet.h"

#include "targets.h"

namespace soul::model {

namespace {
constexpr int64_t kEdgeSeed = 16;   // edges are predicted at 16×16 and upsampled
constexpr double kDropout = 0.3;    // the decoder reads thousands of noisy voxels
}

torch::Tensor edgecolor_voxels(const std::vector<int8_t>& stream) {
    std::vector<int64_t> v;
    for (size_t i = 0; i < stream.size(); ++i)
        if (stream[i] == 1 || stream[i] == 2 || stream[i] == 5) v.push_back(static_cast<int64_t>(i));
    if (v.empty())
        for (size_t i = 0; i < stream.size(); ++i) v.push_back(static_cast<int64_t>(i));
    return torch::tensor(v, torch::kLong);
}

EdgeColorNetImpl::EdgeColorNetImpl(const torch::Tensor& voxels, int64_t hidden, int64_t image_size) : image_size_(image_size) {
    voxels_ = register_buffer("voxels", voxels.clone());
    const int64_t n = voxels.size(0);
    const int64_t features = 3 * kPaletteSide * kPaletteSide + kEdgeSeed * kEdgeSeed;
    encoder = register_module("encoder", torch::nn::Sequential(torch::nn::Linear(features, hidden), torch::nn::GELU(), torch::nn::Linear(hidden, n)));
    decoder = register_module("decoder", torch::nn::Sequential(torch::nn::Dropout(kDropout), torch::nn::Linear(n, hidden), torch::nn::GELU(),
                                                               torch::nn::Linear(hidden, hidden), torch::nn::GELU()));
    palette_head_ = register_module("palette_head", torch::nn::Linear(hidden, 3 * kPaletteSide * kPaletteSide));
    edge_head_ = register_module("edge_head", torch::nn::Linear(hidden, kEdgeSeed * kEdgeSeed));
}

std::vector<torch::Tensor> EdgeColorNetImpl::decoder_parameters() const {
    std::vector<torch::Tensor> out;
    for (const auto& item : named_parameters())
        if (item.key().rfind("encoder.", 0) != 0) out.push_back(item.value());
    return out;
}

torch::Tensor EdgeColorNetImpl::select(const torch::Tensor& betas) const { return betas.index_select(1, voxels_); }

torch::Tensor EdgeColorNetImpl::encode(const torch::Tensor& palette, const torch::Tensor& edges) {
    const torch::Tensor small = torch::adaptive_avg_pool2d(edges, {kEdgeSeed, kEdgeSeed});
    return encoder->forward(torch::cat({palette.flatten(1), small.flatten(1)}, 1));
}

EdgeColorOutput EdgeColorNetImpl::decode(const torch::Tensor& selected) {
    const torch::Tensor h = decoder->forward(selected);
    EdgeColorOutput out;
    out.palette = torch::sigmoid(palette_head_(h)).view({-1, 3, kPaletteSide, kPaletteSide});
    const torch::Tensor e = edge_head_(h).view({-1, 1, kEdgeSeed, kEdgeSeed});
    out.edges = torch::sigmoid(torch::nn::functional::interpolate(
        e, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{image_size_, image_size_}).mode(torch::kBilinear).align_corners(false)));
    return out;
}

}  // namespace soul::model
