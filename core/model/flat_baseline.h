// The flattened baseline (the MindEye design: Scotti et al. 2023, "Reconstructing the Mind's Eye",
// a residual MLP on the flattened nsdgeneral vector): the same heads and losses as the 3D
// modules — image embedding, low-level image, caption embedding, palette and edges — so that what
// the 3D design buys is measured, not claimed.
#pragma once

#include <torch/torch.h>

namespace soul::model {

struct FlatOutput {
    torch::Tensor embedding, image, caption, palette, edges;
};

class FlatBaselineImpl : public torch::nn::Module {
public:
    // caption_dim: the caption space's width (embed_dim, or a pretrained encoder's).
    FlatBaselineImpl(int64_t voxels, int64_t hidden, int64_t embed_dim, int64_t caption_dim, int64_t image_size);
    FlatOutput forward(const torch::Tensor& betas);

private:
    int64_t image_size_;
    torch::nn::Sequential trunk_{nullptr}, residual_{nullptr};
    torch::nn::Linear embedding_{nullptr}, caption_{nullptr}, image_{nullptr}, palette_{nullptr}, edges_{nullptr};
};
TORCH_MODULE(FlatBaseline);

}  // namespace soul::model
