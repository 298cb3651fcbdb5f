// From brain to image (design.md §2, box d joining boxes a–c): a trained run reconstructs what the
// subject saw from a trial's fMRI — SSMNet's low-level image as the img2img start, SemBERT's
// retrieved caption as the text condition, EdgeColorNet's palette and edges through the adapters,
// DDIM with guidance — and explains it: stream ablations (a stream's voxels set to their training
// mean) and attributions (integrated gradients, Sundararajan et al. 2017, "Axiomatic Attribution
// for Deep Networks", from the training-mean volume to the trial's).
//
// `ReconstructionEngine` is the one call behind `souldiffuser reconstruct`, `souldiffuser evaluate`
// and the studio: it opens a run and a prepared dataset once, then answers per trial, with
// progress, cancellation and per-step previews (design.md §5). No LibTorch in this header.
#pragma once

#include "soul/data_paths.h"
#include "soul/dataset.h"
#include "soul/formats.h"
#include "soul/generate.h"
#include "soul/progress.h"
#include "soul/sampler.h"
#include "soul/volume.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace soul {

struct ReconstructionSettings {
    SamplerSettings sampler;
    // Streams or groups (stream_groups()) whose voxels are replaced by their training mean.
    std::vector<std::string> ablate;
    bool previews = false;             // decode every step for the on_step callback
    // Which decoder reads the betas: "souldiffuser" (SSMNet, SemBERT, EdgeColorNet), "mlp" (the
    // flattened baseline, when the run has it), "ridge" (ridge regression from voxels to the same
    // conditions, fitted on the training rows on first use, a few seconds), "baseline" (mlp if the
    // run has it, else ridge), or a decoder plugin's name (docs/decoder-plugins.md).
    std::string decoder = "souldiffuser";
};

struct Reconstruction {
    TrialRef trial;
    int32_t image = 0, nsd_id = 0;
    RgbImage stimulus;                  // at the generator's size
    std::vector<RgbImage> samples;      // the reconstructions
    // SemBERT's, retrieved from the training caption bank; this and the three images below are
    // empty when the decoder gives no such output (a plugin may give only some).
    std::string caption;
    std::vector<std::string> true_captions;
    RgbImage palette;                   // EdgeColorNet's 8×8 palette
    RgbImage edges;                     // EdgeColorNet's edge map (grey)
    RgbImage low_level;                 // SSMNet's low-level image (the img2img start)
    double seconds = 0;                 // encoders + denoising, this trial
    std::string decoder;                // what decoded the betas, e.g. "ridge regression"
};

// What each stream contributes to one trial's outputs.
// Ablation: change of each output when the stream's voxels are set to their training mean:
//   embedding, caption: 1 − cosine(ablated, intact); palette: CIE76 ΔE; edges, low-level image and
//   final image: 1 − Pearson r (the final image with the same seed); on the phantom, category and
//   position (linear probes of SSMNet's embedding): the evidence lost.
// Attribution: per output, the share of |integrated gradients| that falls in the stream.
struct StreamContributions {
    TrialRef trial;
    std::vector<std::string> outputs;                          // "embedding", "caption", ...
    std::vector<std::string> streams;                          // streams, then groups
    std::map<std::string, std::map<std::string, double>> ablation;      // stream → output → change
    std::map<std::string, std::map<std::string, double>> attribution;   // output → stream → share
    // Per output: the attribution volume in the subject's original grid (0 outside the mask).
    std::map<std::string, Volume> volumes;
    // Per output: F(trial) − F(training mean) and the sum of attributions (completeness check).
    std::map<std::string, std::pair<double, double>> completeness;
};

// contributions.json, contributions.csv (ablation and attribution tables) and
// attribution-<output>.nii.gz, into `folder`.
void write_contributions(const StreamContributions& contributions, const std::string& folder);

// The double dissociation's rows (docs/reconstruction.md): no pathway off, then each pathway group
// among `stream_groups` (early, ventral-all, lateral-all, dorsal), then the two category streams
// together; and a row's name ("none", "early", "ventral-all + lateral-all").
std::vector<std::vector<std::string>> dissociation_pathways(const std::vector<std::string>& stream_groups);
std::string pathway_name(const std::vector<std::string>& groups);

// A brain decoder the engine knows: built in, or a plugin found in the plugin folders.
struct DecoderInfo {
    std::string name;      // what --decoder takes; empty for a plugin folder that cannot be read
    std::string title;     // "ridge regression", a plugin's own title
    std::string origin;    // "built in", or the plugin's folder
    std::string problem;   // why it cannot decode for this run (another dataset, unreadable); empty when it can
};

