// souldiffuser — the command line of SoulDiffuser Studio.
// Every subcommand prints bad-input problems as one line on stderr, naming the file and what is
// wrong, and exits non-zero.
#include "soul/data_paths.h"
#include "soul/default_subject.h"
#include "soul/error.h"
#include "soul/generate.h"
#include "soul/figure.h"
#include "soul/reconstruct.h"
#include "soul/info.h"
#include "soul/labels.h"
#include "soul/phantom.h"
#include "soul/prepare.h"
#include "soul/progress.h"
#include "soul/runtime.h"
#include "soul/train.h"
#include "soul/version.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace {

int run_info(const std::vector<std::string>& files, bool json) {
    int failures = 0;
    nlohmann::json all = nlohmann::json::array();
    for (const auto& file : files) {
        try {
            const soul::VolumeInfo info = soul::volume_info(file);
            if (json)
                all.push_back(nlohmann::json::parse(soul::info_json(info)));
            else
                std::cout << soul::info_text(info) << (files.size() > 1 ? "\n" : "");
        } catch (const soul::Error& e) {
            std::cerr << "souldiffuser info: " << e.what() << "\n";
            ++failures;
        }
    }
    if (json) std::cout << (files.size() == 1 && all.size() == 1 ? all[0] : all).dump(2) << "\n";
    return failures ? 1 : 0;
}

int run_labels(const std::string& file, const std::string& like) {
    try {
        soul::Volume labels = soul::read_nifti_frame(file, 0);
        if (!like.empty()) {
            const soul::Volume image = soul::read_nifti_frame(like, 0);
            bool resampled = false;
            labels = soul::read_labels_onto(file, image, &resampled);
            if (resampled)
                std::cerr << "souldiffuser labels: " << file << " is on another grid than " << like
                          << ": resampled onto it by nearest neighbour\n";
        }
        const soul::LabelTable table = soul::label_table_for(file, labels);
        std::map<int, int64_t> counts;
        for (int64_t n = 0; n < labels.frame_size(); ++n) {
            const int v = static_cast<int>(std::lround(labels.voxels[static_cast<size_t>(n)]));
            if (v > 0) ++counts[v];
        }
        std::printf("%6s  %-28s %8s  %s\n", "value", "name", "voxels", "colour");
        for (const auto& [value, count] : counts) {
            const auto rgb = table.colour_of(value);
            std::printf("%6d  %-28s %8lld  #%02x%02x%02x\n", value, table.name_of(value).c_str(),
                        static_cast<long long>(count), rgb[0], rgb[1], rgb[2]);
        }
        return 0;
    } catch (const soul::Error& e) {
        std::cerr << "souldiffuser labels: " << e.what() << "\n";
        return 1;
    }
}

// Progress on stderr: a redrawn bar on a terminal, plain lines otherwise (logs, CI).
soul::Progress terminal_progress() {
    const bool tty = isatty(fileno(stderr));
    auto started = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    soul::Progress p;
    p.report = [tty, started](int64_t step, int64_t steps, const std::string& message) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - *started).count();
        const double fraction = steps > 0 ? static_cast<double>(step) / steps : 1.0;
        if (tty) {
            constexpr int kWidth = 30;
            const int filled = static_cast<int>(fraction * kWidth);
            std::fprintf(stderr, "\r[%s%s] %3d%% %6.1fs  %-60.60s", std::string(filled, '#').c_str(),
                         std::string(kWidth - filled, ' ').c_str(), static_cast<int>(fraction * 100), elapsed, message.c_str());
            if (step >= steps) std::fprintf(stderr, "\n");
        } else {
            std::fprintf(stderr, "[%lld/%lld %6.1fs] %s\n", static_cast<long long>(step), static_cast<long long>(steps), elapsed,
                         message.c_str());
        }
        std::fflush(stderr);
    };
    return p;
}

// Runs one subcommand's work: 0 when it succeeds; a soul::Error becomes one line on stderr and
// exit 1. After a progress bar on a terminal, the message starts on a fresh line.
int reporting_errors(const char* command, bool after_progress, const std::function<void()>& work) {
    try {
        work();
        return 0;
    } catch (const soul::Error& e) {
        std::fprintf(stderr, "%ssouldiffuser %s: %s\n", after_progress && isatty(fileno(stderr)) ? "\n" : "", command, e.what());
        return 1;
    }
}

