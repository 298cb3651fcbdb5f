// The generator at inference (box d), behind one interface so that a second diffusion backend —
// the research-scale Stable Diffusion of docs/design §2 — slots in beside the run's own: the
// conditions (caption, palette, edges, img2img start, start noise) in, images out, each step
// reported. What `souldiffuser generate`, the oracle evaluation, reconstruction and the studio
// call.
//
// The run's own generator (RunGenerator): caption tokens → the text encoder's token features →
// cross-attention; palette and edge map → adapters at ω1, ω2; an optional start image → VAE
// latent, noised to strength s (img2img); DDIM with classifier-free guidance
// (Ho & Salimans 2022, "Classifier-Free Diffusion Guidance", eq. 6: ε̃ = ε_u + g (ε_c − ε_u));
// the VAE decodes.
#pragma once

#include "../model/diffusion.h"
#include "../train/encoder_run.h"
#include "soul/formats.h"
#include "soul/generate.h"
#include "soul/sampler.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace soul::pretrained {
struct StableDiffusion;
}

namespace soul::infer {

// A run's files and modules come from training (core/train/encoder_run.h).
using train::LoadedRun;
using train::RunModels;

// Batched conditions; each is undefined when not used. Rows are independent samples.
struct GenerationConditions {
    // The caption, as text and as the run's own tokenizer's ids (B, L); both empty or undefined:
    // unconditional. A backend with its own tokenizer (CLIP's) reads the text.
    std::vector<std::string> captions;
    torch::Tensor tokens;
    torch::Tensor palette;   // (B, 3, 8, 8) in [0, 1]
    torch::Tensor edges;     // (B, 1, E, E) in [0, 1]
    torch::Tensor init;      // (B, 3, G, G) in [0, 1]: the img2img start
    torch::Tensor noise;     // (B, *noise_shape()) start noise; undefined: drawn from the settings' seed
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
    virtual ~Generator() = default;
    virtual std::string title() const = 0;
    // The side G of the images it draws.
    virtual int64_t image_size() const = 0;
    // One sample's start noise (C, H, W): the latent it denoises.
    virtual std::vector<int64_t> noise_shape() const = 0;
    // Whether it takes a palette and an edge map (trained colour and edge adapters).
    virtual bool takes_palette_and_edges() const = 0;
    // (B, 3, G, G) in [0, 1]. The conditions decide what is used (settings.use_* are the caller's
    // to apply); samples is the caller's too (the batch). on_step, when set, receives every step,
    // decoded unless decode_previews is false (decoding costs time).
    virtual torch::Tensor generate(const GenerationConditions& conditions, const SamplerSettings& settings,
                                   const std::function<void(const DenoiseFrame&)>& on_step = {}, bool decode_previews = true) = 0;
};

// The run's own latent diffusion model (its VAE, UNet, text encoder and adapters, trained by the
// pipeline); holds references to `models`.
std::unique_ptr<Generator> make_run_generator(const model::EncoderConfig& config, RunModels& models, torch::Device device);

// Stable Diffusion from the user's weights (core/pretrained/stable_diffusion.h) drawing
// image_size-px images (a multiple of the autoencoder's downscale, 8 for SD): the captions as text
// (empty: unconditional; the run's token ids are not read), an optional start image, and with
// `adapters` (a run's sd_adapters) the palette and edge map at ω1, ω2; without, a palette or edges
// are refused. Holds a reference to `sd`.
std::unique_ptr<Generator> make_stable_diffusion_generator(pretrained::StableDiffusion& sd, int64_t image_size,
                                                          model::Adapters adapters = model::Adapters{nullptr});

// What both generators share. Classifier-free guidance from the stacked predictions
// [unconditional; with caption] (2B, ...): ε_u + g (ε_c − ε_u).
torch::Tensor guided_prediction(const torch::Tensor& both, int64_t batch, double guidance);
// The sampler's step callback reporting DenoiseFrames to on_step, decoded by `to_image` (latents →
// images in [0, 1]) unless decode_previews is false; empty when on_step is.
model::StepCallback denoise_frames(const std::function<void(const DenoiseFrame&)>& on_step, bool decode_previews, int64_t batch,
                                   const std::function<torch::Tensor(const torch::Tensor&)>& to_image);

// A generator with what it holds references to.
struct LoadedGenerator {
    std::shared_ptr<void> models;
    std::unique_ptr<Generator> generator;
};
// The user's Stable Diffusion found, loaded (float16 on CUDA, float32 on the CPU) and made a
// generator. soul::Error naming the file or the option.
// With `run`: its sd_adapters (stage sd_adapters) steer it when they were trained for a UNet of
// the same levels; otherwise it draws without a palette or edges.
LoadedGenerator load_stable_diffusion_generator(const StableDiffusionOptions& options, torch::Device device, const RunModels* run = nullptr);

}  // namespace soul::infer