class ReconstructionEngine {
public:
    // Opens a run (souldiffuser train, or a shipped model) and a prepared dataset; empty `data`:
    // the dataset the run was trained on. Decoder plugins come from `plugin_dirs`
    // (soul::decoder_plugin_dirs()). Throws soul::Error naming the folder on a problem.
    ReconstructionEngine(const std::string& run, const std::string& data, const std::string& device = "auto",
                         const std::vector<std::string>& plugin_dirs = decoder_plugin_dirs());
    ~ReconstructionEngine();
    ReconstructionEngine(const ReconstructionEngine&) = delete;
    ReconstructionEngine& operator=(const ReconstructionEngine&) = delete;

    const PreparedDataset& dataset() const;
    std::string device() const;
    // The streams of the dataset, then the groups (early, ventral, lateral, dorsal).
    std::vector<std::string> stream_groups() const;
    bool has_baseline() const;
    // What the "baseline" decoder is for this run: "flattened baseline (MLP)" or "ridge regression".
    std::string baseline_name() const;
    // Every decoder: built in, the plugins (with why one cannot decode for this run), unreadable
    // plugin folders.
    std::vector<DecoderInfo> decoders() const;
    // The generator that draws the reconstructions: the run's own until this is called, then the
    // user's Stable Diffusion (the stimulus is then shown at its size). soul::Error naming the
    // file or the option; the run's generator stays on failure.
    void use_stable_diffusion(const StableDiffusionOptions& options);
    // Back to the run's own generator; soul::Error naming the run when it has none (a run trained
    // for Stable Diffusion only).
    void use_own_generator();
    std::string generator_title() const;

    // Reconstructs trials in batches; on_step gets (trial index in `trials`, the step's preview).
    // Throws soul::Cancelled when progress.cancel asks.
    std::vector<Reconstruction> reconstruct(const std::vector<TrialRef>& trials, const ReconstructionSettings& settings,
                                            const Progress& progress = {},
                                            const std::function<void(size_t, const DenoisePreview&)>& on_step = {});
    // Ablation of every stream and group, and attribution of every output (integrated gradients).
    StreamContributions contributions(const TrialRef& trial, const ReconstructionSettings& settings, const Progress& progress = {});

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct ReconstructOptions {
    std::string run, data, out;
    std::string trials;                 // parse_trials(); empty with test == false: test row 0
    bool test = false;                  // every test row
    bool contributions = false;         // also write ablations and attribution volumes
    ReconstructionSettings settings;
    std::string device = "auto";
    std::string plugins;                // --plugins: extra plugin folders, ':'-separated (decoder_plugin_dirs)
    // The user's Stable Diffusion as the generator (the caption and SSMNet's start image; no
    // palette or edges until its adapters are trained), instead of the run's own.
    StableDiffusionOptions stable_diffusion;
};

// `souldiffuser reconstruct`: per trial a folder trial-<split>-<row>/ with reconstruction-<k>.png,
// stimulus.png, low-level.png, palette.png, edges.png, caption.txt, settings.json, previews on
// request, and with contributions: contributions.json/csv and attribution-<output>.nii.gz.
// Returns the trial folders written.
std::vector<std::string> reconstruct_trials(const ReconstructOptions& options, const Progress& progress = {});

struct EvaluateOptions {
    std::string run, data, out;         // out default: RUN/evaluation-reconstruction
    SamplerSettings sampler;            // every method and ablation; samples: 1 (the first is scored)
    int64_t limit = 0;                  // the first N test images only (0: all)
    int64_t figure_rows = 6;
    std::string device = "auto";
    // "test" (the final tables) or "validation": the training images a run with a validation
    // split (config validation_fraction) held out, to choose settings on.
    std::string split = "test";
    std::string plugins;                // --plugins: extra plugin folders (every usable plugin gets a row)
    std::string metric_nets;            // --metric-nets: the standard table's networks (docs/nsd-metrics.md); empty: n/a columns
    // The user's Stable Diffusion as every method's generator, instead of the run's own (as
    // ReconstructOptions::stable_diffusion); the images are scored at the run's generator size.
    StableDiffusionOptions stable_diffusion;
};

// `souldiffuser evaluate`: SoulDiffuser, the flattened baseline, ridge regression and every decoder
// plugin for the dataset feeding the same generator, and the ablations (no caption, palette, edges, img2img start), scored on the test
// images. Writes report.md/json/csv and comparison.png; returns the Markdown.
std::string evaluate_reconstructions(const EvaluateOptions& options, const Progress& progress = {});

struct DecoderTargetsOptions {
    std::string run, data, out;          // data default: the dataset the run was trained on
};

// `souldiffuser export-targets`: what a decoder plugin learns to give, in this run's spaces, for
// its training images, as NumPy files in `out` (targets.json lists them; docs/decoder-plugins.md).
// Returns the files written.
std::vector<std::string> export_decoder_targets(const DecoderTargetsOptions& options, const Progress& progress = {});

}  // namespace soul