// Ctrl-C during training: stop at the next step with a checkpoint written (--resume continues).
soul::CancelToken g_interrupt;
void on_interrupt(int) { g_interrupt.cancel(); }

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::string item;
    for (char c : text + ",") {
        if (c == ',') {
            if (!item.empty()) out.push_back(item);
            item.clear();
        } else if (c != ' ') {
            item += c;
        }
    }
    return out;
}

// Like reporting_errors, for long work that Ctrl-C stops cleanly: exit 130, saying what was kept.
int reporting_interrupts(const char* command, const char* after_interrupt, const std::function<void(const soul::Progress&)>& work) {
    std::signal(SIGINT, on_interrupt);
    soul::Progress progress = terminal_progress();
    progress.cancel = &g_interrupt;
    try {
        work(progress);
        return 0;
    } catch (const soul::Cancelled&) {
        std::fprintf(stderr, "\nsouldiffuser %s: interrupted; %s\n", command, after_interrupt);
        return 130;
    } catch (const soul::Error& e) {
        std::fprintf(stderr, "\nsouldiffuser %s: %s\n", command, e.what());
        return 1;
    }
}

int run_train(soul::TrainOptions options, const std::string& stages) {
    options.stages = split_list(stages);
    return reporting_interrupts("train", "a checkpoint was written, continue with --resume", [&](const soul::Progress& progress) {
        const soul::TrainSummary s = soul::train_encoders(options, progress);
        std::printf("trained on %s%s in %.1f s:", s.device.c_str(), s.mixed_precision ? " (bfloat16 autocast)" : "", s.seconds);
        for (const auto& stage : s.stages_trained) std::printf(" %s", stage.c_str());
        if (!s.stages_skipped.empty()) {
            std::printf("; already done or skipped:");
            for (const auto& stage : s.stages_skipped) std::printf(" %s", stage.c_str());
        }
        std::printf("\nrun: %s (metrics.jsonl, run.json, one checkpoint per stage)\n", options.out.c_str());
    });
}

int run_phantom(const soul::PhantomOptions& options) {
    try {
        const soul::PhantomSummary s = soul::generate_phantom(options, terminal_progress());
        std::printf("phantom subject written to %s in %.1f s\n", options.out.c_str(), s.seconds);
        std::printf("  %d sessions, %lld trials, %lld images (%lld shared, shown 3 times)\n", s.sessions,
                    static_cast<long long>(s.trials), static_cast<long long>(s.images), static_cast<long long>(s.shared_images));
        std::printf("  grid %lld x %lld x %lld at 1.8 mm, %lld brain voxels, %lld visual (nsdgeneral) voxels\n",
                    static_cast<long long>(s.grid[0]), static_cast<long long>(s.grid[1]), static_cast<long long>(s.grid[2]),
                    static_cast<long long>(s.brain_voxels), static_cast<long long>(s.visual_voxels));
        const soul::LabelTable streams = soul::nsd_streams_table();
        std::printf("  voxels per stream:");
        for (int code = 1; code <= 7; ++code)
            std::printf(" %s %lld%s", streams.name_of(code).c_str(), static_cast<long long>(s.stream_voxels[static_cast<size_t>(code)]),
                        code < 7 ? "," : "\n");
        return 0;
    } catch (const soul::Error& e) {
        std::fprintf(stderr, "\nsouldiffuser phantom: %s\n", e.what());
        return 1;
    }
}

int run_prepare(const soul::PrepareOptions& options) {
    try {
        const soul::PrepareSummary s = soul::prepare_dataset(options, terminal_progress());
        if (s.already_prepared) {
            std::printf("%s is already prepared with these parameters; nothing to do\n", options.out.c_str());
            return 0;
        }
        std::printf("prepared %s in %.1f s: %d sessions (%d reused from an interrupted run), %lld voxels, %lld training trials, "
                    "%lld test images, %lld images\n",
                    options.out.c_str(), s.seconds, s.sessions, s.sessions_reused, static_cast<long long>(s.voxels),
                    static_cast<long long>(s.train_trials), static_cast<long long>(s.test_images), static_cast<long long>(s.images));
        return 0;
    } catch (const soul::Error& e) {
        std::fprintf(stderr, "\nsouldiffuser prepare: %s\n", e.what());
        return 1;
    }
}

