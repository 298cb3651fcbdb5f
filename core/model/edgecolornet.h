// fMRI-EdgeColorNet (box c of the method): from early-visual and ventral voxels to the 8×8
// colour palette and the edge map of the stimulus. An encoder (palette + edges → voxels) and a
// decoder (voxels → palette + edges), trained in the paper's three stages: (1) the encoder on
// fMRI–image pairs, (2) the decoder on pairs, (3) the decoder on images without fMRI through the
// frozen encoder (a cycle: image → encoder → decoder → the same image's targets).
#pragma once

#include "voxel_tokens.h"

#include <torch/torch.h>

namespace soul::model {

struct EdgeColorOutput {
    torch::Tensor palette;   // (B, 3, 8, 8) in [0, 1]
    torch::Tensor edges;     // (B, 1, S, S) in [0, 1]
};

class EdgeColorNetImpl : public torch::nn::Module {
public:
    // `voxels`: indices of the early + ventral voxels among the dataset's voxels.
    EdgeColorNetImpl(const torch::Tensor& voxels, int64_t hidden, int64_t image_size);
    torch::Tensor select(const torch::Tensor& betas) const;            // (B, V) → (B, V_ev)
    torch::Tensor encode(const torch::Tensor& palette, const torch::Tensor& edges);   // → (B, V_ev)
    EdgeColorOutput decode(const torch::Tensor& selected_betas);
    EdgeColorOutput forward(const torch::Tensor& betas) { return decode(select(betas)); }
    // Everything but the encoder: what the decoder and cycle stages train.
    std::vector<torch::Tensor> decoder_parameters() const;
    torch::nn::Sequential encoder{nullptr}, decoder{nullptr};

private:
    torch::Tensor voxels_;
    int64_t image_size_;
    torch::nn::Linear palette_head_{nullptr}, edge_head_{nullptr};
};
TORCH_MODULE(EdgeColorNet);

// The early (1), midventral (2) and ventral (5) voxels; every voxel if the dataset has no streams.
torch::Tensor edgecolor_voxels(const std::vector<int8_t>& voxel_stream);

}  // namespace soul::model
