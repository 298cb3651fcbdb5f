// What training, evaluation, generation and reconstruction share about a run: the prepared data
// as tensors on the device, the modules built from a config and a dataset, and checkpoints.
#pragma once

#include "../model/adapters.h"
#include "../model/classifier.h"
#include "../model/config.h"
#include "../model/edgecolornet.h"
#include "../model/embedding_space.h"
#include "../model/flat_baseline.h"
#include "../model/sembert.h"
#include "../model/ssmnet.h"
#include "../model/targets.h"
#include "../model/tokenizer.h"
#include "../model/unet.h"
#include "../model/vae.h"
#include "checkpoint.h"
#include "soul/dataset.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace soul::train {

struct TrainData {
    std::unique_ptr<PreparedDataset> dataset;
    torch::Device device = torch::kCPU;
    torch::Tensor train_betas, test_betas;      // (N, V) float
    torch::Tensor train_image, test_image;      // (N) long: image index of each row
    // The validation split (config validation_fraction): training images held out of every stage,
    // their trials averaged per image; undefined without one. train_* then hold the rest, so a
    // training row's index is not the dataset's: Pipeline reads trials from the dataset.
    torch::Tensor validation_betas, validation_image;
    // With config train_fraction < 1: every training image (train_image then holds the rows of the
    // share the fMRI encoders learn from); undefined otherwise.
    torch::Tensor stimulus_image;
    torch::Tensor images, palettes, edges;      // per image: (I, 3, S, S), (I, 3, 8, 8), (I, 1, S, S)
    torch::Tensor gen_images;                   // per image at the generator's size: (I, 3, G, G)
    torch::Tensor captions, caption_count;      // (I, C, L) token ids, (I) captions per image
    // (I, C, D) unit-norm caption embeddings of a pretrained text encoder (caption_table.h), zero
    // past each image's count; undefined when the run uses the built-in text encoder.
    torch::Tensor caption_table;
    torch::Tensor category;                     // (I) long, −1 where unknown
    int64_t categories = 0;                     // 0 when the dataset has no category ground truth
    torch::Tensor position;                     // (I, 2) object x, y in [−1, 1] (phantom ground truth); undefined elsewhere
    std::vector<int16_t> ijk;                   // the dataset's voxel table
    std::vector<int8_t> stream;
    nlohmann::json fingerprint;                 // identifies the dataset's voxels and splits
};

constexpr int64_t kMaxCaptions = 5;             // captions kept per image (COCO has 5)

// SplitMix64's finaliser (Steele et al. 2014): well-spread keys from small integers.
uint64_t splitmix64(uint64_t x);

// The fingerprint alone (cheap): voxels, a hash of the voxel table, split sizes.
nlohmann::json dataset_fingerprint(const PreparedDataset& dataset);
// All captions of the dataset's training images (the tokenizer's corpus).
std::vector<std::string> training_captions(const PreparedDataset& dataset);
// How a run's betas are held: Copied onto the device (training: rows are gathered at random), or
// Mapped, a read-only view of the memory-mapped dataset on the CPU (inference: nothing is copied;
// a row is read when it is used). Mapped falls back to Copied on CUDA and with a validation split.
enum class BetasAccess { Copied, Mapped };
TrainData load_train_data(const std::string& path, const model::EncoderConfig& config, const model::CaptionTokenizer& tokenizer,
                          torch::Device device, BetasAccess access = BetasAccess::Copied);

// Images the subject never saw, for EdgeColorNet's cycle stage: more phantom scenes (a phantom
// dataset), NSD images outside the subject's set, or none (a generic dataset).
// The captions of the images a run trains on (the caption bank: no validation or test image), and
// with `images` each caption's image.
std::vector<std::string> training_captions(const TrainData& data, std::vector<int32_t>* images = nullptr);

torch::Tensor images_without_fmri(const TrainData& data, int64_t count, int64_t size, uint64_t seed);

// Each image's captions as token ids, at most kMaxCaptions: tokens (N, kMaxCaptions, max_tokens),
// count (N) long.
struct CaptionTokens {
    torch::Tensor tokens, count;
};
CaptionTokens tokenize_captions(const std::vector<std::vector<std::string>>& captions, const model::CaptionTokenizer& tokenizer, int64_t max_tokens);