// `default-subject`: the phantom and its preparation for the shipped model, made once (what the
// studio does on first start).
int run_default_subject(soul::DefaultSubject subject) {
    const soul::DefaultSubject defaults = soul::default_subject();
    if (subject.prepared.empty())
        subject.prepared = subject.phantom.empty() ? defaults.prepared : subject.phantom + "-prepared-" + std::to_string(soul::kDefaultSubjectImageSize);
    if (subject.phantom.empty()) subject.phantom = defaults.phantom;
    return reporting_interrupts("default-subject", "nothing half-written was left", [&](const soul::Progress& progress) {
        const bool made = !soul::prepared_complete(subject.prepared) || !soul::phantom_complete(subject.phantom);
        if (made) soul::make_default_subject(subject, progress);
        std::printf("%s the default subject\n  phantom:  %s\n  prepared: %s (for the shipped model)\n", made ? "made" : "already made:",
                    subject.phantom.c_str(), subject.prepared.c_str());
    });
}

// --model's default: the shipped model (data_paths.h); a miss says where it looked.
std::string model_or_shipped(const std::string& flag) {
    const soul::DataLookup model = soul::shipped_model(flag);
    if (!model.found())
        throw soul::Error("no model given and the shipped model (models/phantom-small) was not found: " + model.places() +
                          "; give --model RUN");
    return model.path;
}

// --data's default: the dataset the run was trained on; a shipped model names none, and takes the
// default subject once it is made.
std::string data_or_default(const std::string& run, const std::string& flag) {
    if (!flag.empty()) return flag;
    std::ifstream in(run + "/run.json");
    const nlohmann::json info = nlohmann::json::parse(in, nullptr, false);
    // A missing or broken run.json is for the engine to name; only a run that names no dataset
    // falls back to the default subject.
    try {
        if (info.is_discarded() || !info.is_object() || !info.value(nlohmann::json::json_pointer("/dataset/path"), std::string()).empty())
            return "";
    } catch (const nlohmann::json::exception&) {
        return "";
    }
    const soul::DefaultSubject subject = soul::default_subject();
    if (soul::prepared_complete(subject.prepared)) return subject.prepared;
    throw soul::Error(run, "names no dataset (a shipped model) and the default subject (" + subject.prepared +
                               ") is not made yet: run `souldiffuser default-subject` once, or give --data");
}

