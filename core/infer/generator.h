// The generator at inference (box d): caption tokens → the text encoder's token features →
// cross-attention; palette and edge map → adapters at ω1, ω2; an optional start image → VAE
// latent, noised to strength s (img2img); DDIM with classifier-free guidance
// (Ho & Salimans 2022, "Classifier-Free Diffusion Guidance", eq. 6: ε̃ = ε_u + g (ε_c − ε_u));
// the VAE decodes. What `souldiffuser generate`, the oracle evaluation, reconstruction and the
// studio call.
#pragma once

#include "../model/diffusion.h"
#include "../train/encoder_run.h"
#include "soul/formats.h"
#include "soul/sampler.h"

#include <functional>

namespace soul::infer {

// A run's files and modules come from training (core/train/encoder_run.h).
using train::LoadedRun;
using train::RunModels;

// Batched conditions; each is undefined when not used. Rows are independent samples.
struct GenerationConditions {
    torch::Tensor tokens;    // (B, L) caption token ids; undefined: unconditional
    torch::Tensor palette;   // (B, 3, 8, 8) in [0, 1]
    torch::Tensor edges;     // (B, 1, E, E) in [0, 1]
    torch::Tensor init;      // (B, 3, G, G) in [0, 1]: the img2img start
    torch::Tensor noise;     // (B, C, G/4, G/4) start noise; undefined: drawn from the settings' seed
    int64_t batch = 1;       // rows to draw when no condition is given (unconditional)
};

// One denoising step, decoded: the noisy latent and the clean image predicted from it.
struct DenoiseFrame {
    int64_t index = 0, count = 0, t = 0;
    torch::Tensor noisy, predicted;   // (B, 3, G, G) in [0, 1]; undefined without decode_previews
};

// (3, S, S) in [0, 1] → an 8-bit RGB image; an image file → (1, 3, size, size) in [0, 1].
RgbImage to_rgb_image(const torch::Tensor& image);
torch::Tensor read_image_tensor(const std::string& path, int64_t size);

class Generator {
public:
    Generator(const model::EncoderConfig& config, RunModels& models, torch::Device device);
    // (B, 3, G, G) in [0, 1]. The conditions decide what is used (settings.use_* are the caller's
    // to apply); samples is the caller's too (the batch). on_step, when set, receives every step,
    // decoded unless decode_previews is false (decoding costs time).
    torch::Tensor generate(const GenerationConditions& conditions, const SamplerSettings& settings,
                           const std::function<void(const DenoiseFrame&)>& on_step = {}, bool decode_previews = true);
    int64_t image_size() const { return config_.gen_image_size; }

private:
    model::EncoderConfig config_;
    RunModels& models_;
    torch::Device device_;
    model::NoiseSchedule schedule_;
};

}  // namespace soul::infer
