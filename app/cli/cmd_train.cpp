// `souldiffuser train`: the fMRI encoders, their embedding space, the flattened baseline and the
// generator, stage by stage, with checkpoints and --resume (docs/training.md).
#include "commands.h"
#include "local_ranks.h"

#include "soul/data_paths.h"
#include "soul/error.h"
#include "soul/train.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace cli {

namespace {

struct TrainArgs {
    soul::TrainOptions options;
    std::string stages;
    int nproc = 0;
};

// torchrun's and SLURM-launched scripts' variables, for what the command line leaves unset.
void read_distributed_environment(soul::DistributedOptions& d, const CLI::App& command) {
    auto variable = [](const char* name) -> std::string {
        const char* value = std::getenv(name);
        return value ? value : "";
    };
    auto number = [&](const char* name) {
        const std::string text = variable(name);
        char* end = nullptr;
        const long value = std::strtol(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0') throw soul::Error("the environment variable " + std::string(name) + " must be a whole number, not '" + text + "'");
        return static_cast<int>(value);
    };
    if (command.count("--world-size") == 0 && !variable("WORLD_SIZE").empty()) d.world_size = number("WORLD_SIZE");
    if (command.count("--rank") == 0 && !variable("RANK").empty()) d.rank = number("RANK");
    if (command.count("--local-rank") == 0 && !variable("LOCAL_RANK").empty()) d.local_rank = number("LOCAL_RANK");
    if (command.count("--master") == 0 && !variable("MASTER_ADDR").empty())
        d.master = variable("MASTER_ADDR") + ":" + (variable("MASTER_PORT").empty() ? "29500" : variable("MASTER_PORT"));
}

// One rank's command line under `--nproc`: this one's options, its rank, and the master address.
std::vector<std::string> rank_arguments(const TrainArgs& a, int rank, const std::string& master) {
    const soul::TrainOptions& o = a.options;
    std::vector<std::string> args = {"train", "--data", o.data, "--config", o.config, "--out", o.out, "--device", o.device, "--precision", o.precision,
                                     "--world-size", std::to_string(a.nproc), "--rank", std::to_string(rank), "--local-rank", std::to_string(rank),
                                     "--master", master, "--dist-timeout", std::to_string(o.distributed.timeout_seconds)};
    if (!a.stages.empty()) args.insert(args.end(), {"--stages", a.stages});
    if (o.resume) args.push_back("--resume");
    if (!o.from.empty()) args.insert(args.end(), {"--from", o.from});
    if (!o.caption_encoder.empty()) args.insert(args.end(), {"--caption-encoder", o.caption_encoder});
    const soul::StableDiffusionOptions& sd = o.stable_diffusion;
    if (sd.used()) args.insert(args.end(), {"--sd", sd.path, "--size", std::to_string(sd.size)});
    if (!sd.text_encoder.empty()) args.insert(args.end(), {"--text-encoder", sd.text_encoder});
    if (!sd.prediction.empty()) args.insert(args.end(), {"--prediction", sd.prediction});
    return args;
}

void train(TrainArgs a, const soul::Progress& progress) {
    soul::TrainOptions& o = a.options;
    const soul::DataLookup config = soul::training_config(o.config);
    if (!config.found()) throw soul::Error("no training config named '" + o.config + "': " + config.places());
    o.config = config.path;
    o.stages = split_list(a.stages);
    const soul::TrainSummary s = soul::train_encoders(o, progress);
    if (o.distributed.rank > 0) return;   // rank 0 reports the run
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
                        "Comma-separated: embedding,ssmnet,sembert,edgecolor,baseline,vae,unet,adapters,classifier,sd_adapters "
                        "(default: all; sd_adapters only with --sd)");
    add_device_option(command, o.device);
    command->add_option("--precision", o.precision, "auto (default: bf16 autocast on CUDA, fp32 on CPU), fp32 or bf16");
    command->add_flag("--resume", o.resume, "Continue the run from its checkpoints");
    command->add_option("--caption-encoder", o.caption_encoder,
                        "A BERT (bert-base-uncased) or CLIP model folder: SemBERT learns its caption embeddings, as the paper's SemBERT "
                        "learns BERT's (default: the config's caption_encoder, else the built-in text encoder)");
    add_stable_diffusion_options(command, o.stable_diffusion)
        ->description("With stage sd_adapters: your Stable Diffusion 1.x/2.x, frozen, for which the colour and edge adapters are trained "
                      "(a diffusers folder or a single file; docs/pretrained.md); --size: the side of its training images");
    command->add_option("--from", o.from, "Start a new run with the finished stages of RUN that --stages does not name (same config apart from name and train_fraction)");
    auto* distributed = "Data-parallel training (docs/distributed.md)";
    command->add_option("--nproc", a->nproc, "Train with N processes on this machine (one per GPU, or CPU workers); batch_size is per process")
        ->check(CLI::Range(1, 1024))->group(distributed);
    command->add_option("--world-size", o.distributed.world_size, "Ranks in a run over several machines (default: $WORLD_SIZE, else 1)")
        ->check(CLI::Range(1, 65536))->group(distributed);
    command->add_option("--rank", o.distributed.rank, "This process's rank, 0 to world size - 1 (default: $RANK)")->group(distributed);
    command->add_option("--local-rank", o.distributed.local_rank, "This process's rank on its machine: the GPU it takes (default: $LOCAL_RANK)")->group(distributed);
    command->add_option("--master", o.distributed.master, "HOST:PORT where rank 0 serves the rendezvous (default: $MASTER_ADDR:$MASTER_PORT, else 127.0.0.1:29500)")
        ->group(distributed);
    command->add_option("--dist-timeout", o.distributed.timeout_seconds, "Seconds to wait for a rank to join or answer before the run ends (default 300)")
        ->check(CLI::PositiveNumber)->group(distributed);
    return {command, [a, command] {
                if (a->nproc > 0) {
                    if (command->count("--world-size") || command->count("--rank") || command->count("--master"))
                        return reporting_errors("train", false, [] { throw soul::Error("--nproc starts every rank itself; it takes no --world-size, --rank or --master"); });
                    int status = 1;
                    const int failed = reporting_errors("train", false, [&] {
                        const soul::DataLookup config = soul::training_config(a->options.config);
                        if (!config.found()) throw soul::Error("no training config named '" + a->options.config + "': " + config.places());
                        LocalRanks ranks;
                        ranks.count = a->nproc;
                        TrainArgs resolved = *a;
                        resolved.options.config = config.path;
                        ranks.arguments = [resolved](int rank, const std::string& master) { return rank_arguments(resolved, rank, master); };
                        status = run_local_ranks(ranks);
                    });
                    return failed ? failed : status;
                }
                const int bad_environment = reporting_errors("train", false, [&] { read_distributed_environment(a->options.distributed, *command); });
                if (bad_environment) return bad_environment;
                return reporting_interrupts("train", "a checkpoint was written, continue with --resume",
                                            [&](const soul::Progress& progress) { train(*a, progress); });
            }};
}

}  // namespace cli
