// Brain decoders (design.md §2, boxes a–c): a trial's betas (B, V) → the conditions the generator
// takes — the img2img start (low-level image), the caption embedding, the 8×8 palette and the edge
// map. SoulDiffuser's encoders are one decoder; the flattened MLP and ridge regression (the field's
// linear baseline) are the others, so that every comparison feeds the same generator. The
// pipeline keeps them in a registry by name (Pipeline::decoder).
#pragma once

#include "../train/encoder_run.h"
#include "soul/progress.h"

#include <memory>
#include <string>

namespace soul::infer {

// What a decoder reads from a batch of betas (B, V); each field undefined when its module is not
// trained (embedding: SoulDiffuser's and the MLP's only).
struct DecodedConditions {
    torch::Tensor embedding;   // (B, D) the image embedding
    torch::Tensor low_level;   // (B, 3, S, S)
    torch::Tensor caption;     // (B, D) caption embedding
    torch::Tensor palette;     // (B, 3, 8, 8)
    torch::Tensor edges;       // (B, 1, S, S)
};

class BrainDecoder {
public:
    virtual ~BrainDecoder() = default;
    // What reports and the studio call it ("SoulDiffuser", "ridge regression").
    virtual std::string title() const = 0;
    // With autograd when the caller enables it (the attributions need SoulDiffuser's). `progress`
    // may cancel a decoder that fits itself on first use.
    virtual DecodedConditions decode(const torch::Tensor& betas, const Progress& progress) = 0;
};

// SSMNet (embedding, low-level image), SemBERT (caption), EdgeColorNet (palette, edges).
std::unique_ptr<BrainDecoder> make_souldiffuser_decoder(train::RunModels& models);
// The flattened baseline: an MLP on the voxel vector with the same heads.
std::unique_ptr<BrainDecoder> make_flat_mlp_decoder(train::RunModels& models);
// Ridge regression from standardised voxels to the flattened conditions, in its dual form, fitted
// on the run's training rows on first use (a few seconds; resumable after a cancel).
std::unique_ptr<BrainDecoder> make_ridge_decoder(train::LoadedRun& run);

}  // namespace soul::infer
