// The stimulus judge that scores generated and reconstructed images (design.md: category accuracy
// by "a classifier trained on stimuli only"): a small CNN over 64×64 stimuli, trained on stimuli
// with their phantom categories, never on generated images. With `position` it also regresses the
// object's centre (x, y) ∈ [−1, 1]², which the dissociation table reads as "where" the object is.
#pragma once

#include "conv_blocks.h"

namespace soul::model {

struct JudgeOutput {
    torch::Tensor logits;     // (B, K)
    torch::Tensor position;   // (B, 2), undefined for a judge without the position head
};

class CategoryClassifierImpl : public torch::nn::Module {
public:
    // `stages` of two 3×3 convolutions and a 2× max-pool, widths width, 2·width, 4·width, …
    CategoryClassifierImpl(int64_t width, int64_t categories, bool position = false, int64_t stages = 3);
    torch::Tensor forward(const torch::Tensor& images);   // (B, 3, S, S) in [0, 1] → logits (B, K)
    JudgeOutput judge(const torch::Tensor& images);
    bool reads_position() const { return !position_.is_empty(); }

private:
    torch::Tensor features(const torch::Tensor& images);
    torch::nn::Sequential features_{nullptr};
    torch::nn::Linear head_{nullptr};
    torch::nn::Conv2d position_{nullptr};
};
TORCH_MODULE(CategoryClassifier);

}  // namespace soul::model
