// Colour and edge adapters (see adapters.h).
#include "adapters.h"

#include "unet.h"

namespace soul::model {

namespace F = torch::nn::functional;

namespace {

std::vector<int64_t> level_channels(int64_t width) {
    std::vector<int64_t> channels;
    for (const auto& level : unet_feature_levels(width)) channels.push_back(level.first);
    return channels;
}

}  // namespace

AdapterImpl::AdapterImpl(int64_t input_channels, const std::vector<int64_t>& levels) {
    in_ = register_module("conv_in", conv3x3(input_channels, levels[0]));
    downs_ = register_module("downs", torch::nn::ModuleList());
    blocks_ = register_module("blocks", torch::nn::ModuleList());
    outs_ = register_module("outs", torch::nn::ModuleList());
    int64_t channels = levels[0];
    for (size_t i = 0; i < levels.size(); ++i) {
        const int64_t c = levels[i];
        if (i > 0) downs_->push_back(conv3x3(channels, c, 2));
        blocks_->push_back(ResBlock(c, c));
        auto out = torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 1));
        {
            torch::NoGradGuard no_grad;
            out->weight.zero_();
            out->bias.zero_();
        }
        outs_->push_back(out);
        channels = c;
    }
}

std::vector<torch::Tensor> AdapterImpl::forward(const torch::Tensor& input) {
    std::vector<torch::Tensor> features;
    torch::Tensor h = torch::silu(in_(input));
    for (size_t i = 0; i < blocks_->size(); ++i) {
        if (i > 0) h = downs_[i - 1]->as<torch::nn::Conv2d>()->forward(h);
        h = blocks_[i]->as<ResBlock>()->forward(h);
        features.push_back(outs_[i]->as<torch::nn::Conv2d>()->forward(h));
    }
    return features;
}

AdaptersImpl::AdaptersImpl(int64_t width, int64_t latent_side) : AdaptersImpl(level_channels(width), latent_side) {}

AdaptersImpl::AdaptersImpl(const std::vector<int64_t>& levels, int64_t latent_side) : latent_side_(latent_side), levels_(levels) {
    color = register_module("color", Adapter(3, levels));
    edges = register_module("edges", Adapter(4, levels));   // the edge map at 2× the latent side, unshuffled
}

torch::Tensor AdaptersImpl::color_input(const torch::Tensor& palette, int64_t latent_side) const {
    return F::interpolate(palette * 2 - 1, F::InterpolateFuncOptions().size(std::vector<int64_t>{latent_side, latent_side}).mode(torch::kNearest));
}

torch::Tensor AdaptersImpl::edge_input(const torch::Tensor& edge_map, int64_t latent_side) const {
    const int64_t side = 2 * latent_side;
    const torch::Tensor resized = edge_map.size(-1) == side ? edge_map
        : F::interpolate(edge_map, F::InterpolateFuncOptions().size(std::vector<int64_t>{side, side}).mode(torch::kBilinear).align_corners(false));
    return torch::pixel_unshuffle(resized * 2 - 1, 2);
}

std::vector<torch::Tensor> AdaptersImpl::features(const torch::Tensor& palette, const torch::Tensor& edge_map, double w_color, double w_edge,
                                                  int64_t latent_side) {
    const int64_t side = latent_side > 0 ? latent_side : latent_side_;
    std::vector<torch::Tensor> sum;
    auto accumulate = [&](const std::vector<torch::Tensor>& f, double w) {
        if (sum.empty()) {
            for (const auto& t : f) sum.push_back(t * w);
        } else {
            for (size_t i = 0; i < f.size(); ++i) sum[i] = sum[i] + f[i] * w;
        }
    };
    if (palette.defined() && w_color != 0) accumulate(color->forward(color_input(palette, side)), w_color);
    if (edge_map.defined() && w_edge != 0) accumulate(edges->forward(edge_input(edge_map, side)), w_edge);
    return sum;
}

std::vector<torch::Tensor> AdaptersImpl::features(const torch::Tensor& palette, const torch::Tensor& edge_map, const torch::Tensor& w_color,
                                                  const torch::Tensor& w_edge, int64_t latent_side) {
    const int64_t side = latent_side > 0 ? latent_side : latent_side_;
    const auto c = color->forward(color_input(palette, side)), e = edges->forward(edge_input(edge_map, side));
    std::vector<torch::Tensor> sum;
    for (size_t i = 0; i < c.size(); ++i) sum.push_back(c[i] * w_color.view({-1, 1, 1, 1}) + e[i] * w_edge.view({-1, 1, 1, 1}));
    return sum;
}

}  // namespace soul::model
