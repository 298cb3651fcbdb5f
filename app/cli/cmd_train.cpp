// `souldiffuser train`: the fMRI encoders, their embedding space, the flattened baseline and the
// generator, stage by stage, with checkpoints and --resume (docs/training.md).
#include "commands.h"

#include "soul/data_paths.h"
#include "soul/error.h"
#include "soul/train.h"

#include <cstdio>
#include <memory>

namespace cli {

namespace {

struct TrainArgs {
    soul::TrainOptions options;
    std::string stages;
};

void train(TrainArgs a, const soul::Progress& progress) {
    soul::TrainOptions& o = a.options;
    const soul::DataLookup config = soul::training_config(o.config);
    if (!config.found()) throw soul::Error("no training config named '" + o.config + "': " + config.places());
    o.config = config.path;
    o.stages = split_list(a.stages);
    const soul::TrainSummary s = soul::train_encoders(o, progress);
    std::printf("trained on %s%s in %.1f s:", s.device.c_str(), s.mixed_precision ? " (bfloat16 autocast)" : "", s.seconds);
    for (const auto& stage : s.stages_trained) std::printf(" %s", stage.c_str());
    if (!s.stages_skipped.empty()) {
        std::printf("; already done or skipped:");
        for (const auto& stage : s.stages_skipped) std::printf(" %s", stage.c_str());
    }
    std::printf("\nrun: %s (metrics.jsonl, run.json, one checkpoint per stage)\n", o.out.c_str());
}

}  // namespace

Command add_train(CLI::App& app) {
    auto* command = app.add_subcommand("train",
                                       "Train the fMRI encoders (SSMNet, SemBERT, EdgeColorNet), their embedding space, the flattened "
                                       "baseline and the generator (VAE, UNet, adapters)");
    auto a = std::make_shared<TrainArgs>();
    soul::TrainOptions& o = a->options;
    command->add_option("--data", o.data, "A prepared dataset (souldiffuser prepare)")->required();
    command->add_option("--config", o.config, "Training config: a file, or a shipped config's name (phantom-small, nsd-subj01)")->required();
    command->add_option("--out", o.out, "The run folder")->required();
    command->add_option("--stages", a->stages,
                        "Comma-separated: embedding,ssmnet,sembert,edgecolor,baseline,vae,unet,adapters,classifier (default: all)");
    add_device_option(command, o.device);
    command->add_option("--precision", o.precision, "auto (default: bf16 autocast on CUDA, fp32 on CPU), fp32 or bf16");
    command->add_flag("--resume", o.resume, "Continue the run from its checkpoints");
    command->add_option("--from", o.from, "Start a new run with the finished stages of RUN that --stages does not name (same config apart from name and train_fraction)");
    return {command, [a] {
                return reporting_interrupts("train", "a checkpoint was written, continue with --resume",
                                            [&](const soul::Progress& progress) { train(*a, progress); });
            }};
}

}  // namespace cli
