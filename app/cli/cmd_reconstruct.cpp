// `souldiffuser reconstruct`: the images seen in trials of a prepared dataset, with SoulDiffuser's
// full pipeline or a baseline decoder, and on request each stream's contribution.
#include "commands.h"

#include "soul/reconstruct.h"

#include <iostream>
#include <memory>

namespace cli {

namespace {

struct ReconstructArgs {
    soul::ReconstructOptions options;
    std::string ablate;
};

void reconstruct(ReconstructArgs a) {
    soul::ReconstructOptions& o = a.options;
    o.settings.ablate = split_list(a.ablate);
    o.run = model_or_shipped(o.run);
    o.data = data_or_default(o.run, o.data);
    for (const auto& folder : soul::reconstruct_trials(o, terminal_progress())) std::cout << folder << "\n";
}

}  // namespace

Command add_reconstruct(CLI::App& app) {
    auto* command = app.add_subcommand(
        "reconstruct", "Reconstruct the images seen in trials of a prepared dataset with a trained run (SoulDiffuser's full pipeline)");
    auto a = std::make_shared<ReconstructArgs>();
    soul::ReconstructOptions& o = a->options;
    command->add_option("--data", o.data, "Prepared dataset (default: the one the run was trained on; the default subject for the shipped model)");
    command->add_option("--model", o.run, "The run folder (souldiffuser train) or a model (default: the shipped one)");
    command->add_option("--out", o.out, "Folder for one trial-<split>-<row>/ folder per trial")->required();
    command->add_option("--trials", o.trials, "Test rows, e.g. 0,4,10-19; train:N for a training row (default: test row 0)");
    command->add_flag("--test", o.test, "Every test row");
    command->add_flag("--contributions", o.contributions, "Also write stream ablations and attribution volumes (NIfTI)");
    command->add_option("--ablate", a->ablate, "Comma-separated streams or groups set to their training mean (e.g. dorsal,early)");
    add_sampler_options(command, o.settings.sampler, kSamplesAndConditions);
    command->add_flag("--previews", o.settings.previews, "Also write every denoising step, decoded");
    command->add_option("--decoder", o.settings.decoder,
                        "souldiffuser (default), mlp (the flattened baseline, when the run has it), ridge (ridge regression fitted on the training rows), "
                        "baseline (mlp if the run has it, else ridge) or a decoder plugin's name (souldiffuser decoders lists them)");
    add_stable_diffusion_options(command, o.stable_diffusion);
    add_plugins_option(command, o.plugins);
    add_device_option(command, o.device);
    return {command, [a] { return reporting_errors("reconstruct", true, [&] { reconstruct(*a); }); }};
}

}  // namespace cli