struct LabelledImages {
    torch::Tensor pixels;     // (N, R, R, 3) uint8, as rendered; images() makes the models' input
    int64_t size = 0;         // the models' image side S
    torch::Tensor category;   // (N) long
    torch::Tensor position;   // (N, 2) object x, y
    std::vector<std::vector<std::string>> captions;   // each scene's captions, as the phantom words them

    bool defined() const { return pixels.defined(); }
    // (N, 3, S, S) in [0, 1]; with `rows`, only those (a batch: the judge's 60 000 scenes kept as
    // floats would take 2.9 GB, as bytes 0.7 GB).
    torch::Tensor images() const { return model::images_to_tensor(pixels, size); }
    torch::Tensor images(const torch::Tensor& rows) const { return model::images_to_tensor(pixels.index_select(0, rows), size); }
};
// More scenes of a phantom dataset's world, with their ground truth (empty for other datasets);
// with `leave_out_test_objects`, no scene shows a garment that one of the test images shows.
LabelledImages phantom_scenes_without_fmri(const TrainData& data, int64_t count, int64_t size, uint64_t seed, bool leave_out_test_objects);

struct RunModels {
    model::EmbeddingSpace embedding{nullptr};
    model::SSMNet ssmnet{nullptr};
    model::SemBERT sembert{nullptr};
    model::EdgeColorNet edgecolor{nullptr};
    model::FlatBaseline baseline{nullptr};
    model::VAE vae{nullptr};
    model::UNet unet{nullptr};
    model::Adapters adapters{nullptr};
    model::CategoryClassifier classifier{nullptr};
    // The colour and edge adapters for the user's Stable Diffusion (stage sd_adapters): built with
    // its UNet's levels (run.json's "stable_diffusion"), else empty.
    model::Adapters sd_adapters{nullptr};
};
// The Stable Diffusion adapters of a run's record (run.json's "stable_diffusion": levels, latent side), on `device`.
model::Adapters build_sd_adapters(const nlohmann::json& record, torch::Device device);
// The module a stage trains (the three EdgeColorNet phases share one module).
torch::nn::Module& module_for(RunModels& models, const std::string& stage);
RunModels build_models(const model::EncoderConfig& config, const TrainData& data, int64_t vocabulary);
// The generator's modules alone (embedding space, VAE, UNet, adapters): they need no dataset.
void build_generator_models(const model::EncoderConfig& config, int64_t vocabulary, torch::Device device, RunModels& models);
// Every module of the run, for moving, freezing or switching to evaluation mode together.
std::vector<torch::nn::Module*> all_modules(RunModels& models);

// Each image's captions embedded and averaged (unit norm): (images) → (B, D). In the pretrained
// caption space when data has a caption table, else by the built-in text encoder.
torch::Tensor mean_caption_embedding(model::EmbeddingSpace& space, const TrainData& data, const torch::Tensor& images);
// The distinct images of the training rows, in order of first appearance; with train_fraction < 1,
// every training image (the image-only stages and the probes do not depend on the fMRI share).
torch::Tensor training_images(const TrainData& data);

// A run folder opened for evaluation or inference: config, tokenizer, data, modules with the
// weights of every stage trained.
struct LoadedRun {
    model::EncoderConfig config;
    model::CaptionTokenizer tokenizer;
    TrainData data;
    RunModels models;
    std::vector<std::string> trained;    // stages with a finished checkpoint
};
LoadedRun load_run(const std::string& run, const std::string& data_path, torch::Device device, BetasAccess access = BetasAccess::Copied);

// The caption bank: every caption of the training images (training_captions), each with its image,
// its tokens (N, L) for the built-in text encoder, and its embedding (N, D) in the run's caption
// space (the caption table's rows, or the built-in text encoder's). SemBERT's caption is the
// bank's nearest.
struct CaptionBank {
    std::vector<std::string> captions;
    std::vector<int32_t> image;
    torch::Tensor tokens, embedding;
};
CaptionBank caption_bank(LoadedRun& run);

// A run opened for generation only (no dataset): config, tokenizer, and the generator's modules
// with their weights. Throws soul::Error when the run has no trained UNet.
struct GeneratorRun {
    model::EncoderConfig config;
    model::CaptionTokenizer tokenizer;
    RunModels models;
    std::vector<std::string> trained;
};
GeneratorRun load_generator_run(const std::string& run, torch::Device device);

torch::Device choose_device(const std::string& name);
// A JSON file; throws soul::Error naming it when it is missing or malformed.
nlohmann::json read_json(const std::string& path);

}  // namespace soul::train
