// The category classifier that scores generated and reconstructed images (design.md: category
// accuracy by "a classifier trained on stimuli only"): a small CNN over 64×64 stimuli, trained on
// the training stimuli and their phantom categories, never on generated images.
#pragma once

#include "conv_blocks.h"

namespace soul::model {

class CategoryClassifierImpl : public torch::nn::Module {
public:
    CategoryClassifierImpl(int64_t width, int64_t categories);
    torch::Tensor forward(const torch::Tensor& images);   // (B, 3, S, S) in [0, 1] → logits (B, K)

private:
    torch::nn::Sequential features_{nullptr};
    torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(CategoryClassifier);

}  // namespace soul::model
