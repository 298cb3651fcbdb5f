// `souldiffuser generate` and `souldiffuser evaluate-generator`: the multimodal guided diffusion
// generator (design.md §2 box d) of a trained run — caption, 8×8 palette, edge map and an
// img2img start image in, PNGs out — and its oracle evaluation (conditions from the true stimulus:
// the upper bound of reconstruction from fMRI).
#pragma once

#include "soul/formats.h"
#include "soul/progress.h"
#include "soul/sampler.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace soul {

// The user's Stable Diffusion 1.x/2.x as the generator (box d) instead of a run's own
// (docs/pretrained.md): `generate --sd`, `reconstruct --sd`.
struct StableDiffusionOptions {
    std::string path;           // a diffusers folder or a single .safetensors/.ckpt file; empty: not used
    std::string text_encoder;   // a CLIP folder: a single file's tokenizer (and a 2.x file's text encoder)
    std::string prediction;     // "epsilon" or "v": what a 2.x single file's UNet predicts; empty: the folder's scheduler says
    int64_t size = 512;         // the images' side in pixels, a multiple of the autoencoder's downscale (8)
    bool used() const { return !path.empty(); }
};

struct GenerateOptions {
    std::string run;                  // a run folder with trained embedding, vae, unet (and adapters), or
    StableDiffusionOptions stable_diffusion;   // the user's Stable Diffusion instead
    std::string out;                  // the folder the PNGs are written to
    std::string caption;              // empty: unconditional
    std::string palette_from, edges_from, init;   // images (PNG/JPEG) the conditions are taken from
    SamplerSettings sampler;          // strength: the fraction of the schedule run from --init
    bool previews = false;            // also write each step's decoded latent and predicted image
    std::string device = "auto";
};

// One denoising step of one sample, as images: what the studio's timeline shows.
struct DenoisePreview {
    int64_t sample = 0, step = 0, steps = 0;
    RgbImage noisy, predicted;
};

// Returns the paths written (sample-<k>.png, and the previews when asked for). Throws soul::Error
// (a run without a generator, a Stable Diffusion file of another model, an unreadable image, bad
// settings) naming the file or the setting.
std::vector<std::string> generate_images(const GenerateOptions& options, const Progress& progress = {},
                                         const std::function<void(const DenoisePreview&)>& on_step = {});

struct EvaluateGeneratorOptions {
    std::string run;
    std::string data;      // default: the dataset the run was trained on
    std::string out;       // default: RUN/generator-evaluation
    SamplerSettings sampler;   // strength: the last row's (all + init); sample k uses seed + k
    int64_t limit = 0;     // score only the first N test images (0: all)
    // or "validation": the training images the run held out; or "train": the images the generator
    // learned from (a check of fit, not a score)
    std::string split = "test";
    int64_t grid_rows = 8; // test images in the figure
    std::string device = "auto";
};

// Writes report.md, report.json, report.csv and oracle-grid.png; returns the Markdown.
std::string evaluate_generator(const EvaluateGeneratorOptions& options, const Progress& progress = {});

}  // namespace soul
