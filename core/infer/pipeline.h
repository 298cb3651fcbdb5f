// The reconstruction pipeline at tensor level (box d joining boxes a–c; soul/reconstruct.h is its
// public face): fMRI betas → the encoders' outputs → generator conditions → images. Shared by the
// engine, the contributions (ablation, attribution) and the evaluation.
#pragma once

#include "brain_decoder.h"
#include "decoder_plugin.h"
#include "generator.h"
#include "soul/reconstruct.h"

#include <map>
#include <string>
#include <vector>

namespace soul::infer {

class Pipeline {
public:
    // `plugin_dirs`: folders of decoder plugins (soul::decoder_plugin_dirs()); the plugins trained
    // for this run's dataset join the registry.
    Pipeline(const std::string& run, const std::string& data, torch::Device device, const std::vector<std::string>& plugin_dirs = {});
    // The generator holds references into `run`: a pipeline stays where it was built.
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    LoadedRun run;
    torch::Device device;
    torch::Tensor train_mean;                  // (V) each voxel's training mean: the ablation value
    std::vector<std::string> bank;             // the training caption bank
    std::vector<int32_t> bank_image;           // each bank caption's training image
    torch::Tensor bank_tokens, bank_embedding; // (N, L), (N, D)
    // Linear read-outs of SSMNet's embedding (with a bias column), fitted on the training rows when
    // the dataset has ground truth (the phantom): category one-hot (D+1, K), position (D+1, 2).
    torch::Tensor category_probe, position_probe;

    bool has(const std::string& stage) const;
    // Streams of the dataset, then groups; and each name's voxels as a (V) bool mask.
    const std::vector<std::string>& stream_groups() const { return names_; }
    torch::Tensor voxel_mask(const std::string& name) const;
    // Betas of trials (B, V), and the same with the named streams set to their training mean.
    torch::Tensor betas(const std::vector<TrialRef>& trials) const;
    torch::Tensor ablate(const torch::Tensor& betas, const std::vector<std::string>& names) const;

    // The SoulDiffuser encoders (with autograd when the caller enables it).
    DecodedConditions decode(const torch::Tensor& betas);
    // The registry of brain decoders by name: "souldiffuser"; "mlp" (the flattened baseline, when
    // the run has it); "ridge" (fitted on the training rows on first use); "baseline": the MLP when
    // the run has it, else ridge; and each plugin's name (loaded on first use). Throws soul::Error
    // naming the decoders there are, or why a plugin cannot decode for this run.
    BrainDecoder& decoder(const std::string& name);
    std::vector<std::string> decoder_names() const;   // those that can decode, "baseline" last
    // Every decoder, the plugins that cannot decode for this run and unreadable plugin folders too.
    std::vector<DecoderInfo> decoder_list() const;
    // The plugins that can decode for this run, in the order found.
    std::vector<std::string> plugin_names() const;
    DecodedConditions decode_with(const std::string& name, const torch::Tensor& betas, const Progress& progress = {});
    std::string baseline_name() const;
    // The nearest caption of the bank for each caption embedding: indices (B).
    torch::Tensor nearest_caption(const torch::Tensor& caption_embedding) const;
    // Generator conditions from decoded conditions, each kept or left out by the settings; the
    // start noise is drawn per (trial key, sample) so a trial looks the same in any batch.
    GenerationConditions conditions(const DecodedConditions& decoded, const SamplerSettings& settings,
                                    const std::vector<uint64_t>& trial_keys) const;
    // soul::Error naming the run when it has no generator of its own (a research run trained
    // without the vae, unet and adapters stages) and none was given with use_generator.
    Generator& generator();
    const Generator& generator() const;
    bool has_generator() const { return generator_ != nullptr; }
    // Draw with another generator (the user's Stable Diffusion) from now on.
    void use_generator(LoadedGenerator generator);
    // The run's own generator again; soul::Error naming the run when it has none.
    void use_own_generator();

    // The trial's stimulus at the generator's and at the encoders' size: (B, 3, G, G), (B, 3, S, S);
    // resized when the generator draws at another size than the run's own.
    torch::Tensor stimulus(const std::vector<TrialRef>& trials, bool generator_size) const;
    int64_t image_of(const TrialRef& trial) const;

private:
    std::map<std::string, std::unique_ptr<BrainDecoder>> decoders_;
    std::vector<DecoderPlugin> plugins_;
    std::vector<std::string> plugin_problems_;   // unreadable plugin folders
    std::string caption_space_;
    std::vector<std::string> names_;
    std::map<std::string, torch::Tensor> masks_;
    std::shared_ptr<void> generator_models_;   // what a generator from use_generator holds references to
    std::string run_folder_;
    std::unique_ptr<Generator> generator_;   // null until use_generator for a run without its own
};

// A stable key of a trial for its noise: split and row.
uint64_t trial_key(const TrialRef& trial);
// The same for a validation image (averaged over its trials).
uint64_t validation_key(int64_t image);
std::string join(const std::vector<std::string>& items, const std::string& separator);
// The sampler's bounds and a known decoder; throws soul::Error naming the setting.
void check_settings(const ReconstructionSettings& settings);

}  // namespace soul::infer

namespace soul {

struct ReconstructionEngine::Impl {
    Impl(const std::string& run, const std::string& data, torch::Device device, const std::vector<std::string>& plugin_dirs)
        : pipeline(run, data, device, plugin_dirs) {}
    infer::Pipeline pipeline;
};

}  // namespace soul