std::string describe_data_paths() {
    std::string text = "data (flag → environment → user data dir → install prefix → source tree, build tree only):\n";
    text += "  user data dir:  " + soul::user_data_dir() + "\n";
    text += "  install prefix: " + soul::install_data_dir() + "\n";
    const std::string source = soul::source_data_dir();
    text += "  source tree:    " + (source.empty() ? std::string("(not used: this program is not in its build tree)") : source) + "\n";
    const soul::DataLookup model = soul::shipped_model();
    text += "  shipped model:  " + (model.found() ? model.path + " (" + model.from + ")" : "not found; " + model.places()) + "\n";
    const soul::DefaultSubject subject = soul::default_subject();
    text += "  default subject: " + subject.phantom + (soul::phantom_complete(subject.phantom) ? "" : " (not made yet)") + "\n";
    text += "                   " + subject.prepared + (soul::prepared_complete(subject.prepared) ? "" : " (not made yet)") + "\n";
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"SoulDiffuser Studio command line: reconstruct seen images from 3D fMRI volumes"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("souldiffuser ") + SOUL_VERSION);

    auto* info = app.add_subcommand("info", "Print dimensions, voxel size, data type, value range and IJK->RAS affine of NIfTI volumes");
    std::vector<std::string> info_files;
    bool info_json = false;
    info->add_option("files", info_files, "NIfTI files (.nii, .nii.gz)")->required();
    info->add_flag("--json", info_json, "Print JSON instead of text");

    auto* labels = app.add_subcommand("labels", "List the labels of a label volume with their names, colours and voxel counts");
    std::string labels_file, labels_like;
    labels->add_option("file", labels_file, "Label volume (NIfTI)")->required();
    labels->add_option("--like", labels_like, "Resample onto this image's grid first (nearest neighbour)");

    auto* phantom = app.add_subcommand("phantom", "Write the phantom subject: a synthetic NSD subject with known ground truth");
    soul::PhantomOptions phantom_options;
    phantom->add_option("--out", phantom_options.out, "Folder to write the subject to (NSD layout)")->required();
    phantom->add_option("--seed", phantom_options.seed, "Random seed (same seed, same bytes)");
    phantom->add_option("--sessions", phantom_options.sessions, "Sessions of 750 trials (default: small 4, full 16)");
    phantom->add_option("--snr", phantom_options.snr, "Mean over visual voxels of signal SD / single-trial noise SD (default 0.4)");
    phantom->add_option("--size", phantom_options.size, "small (100 shared images) or full (1000 shared, ~10k images)");
    phantom->add_option("--image-size", phantom_options.image_size, "Stimulus side in pixels (default 128)");

    auto* prepare = app.add_subcommand("prepare", "Prepare an NSD subject, the phantom or a generic-layout dataset for training: z-scored, cropped, split, memory-mapped");
    soul::PrepareOptions prepare_options;
    std::string prepare_sessions;
    prepare->add_option("--nsd,--root", prepare_options.nsd_root, "NSD root, a phantom folder, or a generic-layout folder (docs/datasets.md)")->required();
    prepare->add_option("--layout", prepare_options.layout, "auto (default: trials.csv present means generic), nsd or generic");
    prepare->add_option("--subject", prepare_options.subject, "Subject 1-8 (default 1)");
    prepare->add_option("--out", prepare_options.out, "Folder for the prepared dataset")->required();
    prepare->add_option("--sessions", prepare_sessions, "A-B (default: every session present)");
    prepare->add_option("--betas", prepare_options.betas_format, "nifti (default) or hdf5");
    prepare->add_option("--image-size", prepare_options.image_size, "Side of the stored images in pixels (default 256)");
    prepare->add_option("--shared", prepare_options.shared, "complete (shown 3 times; NSD's 982) or all (1000)");
    prepare->add_option("--coco", prepare_options.coco_dir, "Folder of COCO captions_*.json (default <nsd>/annotations)");

    auto* inspect = app.add_subcommand("inspect", "Print what a raw NSD/phantom root or a prepared dataset holds");
    std::string inspect_path;
    inspect->add_option("path", inspect_path, "NSD root, phantom folder or prepared dataset")->required();

    auto* train = app.add_subcommand("train", "Train the fMRI encoders (SSMNet, SemBERT, EdgeColorNet), their embedding space, the flattened baseline and the generator (VAE, UNet, adapters)");
    soul::TrainOptions train_options;
    std::string train_stages;
    train->add_option("--data", train_options.data, "A prepared dataset (souldiffuser prepare)")->required();
    train->add_option("--config", train_options.config, "Training config: a file, or a shipped config's name (phantom-small, nsd-subj01)")->required();
    train->add_option("--out", train_options.out, "The run folder")->required();
    train->add_option("--stages", train_stages, "Comma-separated: embedding,ssmnet,sembert,edgecolor,baseline,vae,unet,adapters,classifier (default: all)");
    train->add_option("--device", train_options.device, "auto (default), cpu or cuda");
    train->add_option("--precision", train_options.precision, "auto (default: bf16 autocast on CUDA, fp32 on CPU), fp32 or bf16");
    train->add_flag("--resume", train_options.resume, "Continue the run from its checkpoints");

    auto* evaluate = app.add_subcommand("evaluate-encoders", "Score a run's encoders and the flattened baseline on the held-out test images");
    soul::EvaluateEncodersOptions evaluate_options;
    evaluate->add_option("run", evaluate_options.run, "The run folder")->required();
    evaluate->add_option("--data", evaluate_options.data, "Prepared dataset (default: the one the run was trained on)");
    evaluate->add_option("--out", evaluate_options.out, "Report folder (default RUN/evaluation)");
    evaluate->add_option("--device", evaluate_options.device, "auto (default), cpu or cuda");

    auto* generate = app.add_subcommand("generate", "Generate images with a run's diffusion generator from a caption, a palette, an edge map and a start image");
    soul::GenerateOptions generate_options;
    generate->add_option("--model", generate_options.run, "The run folder (souldiffuser train)")->required();
    generate->add_option("--out", generate_options.out, "Folder for sample-<k>.png")->required();
    generate->add_option("--caption", generate_options.caption, "The caption (empty: unconditional)");
    generate->add_option("--palette-from", generate_options.palette_from, "Image whose 8×8 colour palette guides the colours (PNG/JPEG)");
    generate->add_option("--edges-from", generate_options.edges_from, "Image whose edge map guides the layout (PNG/JPEG)");
    generate->add_option("--init", generate_options.init, "Start image for img2img (PNG/JPEG)");
    generate->add_option("--strength", generate_options.strength, "img2img: fraction of the schedule run from --init, 0–1 (default 0.75)");
    generate->add_option("--w-color", generate_options.w_color, "Colour adapter weight ω1 (default 1)");
    generate->add_option("--w-edge", generate_options.w_edge, "Edge adapter weight ω2 (default 1)");
    generate->add_option("--steps", generate_options.steps, "DDIM steps (default 25)");
    generate->add_option("--cfg", generate_options.cfg, "Classifier-free guidance scale (default 3)");
    generate->add_option("--eta", generate_options.eta, "DDIM η, 0 (deterministic, default) to 1 (DDPM-like)");
    generate->add_option("--seed", generate_options.seed, "Random seed (default 1)");
    generate->add_option("--samples", generate_options.samples, "Samples to draw (default 1)");
    generate->add_flag("--previews", generate_options.previews, "Also write every step's decoded latent and predicted image");
    generate->add_option("--device", generate_options.device, "auto (default), cpu or cuda");

    auto* evaluate_gen = app.add_subcommand("evaluate-generator", "Score the generator with conditions from the true test stimuli (the oracle upper bound)");
    soul::EvaluateGeneratorOptions evaluate_gen_options;
    evaluate_gen->add_option("run", evaluate_gen_options.run, "The run folder")->required();
    evaluate_gen->add_option("--data", evaluate_gen_options.data, "Prepared dataset (default: the one the run was trained on)");
    evaluate_gen->add_option("--out", evaluate_gen_options.out, "Report folder (default RUN/generator-evaluation)");
    evaluate_gen->add_option("--steps", evaluate_gen_options.steps, "DDIM steps (default 25)");
    evaluate_gen->add_option("--cfg", evaluate_gen_options.cfg, "Guidance scale (default 3)");
    evaluate_gen->add_option("--strength", evaluate_gen_options.strength, "img2img strength of the last setting (default 0.75)");
    evaluate_gen->add_option("--seed", evaluate_gen_options.seed, "Random seed (default 1)");
    evaluate_gen->add_option("--limit", evaluate_gen_options.limit, "Score only the first N test images");
    evaluate_gen->add_option("--device", evaluate_gen_options.device, "auto (default), cpu or cuda");

    auto* reconstruct = app.add_subcommand("reconstruct", "Reconstruct the images seen in trials of a prepared dataset with a trained run (SoulDiffuser's full pipeline)");
    soul::ReconstructOptions reconstruct_options;
    std::string reconstruct_ablate;
    reconstruct->add_option("--data", reconstruct_options.data, "Prepared dataset (default: the one the run was trained on; the default subject for the shipped model)");
    reconstruct->add_option("--model", reconstruct_options.run, "The run folder (souldiffuser train) or a model (default: the shipped one)");
    reconstruct->add_option("--out", reconstruct_options.out, "Folder for one trial-<split>-<row>/ folder per trial")->required();
    reconstruct->add_option("--trials", reconstruct_options.trials, "Test rows, e.g. 0,4,10-19; train:N for a training row (default: test row 0)");
    reconstruct->add_flag("--test", reconstruct_options.test, "Every test row");
    reconstruct->add_flag("--contributions", reconstruct_options.contributions, "Also write stream ablations and attribution volumes (NIfTI)");
    reconstruct->add_option("--ablate", reconstruct_ablate, "Comma-separated streams or groups set to their training mean (e.g. dorsal,early)");
    reconstruct->add_option("--steps", reconstruct_options.settings.steps, "DDIM steps (default 25)");
    reconstruct->add_option("--cfg", reconstruct_options.settings.cfg, "Guidance scale (default 3)");
    reconstruct->add_option("--strength", reconstruct_options.settings.strength, "img2img strength from the low-level image, 0–1 (default 0.75)");
    reconstruct->add_option("--w-color", reconstruct_options.settings.w_color, "Colour adapter weight ω1 (default 1)");
    reconstruct->add_option("--w-edge", reconstruct_options.settings.w_edge, "Edge adapter weight ω2 (default 1)");
    reconstruct->add_option("--seed", reconstruct_options.settings.seed, "Random seed (default 1)");
    reconstruct->add_option("--samples", reconstruct_options.settings.samples, "Reconstructions per trial (default 1)");
    reconstruct->add_flag("--previews", reconstruct_options.settings.previews, "Also write every denoising step, decoded");
    reconstruct->add_option("--decoder", reconstruct_options.settings.decoder,
                            "souldiffuser (default) or baseline: the flattened MLP if the run has it, else ridge regression fitted on the training rows");
    reconstruct->add_option("--device", reconstruct_options.device, "auto (default), cpu or cuda");

    auto* evaluate_rec = app.add_subcommand("evaluate", "Score reconstructions on the test images against the flattened baseline, ridge regression and ablations");
    soul::EvaluateOptions evaluate_rec_options;
    evaluate_rec->add_option("run", evaluate_rec_options.run, "The run folder")->required();
    evaluate_rec->add_option("--data", evaluate_rec_options.data, "Prepared dataset (default: the one the run was trained on; the default subject for a shipped model)");
    evaluate_rec->add_option("--out", evaluate_rec_options.out, "Report folder (default RUN/evaluation-reconstruction)");
    evaluate_rec->add_option("--steps", evaluate_rec_options.steps, "DDIM steps (default 25)");
    evaluate_rec->add_option("--cfg", evaluate_rec_options.cfg, "Guidance scale (default 3)");
    evaluate_rec->add_option("--strength", evaluate_rec_options.strength, "img2img strength (default 0.75)");
    evaluate_rec->add_option("--seed", evaluate_rec_options.seed, "Random seed (default 1)");
    evaluate_rec->add_option("--limit", evaluate_rec_options.limit, "Score only the first N test images");
    evaluate_rec->add_option("--split", evaluate_rec_options.split, "test (default; the final numbers) or validation (the training images a run held out, to choose settings on)")
        ->check(CLI::IsMember({"test", "validation"}));
    evaluate_rec->add_option("--device", evaluate_rec_options.device, "auto (default), cpu or cuda");

    auto* export_model = app.add_subcommand("export-model", "Make a finished run small for shipping: inference weights only, half precision");
    soul::ExportModelOptions export_options;
    bool export_float = false;
    export_model->add_option("run", export_options.run, "The run folder")->required();
    export_model->add_option("--out", export_options.out, "The model folder to write (new or empty)")->required();
    export_model->add_flag("--float32", export_float, "Keep single precision (default: half)");

    auto* export_figure = app.add_subcommand("export", "Render a figure headless from a saved view description (the studio writes one beside every figure)");
    std::string export_view, export_out;
    int export_scale = 0;
    export_figure->add_option("--view", export_view, "A view description (JSON)")->required();
    export_figure->add_option("--out", export_out, "The PNG to write")->required();
    export_figure->add_option("--scale", export_scale, "1–4 (default: the description's)");

    auto* env = app.add_subcommand("env", "Print the compute environment (LibTorch, CUDA/cuDNN, GPUs, threads, build flags) and where the data is found");

    auto* default_subject = app.add_subcommand("default-subject", "Make the default subject once: the phantom and its preparation for the shipped model (what the studio does on first start)");
    soul::DefaultSubject default_subject_dirs;
    default_subject->add_option("--phantom", default_subject_dirs.phantom, "Phantom folder (default: $SOUL_PHANTOM_DIR, else the user data dir's phantom)");
    default_subject->add_option("--prepared", default_subject_dirs.prepared, "Prepared folder (default: $SOUL_PREPARED_DIR, else <phantom>-prepared-64)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    // LibTorch's CPU threads = the cores (Debian's build starts with one); the device is chosen once.
    soul::init_compute_threads();
    if (*info) return run_info(info_files, info_json);
    if (*labels) return run_labels(labels_file, labels_like);
    if (*phantom) return run_phantom(phantom_options);
    if (*prepare) {
        if (!prepare_sessions.empty()) {
            int a = 0, b = 0;
            if (std::sscanf(prepare_sessions.c_str(), "%d-%d", &a, &b) == 2) {
                prepare_options.first_session = a;
                prepare_options.last_session = b;
            } else if (std::sscanf(prepare_sessions.c_str(), "%d", &a) == 1) {
                prepare_options.first_session = prepare_options.last_session = a;
            } else {
                std::fprintf(stderr, "souldiffuser prepare: --sessions must be A-B, not '%s'\n", prepare_sessions.c_str());
                return 1;
            }
        }
        return run_prepare(prepare_options);
    }
    if (*inspect) return reporting_errors("inspect", false, [&] { std::cout << soul::inspect_dataset(inspect_path); });
    if (*train) {
        const soul::DataLookup config = soul::training_config(train_options.config);
        if (!config.found()) {
            std::fprintf(stderr, "souldiffuser train: no training config named '%s': %s\n", train_options.config.c_str(), config.places().c_str());
            return 1;
        }
        train_options.config = config.path;
        return run_train(train_options, train_stages);
    }
    if (*evaluate)
        return reporting_errors("evaluate-encoders", true, [&] { std::cout << soul::evaluate_encoders(evaluate_options, terminal_progress()); });
    if (*generate)
        return reporting_errors("generate", true, [&] {
            for (const auto& path : soul::generate_images(generate_options, terminal_progress())) std::cout << path << "\n";
        });
    if (*evaluate_gen)
        return reporting_errors("evaluate-generator", true, [&] { std::cout << soul::evaluate_generator(evaluate_gen_options, terminal_progress()); });
    if (*reconstruct)
        return reporting_errors("reconstruct", true, [&] {
            for (size_t start = 0; start < reconstruct_ablate.size();) {
                const size_t comma = std::min(reconstruct_ablate.find(',', start), reconstruct_ablate.size());
                if (comma > start) reconstruct_options.settings.ablate.push_back(reconstruct_ablate.substr(start, comma - start));
                start = comma + 1;
            }
            reconstruct_options.run = model_or_shipped(reconstruct_options.run);
            reconstruct_options.data = data_or_default(reconstruct_options.run, reconstruct_options.data);
            for (const auto& folder : soul::reconstruct_trials(reconstruct_options, terminal_progress())) std::cout << folder << "\n";
        });
    if (*evaluate_rec)
        return reporting_errors("evaluate", true, [&] {
            evaluate_rec_options.data = data_or_default(evaluate_rec_options.run, evaluate_rec_options.data);
            std::cout << soul::evaluate_reconstructions(evaluate_rec_options, terminal_progress());
        });
    if (*export_model)
        return reporting_errors("export-model", true, [&] {
            export_options.half = !export_float;
            std::cout << soul::export_model(export_options, terminal_progress());
        });
    if (*export_figure)
        return reporting_errors("export", true, [&] {
            soul::ViewDescription view = soul::read_view_description(export_view);
            if (export_scale != 0) view.scale = export_scale;
            std::cout << soul::export_figure(view, export_out, terminal_progress()) << "\n";
        });
    if (*env) {
        std::cout << soul::describe(soul::compute_environment()) << describe_data_paths();
        return 0;
    }
    if (*default_subject) {
        return run_default_subject(default_subject_dirs);
    }
    return 0;
}
