// Scores shared by the encoder, generator and reconstruction reports:
//   PixCorr: Pearson correlation of all pixel values of two images (Ozcelik & VanRullen 2023,
//     "Brain-Diffuser"; MindEye), per image;
//   SSIM: Wang et al. 2004, "Image Quality Assessment: From Error Visibility to Structural
//     Similarity", eq. 13, Gaussian window 11 px σ 1.5, K1 0.01, K2 0.03, on the luminance
//     (Rec. 601), as Brain-Diffuser computes it on grey images; per image;
//   top-1 retrieval and 2-way identification between matched rows of two embedding sets.
#pragma once

#include <torch/torch.h>

namespace soul::model {

torch::Tensor pixcorr(const torch::Tensor& a, const torch::Tensor& b);   // (N, ...) → (N)
torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b);      // (N, 3, S, S) in [0, 1] → (N)
double mean_pearson(const torch::Tensor& a, const torch::Tensor& b);
// Fraction of rows whose nearest key (dot product) is their own row; chance 1/N.
double top1(const torch::Tensor& queries, const torch::Tensor& keys);
// Fraction of (row, other) pairs where the row's own key is closer than the other's; chance 0.5.
double two_way(const torch::Tensor& predicted, const torch::Tensor& truth);

}  // namespace soul::model
