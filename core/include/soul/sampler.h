// The sampler's settings: one struct for every way the generator is driven — `generate`,
// `reconstruct`, `evaluate`, `evaluate-generator`, the studio's workbench and a figure's view
// description — with one set of bounds and one check. DDIM (Song et al. 2021, "Denoising Diffusion
// Implicit Models") with classifier-free guidance (Ho & Salimans 2022) and T2I-Adapter weights
// (Mou et al. 2023); docs/generator.md says what each does.
#pragma once

#include <cstdint>
#include <string>

namespace soul {

struct SamplerSettings {
    int64_t steps = 25;          // DDIM steps over the whole schedule (img2img runs the last strength × steps)
    double cfg = 3.0;            // classifier-free guidance scale g; 1: the conditional prediction alone
    double eta = 0.0;            // DDIM η: 0 deterministic, 1 DDPM's variance
    double strength = 0.75;      // img2img: the fraction of the schedule run from the start image
    double w_color = 1.0;        // ω1, the colour (palette) adapter's weight
    double w_edge = 1.0;         // ω2, the edge adapter's weight
    uint64_t seed = 1;           // same seed, same bytes
    int64_t samples = 1;         // images drawn per trial or per prompt
    // Which conditions reach the generator (the evaluation's ablations; the studio's switches).
    bool use_caption = true, use_palette = true, use_edges = true, use_init = true;
};

// The one set of bounds: what validate() accepts and what the studio's controls allow.
namespace sampler_bounds {
constexpr int64_t kMaxSteps = 1000;          // the schedule's length: one DDIM step per training timestep at most
constexpr double kMaxGuidance = 50.0;        // far beyond any useful g; larger only overflows
constexpr double kMaxAdapterWeight = 10.0;   // adapters are trained at weight 1
constexpr int64_t kMaxSamples = 16;          // per trial or prompt; the studio shows them in one row
constexpr uint64_t kMaxSeed = 2147483647;    // fits the studio's spin box; any seed below is reproducible
}  // namespace sampler_bounds

// Throws soul::Error naming the command-line option and the bound ("--steps must be in [1, 1000],
// not 0"); non-finite numbers are refused. `context` starts the message ("reconstruct").
void validate(const SamplerSettings& settings, const std::string& context);

}  // namespace soul
