// fMRI-SSMNet (box a of the method): each region's voxels as a Hilbert-ordered sequence,
// tokenised by a 1D convolution with a 3D position embedding added (voxel_tokens.h), a Mamba
// block per region, then Mamba over all regions' tokens; heads for the image embedding and for a
// low-level image (the img2img start of the generator).
#pragma once

#include "mamba.h"
#include "voxel_tokens.h"

#include <torch/torch.h>

namespace soul::model {

struct SSMNetOptions {
    int64_t width = 48, state = 8, expand = 2, global_layers = 1, embed_dim = 64, image_size = 32;
    // The embedding head reads each region's mean token; when > 0 it also reads this many
    // features of every token, in sequence order, so that where in a region the activity lies
    // (retinotopic position, category patches) reaches the head without being pooled away.
    int64_t token_readout = 0;
    bool per_patch_weights = false;   // the tokenizer's filters: shared by all patches, or one bank each
};

struct SSMNetOutput {
    torch::Tensor embedding;   // (B, D), unit norm
    torch::Tensor image;       // (B, 3, S, S) in [0, 1]
};

class SSMNetImpl : public torch::nn::Module {
public:
    SSMNetImpl(const TokenLayout& layout, const SSMNetOptions& options);
    SSMNetOutput forward(const torch::Tensor& betas);   // (B, V) z-scored betas

private:
    SSMNetOptions options_;
    std::vector<torch::Tensor> gather_, centre_;
    torch::nn::ModuleList tokenizers_{nullptr}, region_blocks_{nullptr}, global_blocks_{nullptr};
    torch::Tensor region_embedding_;
    LayerNorm32 norm_{nullptr};
    torch::nn::Sequential embed_head_{nullptr};
    torch::nn::Linear token_proj_{nullptr}, image_head_{nullptr}, embed_token_proj_{nullptr}, embed_token_readout_{nullptr};
};
TORCH_MODULE(SSMNet);

}  // namespace soul::model
