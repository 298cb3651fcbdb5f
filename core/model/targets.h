// What the encoders predict, computed from a stimulus: the image at the encoders' size, the 8×8
// colour palette (box c: the mean colour of each block of an 8×8 grid), and the edge map (Sobel
// gradient magnitude of the luminance, scaled to [0, 1] per image). And the colour error CIE76
// ΔE (Euclidean distance in CIE L*a*b*, sRGB D65) used to score palettes.
#pragma once

#include <torch/torch.h>

namespace soul::model {

constexpr int64_t kPaletteSide = 8;   // the paper's 8×8 colour palette

// (N, S, S, 3) uint8 images → (N, 3, size, size) float in [0, 1] (area resampling).
torch::Tensor images_to_tensor(const torch::Tensor& uint8_nhwc, int64_t size);
torch::Tensor palette_of(const torch::Tensor& images);   // (N, 3, S, S) → (N, 3, 8, 8)
torch::Tensor edges_of(const torch::Tensor& images);     // (N, 3, S, S) → (N, 1, S, S)
torch::Tensor srgb_to_lab(const torch::Tensor& rgb);     // (..., 3, ...) channel dim 1, [0, 1] → L*a*b*
// Mean CIE76 ΔE between two palettes (N, 3, 8, 8), per image: (N).
torch::Tensor delta_e(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace soul::model
