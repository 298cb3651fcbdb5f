// The colour and edge adapters (box d; Mou et al. 2023, "T2I-Adapter: Learning Adapters to Dig
// out More Controllable Ability for Text-to-Image Diffusion Models", §3.2–3.4): a small network per
// condition that turns the 8×8 palette or the edge map into one feature map per UNet encoder
// level, added there. Composition at inference is the paper's weighted sum, ω1 (colour) and
// ω2 (edges). The output convolutions start at zero (as ControlNet's), so training begins from
// the unadapted UNet. The same modules serve the built-in UNet and Stable Diffusion's (one level
// per down block: 320, 640, 1280, 1280 channels for SD 1.x, added as diffusers adds T2I-Adapter
// features, to each down block's last output).
#pragma once

#include "conv_blocks.h"

#include <vector>

namespace soul::model {

class AdapterImpl : public torch::nn::Module {
public:
    // input_channels at the latent resolution; one output of levels[i] channels per level, the
    // first at the latent side and each next one at half the side before it.
    AdapterImpl(int64_t input_channels, const std::vector<int64_t>& levels);
    std::vector<torch::Tensor> forward(const torch::Tensor& input);

private:
    torch::nn::Conv2d in_{nullptr};
    torch::nn::ModuleList downs_{nullptr}, blocks_{nullptr}, outs_{nullptr};
};
TORCH_MODULE(Adapter);

class AdaptersImpl : public torch::nn::Module {
public:
    // The built-in UNet's levels (unet_feature_levels(width)).
    AdaptersImpl(int64_t width, int64_t latent_side);
    // Any UNet's: the channels of each encoder level.
    AdaptersImpl(const std::vector<int64_t>& levels, int64_t latent_side);
    // palette (B, 3, 8, 8) and edges (B, 1, E, E), either undefined when not used; the weighted
    // sum of the adapters' features, or an empty list when neither contributes. latent_side 0:
    // the one constructed with (Stable Diffusion draws at any size).
    std::vector<torch::Tensor> features(const torch::Tensor& palette, const torch::Tensor& edges, double w_color, double w_edge,
                                        int64_t latent_side = 0);
    // Per-row weights (B) instead of one weight: training draws which conditions each row gets.
    std::vector<torch::Tensor> features(const torch::Tensor& palette, const torch::Tensor& edges, const torch::Tensor& w_color,
                                        const torch::Tensor& w_edge, int64_t latent_side = 0);
    Adapter color{nullptr}, edges{nullptr};
    const std::vector<int64_t>& levels() const { return levels_; }   // each level's channels

private:
    torch::Tensor color_input(const torch::Tensor& palette, int64_t side) const;
    torch::Tensor edge_input(const torch::Tensor& edge_map, int64_t side) const;
    int64_t latent_side_;
    std::vector<int64_t> levels_;
};
TORCH_MODULE(Adapters);

}  // namespace soul::model
