// `souldiffuser train` and `souldiffuser evaluate-encoders`: the SoulDiffuser fMRI encoders
// (design.md §2 boxes a–c: SSMNet, SemBERT, EdgeColorNet), the built-in embedding space they are
// aligned to, and the flattened baseline, trained on a prepared dataset.
//
// A run folder holds run.json (config, dataset fingerprint, stage states), vocab.json (the caption
// tokenizer), one checkpoint per stage (<stage>.pt: model, optimizer, step; written atomically)
// and metrics.jsonl (one JSON object per training step, written in blocks of up to 100 steps or
// one second: the studio plots it).
#pragma once

#include "soul/generate.h"
#include "soul/progress.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace soul {

// The stages in training order. "edgecolor" runs the paper's three phases (encoder on pairs,
// decoder on pairs, cycle on images without fMRI) as ec_encoder, ec_decoder, ec_cycle.
// "sd_adapters" (the colour and edge adapters for the user's Stable Diffusion) runs only when
// asked for, with TrainOptions::stable_diffusion.
const std::vector<std::string>& training_stages();

// Data-parallel training across processes and machines (docs/distributed.md). Each rank is one
// process; the config's batch_size is the batch of one rank, so a step's global batch is
// world_size x batch_size, and a run of N ranks takes the steps a 1-rank run with N times the
// batch would.
struct DistributedOptions {
    int world_size = 1;
    int rank = 0;
    int local_rank = 0;                       // the rank on its machine: on CUDA, the GPU it takes
    std::string master = "127.0.0.1:29500";   // HOST:PORT where rank 0 serves the rendezvous
    double timeout_seconds = 300;             // a rank that does not join or answer in time ends the run
};

struct TrainOptions {
    std::string data;                    // a prepared dataset
    std::string config;                  // models/configs/*.json
    std::string out;                     // the run folder
    std::vector<std::string> stages;     // empty: all, in order
    std::string device = "auto";         // auto | cpu | cuda
    // auto: bfloat16 autocast on CUDA, float32 on the CPU; bf16: autocast on either; fp32: never.
    std::string precision = "auto";
    bool resume = false;                 // continue from the run's checkpoints
    // A finished run whose other stages a new run starts with (copied, not retrained): e.g. one
    // embedding space and generator shared by encoders trained on several train_fraction values.
    // Its config must equal this one apart from `name` and `train_fraction`.
    std::string from;
    // A pretrained text encoder's folder (BERT or CLIP, soul/text_encoding.h) whose caption
    // embeddings SemBERT and the baseline learn to predict; overrides the config's caption_encoder.
    std::string caption_encoder;
    // The user's Stable Diffusion, frozen, for the sd_adapters stage: the colour and edge adapters
    // trained against its UNet (`size` is the side its training images are drawn at).
    StableDiffusionOptions stable_diffusion;
    DistributedOptions distributed;
};

// One training step's numbers: what metrics.jsonl holds, and what the studio's curves show.
struct TrainMetrics {
    std::string stage;
    int64_t step = 0, steps = 0, epoch = 0;
    double seconds = 0;
    std::map<std::string, double> values;   // "loss" and its parts
};

// A run's metrics.jsonl, one record per step (what `train` writes and the studio's curves show).
// Throws soul::Error naming the file and the line that is not a record (stage, step, loss).
std::vector<TrainMetrics> read_metrics(const std::string& path);

struct TrainSummary {
    std::vector<std::string> stages_trained, stages_skipped;
    std::string device;
    bool mixed_precision = false;        // the forward passes ran under bfloat16 autocast
    double seconds = 0;
};

// Trains the stages asked for. Throws soul::Error (bad config, mismatched dataset, an existing run
// without --resume) or soul::Cancelled (after writing a checkpoint, so --resume continues).
TrainSummary train_encoders(const TrainOptions& options, const Progress& progress = {},
                            const std::function<void(const TrainMetrics&)>& on_metrics = {});

struct EvaluateEncodersOptions {
    std::string run;
    std::string data;    // default: the dataset the run was trained on
    std::string out;     // default: RUN/evaluation
    std::string device = "auto";   // auto | cpu | cuda
};

// Scores the encoders and the flattened baseline on the held-out test images and writes
// report.md, report.json and report.csv. Returns the Markdown report.
std::string evaluate_encoders(const EvaluateEncodersOptions& options, const Progress& progress = {});

struct ExportModelOptions {
    std::string run;       // a finished run folder
    std::string out;       // the model folder written
    bool half = true;      // store weights in half precision (read back as float)
};

// A run made small for shipping: run.json and vocab.json, and the weights of the stages that
// reconstruction uses (embedding, SSMNet, SemBERT, EdgeColorNet's decoder, VAE, UNet, adapters,
// classifier) without optimizer state, in half precision. The flattened baseline and
// EdgeColorNet's encoder (training only) are left out, and so is the dataset path: the model is
// opened with --data. Returns a summary of what was written, with sizes.
std::string export_model(const ExportModelOptions& options, const Progress& progress = {});

}  // namespace soul
