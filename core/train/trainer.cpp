// `souldiffuser train` for the encoders (see soul/train.h): one generic loop for every stage —
// seeded order per epoch, a fresh RNG seed per step (so a resumed run draws exactly what an
// uninterrupted one would), AdamW with a cosine learning-rate decay, gradient clipping,
// checkpoints every N steps and on cancel, one metrics line per step.
#include "soul/train.h"

#include "data_parallel.h"
#include "caption_table.h"
#include "encoder_run.h"
#include "metrics_log.h"
#include "../util/memory_guard.h"
#include "../util/torch_compat.h"
#include "../model/diffusion.h"
#include "../pretrained/stable_diffusion.h"
#include "../model/targets.h"
#include "soul/error.h"
#include "soul/text_encoding.h"
#include "soul/formats.h"
#include "soul/json_text.h"
#include "soul/limits.h"
#include "soul/output_folder.h"
#include "soul/runtime.h"
#include "soul/version.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {

const std::vector<std::string>& training_stages() {
    static const std::vector<std::string> stages = {"embedding", "ssmnet", "sembert", "ec_encoder", "ec_decoder", "ec_cycle", "baseline", "vae", "unet", "adapters", "classifier", "sd_adapters"};
    return stages;
}

namespace {

using namespace soul::train;
using Losses = std::map<std::string, torch::Tensor>;

constexpr int64_t kJudgeValidationImages = 1000;   // phantom scenes that validate the stimulus judge

constexpr double kGradientClip = 1.0;
constexpr double kFinalLearningRate = 0.1;   // cosine decay to this fraction of the peak

// torch::nn::utils::clip_grad_norm_ with the same arithmetic (the 2-norm of the per-tensor 2-norms,
// gradients scaled by min(1, max / (norm + 1e-6))), less its final .item(): LibTorch's returns the
// norm as a double, which waits for the device on every step.
void clip_gradients(const std::vector<torch::Tensor>& parameters, double max_norm) {
    std::vector<torch::Tensor> gradients, norms;
    for (const auto& p : parameters) {
        if (!p.grad().defined()) continue;
        gradients.push_back(p.grad().data());
        norms.push_back(gradients.back().norm(2));
    }
    if (gradients.empty()) return;
    const torch::Tensor total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
    const torch::Tensor scale = (max_norm / (total + 1e-6)).clamp_max(1.0);
    for (auto& g : gradients) g.mul_(scale);
}

// bfloat16 autocast in the forward pass: on CUDA by default, on the CPU when asked for.
bool mixed_precision(const std::string& precision, torch::Device device) {
    if (precision == "auto") return device.is_cuda();
    if (precision == "bf16") return true;
    if (precision == "fp32") return false;
    throw Error("--precision must be auto, fp32 or bf16, not " + precision);
}

std::string duration_text(double seconds) {
    char text[32];
    if (seconds >= 3600) std::snprintf(text, sizeof text, "%dh%02dm", static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60) % 60);
    else if (seconds >= 60) std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds / 60), static_cast<int>(seconds) % 60);
    else std::snprintf(text, sizeof text, "%.0fs", seconds);
    return text;
}

class Trainer {
public:
    Trainer(const TrainOptions& o, const Progress& progress, const std::function<void(const TrainMetrics&)>& on_metrics)
        : options_(o), progress_(progress), on_metrics_(on_metrics) {}

    TrainSummary run();
    // What the run was doing, for messages: "building the models", "in stage unet".
    const std::string& activity() const { return activity_; }
    // After a failure: removes the run folder when this call created it and it holds no checkpoint
    // yet, so that the same command with a corrected config or dataset starts clean.
    void discard_unstarted_run() const;
    void check_training_memory(const std::vector<std::string>& stages);

private:
    struct Stage {
        std::string name;
        torch::nn::Module* module;
        std::vector<torch::Tensor> parameters;
        model::StageSchedule schedule;
        int64_t items;
        std::function<Losses(const torch::Tensor& rows)> step;
        std::function<void(bool)> set_training;
        std::function<void()> on_done;   // after the last step, before the final checkpoint
        std::function<nlohmann::json()> held_out;   // scores on examples it never trained on, kept in run.json
        // Across ranks: false when every loss term is a mean over rows (each rank's mean weighs
        // by its share of the batch); true when the step gathers the whole batch's outputs and
        // computes the loss of the global batch itself (the contrastive losses).
        bool global_loss = false;
    };
    void run_stage(const Stage& stage);
    void write_run_json();
    torch::Tensor pick_captions(const torch::Tensor& images);
    // One caption per image drawn as pick_captions does, as its row of the pretrained caption table.
    torch::Tensor pick_caption_embeddings(const torch::Tensor& images);
    // The pretrained caption table: read from the run folder, or computed and written there.
    void prepare_caption_table();
    // A step's random draws, one value per row of this rank's slice: drawn for the whole global
    // batch and sliced, so that N ranks draw what one rank with the whole batch draws.
    torch::Tensor uniform(int64_t rows);
    torch::Tensor normal_like(const torch::Tensor& rows_first);
    torch::Tensor integers(int64_t high, int64_t rows);
    torch::Tensor draw_caption(const torch::Tensor& count);
    // The whole global batch of a per-row tensor of this rank (see DataParallel::gather).
    torch::Tensor all_rows(const torch::Tensor& local) { return dp_->gather(local, slice_); }
    // A parameter the global loss uses directly: live on rank 0 only, so that the summed gradient
    // counts it once.
    torch::Tensor once(const torch::Tensor& parameter) { return dp_->is_main() ? parameter : parameter.detach(); }
    std::pair<torch::Tensor, torch::Tensor> pick_two_captions(const torch::Tensor& images);
    void need(const std::string& stage, const std::string& before);
    const torch::Tensor& training_latents();
    torch::Tensor vae_latents(const torch::Tensor& images);
    torch::Tensor sd_latents_;
    // The user's Stable Diffusion, frozen, for sd_adapters: loaded, recorded in run.json (checked
    // against an earlier record on --resume), and the adapters built for its UNet.
    void prepare_stable_diffusion();
    // Its scaled latents of the training images at its size, computed once.
    torch::Tensor stable_diffusion_latents();
    std::shared_ptr<pretrained::StableDiffusion> sd_;
    json read_base_run(const std::string& from, const json& fingerprint) const;
    void start_from(const std::string& from, const json& base, const std::vector<std::string>& stages);

    TrainOptions options_;
    const Progress& progress_;
    std::function<void(const TrainMetrics&)> on_metrics_;
    model::EncoderConfig config_;
    model::CaptionTokenizer tokenizer_;
    TrainData data_;
    RunModels models_;
    json run_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    torch::Tensor extra_images_, train_images_, latents_;
    TrainSummary summary_;
    std::string activity_ = "loading the dataset";
    bool created_folder_ = false;
    std::unique_ptr<DataParallel> dp_;
    BatchSlice slice_;   // the step's rows of this rank in the global batch
};

namespace {
torch::Tensor caption_rows(const torch::Tensor& captions, const torch::Tensor& which, int64_t max_tokens) {
    return captions.gather(1, which.view({-1, 1, 1}).expand({-1, 1, max_tokens})).squeeze(1);
}
}  // namespace

torch::Tensor Trainer::uniform(int64_t rows) {
    const auto on = torch::TensorOptions().device(data_.device);
    if (!dp_->active()) return torch::rand({rows}, on);
    return torch::rand({slice_.global}, on).narrow(0, slice_.offset, rows);
}

torch::Tensor Trainer::normal_like(const torch::Tensor& x) {
    if (!dp_->active()) return torch::randn_like(x);
    std::vector<int64_t> shape = x.sizes().vec();
    shape[0] = slice_.global;
    return torch::randn(shape, x.options()).narrow(0, slice_.offset, x.size(0));
}

torch::Tensor Trainer::integers(int64_t high, int64_t rows) {
    const auto on = torch::TensorOptions().device(data_.device).dtype(torch::kLong);
    if (!dp_->active()) return torch::randint(0, high, {rows}, on);
    return torch::randint(0, high, {slice_.global}, on).narrow(0, slice_.offset, rows);
}

// One caption index per image, drawn with the step's seeded generator among its `count` captions.
torch::Tensor Trainer::draw_caption(const torch::Tensor& count) {
    return (uniform(count.size(0)) * count).to(torch::kLong).clamp_max(kMaxCaptions - 1);
}

torch::Tensor Trainer::pick_captions(const torch::Tensor& images) {
    const torch::Tensor count = data_.caption_count.index_select(0, images).clamp_min(1);
    return caption_rows(data_.captions.index_select(0, images), draw_caption(count), config_.max_tokens);
}

torch::Tensor Trainer::pick_caption_embeddings(const torch::Tensor& images) {
    const torch::Tensor count = data_.caption_count.index_select(0, images).clamp_min(1);
    return data_.caption_table.index_select(0, images).gather(1, draw_caption(count).view({-1, 1, 1}).expand({-1, 1, data_.caption_table.size(2)})).squeeze(1);
}

void Trainer::prepare_caption_table() {
    const fs::path out(options_.out);
    const json recorded = run_.value("caption_encoder", json::object());
    if (recorded.contains("checksum") && fs::exists(out / kCaptionTableFile)) {
        data_.caption_table = load_caption_table(options_.out, data_, recorded);
        return;
    }
    activity_ = "encoding the captions with " + config_.caption_encoder;
    json info;
    data_.caption_table = compute_caption_table(data_, config_.caption_encoder, &info, progress_);
    if (dp_->is_main()) {
        info["checksum"] = save_caption_table(options_.out, data_.caption_table);
        run_["caption_encoder"] = info;
        write_run_json();
    }
}

std::pair<torch::Tensor, torch::Tensor> Trainer::pick_two_captions(const torch::Tensor& images) {
    // Two captions per image, different wherever the image has more than one: the first drawn as
    // pick_captions does, the second among the others.
    const torch::Tensor count = data_.caption_count.index_select(0, images).clamp(1, kMaxCaptions);
    const torch::Tensor first = draw_caption(count);
    const torch::Tensor shift = 1 + (uniform(images.size(0)) * (count - 1).clamp_min(1)).to(torch::kLong);
    const torch::Tensor second = torch::where(count > 1, (first + shift).remainder(count), first);
    const torch::Tensor all = data_.captions.index_select(0, images);
    return {caption_rows(all, first, config_.max_tokens), caption_rows(all, second, config_.max_tokens)};
}

void Trainer::need(const std::string& stage, const std::string& before) {
    if (!run_["stages"].value(before, json::object()).value("done", false))
        throw Error("train: stage " + stage + " needs the '" + before + "' stage; train it first (--stages " + before + "," + stage + ")");
}

torch::Tensor Trainer::vae_latents(const torch::Tensor& images) {
    torch::NoGradGuard no_grad;
    models_.vae->eval();
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < images.size(0); i += 256) parts.push_back(models_.vae->to_latent(images.narrow(0, i, std::min<int64_t>(256, images.size(0) - i))));
    return torch::cat(parts, 0);
}

void Trainer::prepare_stable_diffusion() {
    activity_ = "loading Stable Diffusion from " + options_.stable_diffusion.path;
    const auto files = pretrained::find_stable_diffusion(options_.stable_diffusion.path, options_.stable_diffusion.text_encoder,
                                                         options_.stable_diffusion.prediction);
    // float32 everywhere: the adapters' gradients pass through the frozen UNet (bfloat16 autocast on CUDA, as other stages).
    sd_ = pretrained::load_stable_diffusion(files, data_.device, torch::kFloat32);
    for (torch::nn::Module* m : sd_->modules())
        for (auto& p : m->parameters()) p.set_requires_grad(false);
    const int64_t size = options_.stable_diffusion.size, f = sd_->vae->downscale();
    if (size <= 0 || size % sd_->adapter_size_multiple())
        throw Error("train: --size " + std::to_string(size) + " must be a multiple of " + std::to_string(sd_->adapter_size_multiple()) +
                    " (the autoencoder's downscale times the UNet's)");
    const json record = {{"path", fs::absolute(options_.stable_diffusion.path).string()}, {"name", files.name},
                         {"levels", sd_->unet->adapter_levels()}, {"latent_side", size / f}, {"size", size}};
    if (run_.contains("stable_diffusion") && run_["stable_diffusion"]["levels"] != record["levels"])
        throw Error(options_.stable_diffusion.path, "is not the Stable Diffusion " + options_.out + "'s adapters were trained for (UNet levels " +
                                                        run_["stable_diffusion"]["levels"].dump() + ", this one's " + record["levels"].dump() + ")");
    if (!run_.contains("stable_diffusion") || !options_.resume) run_["stable_diffusion"] = record;
    models_.sd_adapters = build_sd_adapters(run_["stable_diffusion"], data_.device);
    if (dp_->is_main()) write_run_json();
}

torch::Tensor Trainer::stable_diffusion_latents() {
    if (sd_latents_.defined()) return sd_latents_;
    torch::NoGradGuard no_grad;
    const PreparedDataset& d = *data_.dataset;
    const int64_t side = d.manifest().image_size, size = run_["stable_diffusion"]["size"].get<int64_t>();
    const torch::Tensor ids = train_images_.cpu();
    std::vector<torch::Tensor> parts;
    constexpr int64_t kChunk = 16;
    for (int64_t i = 0; i < ids.size(0); i += kChunk) {
        progress_.check();
        const int64_t n = std::min(kChunk, ids.size(0) - i);
        std::vector<torch::Tensor> pixels;
        for (int64_t k = 0; k < n; ++k)
            pixels.push_back(torch::from_blob(const_cast<uint8_t*>(d.image(static_cast<int32_t>(ids[i + k].item<int64_t>()))), {1, side, side, 3}, torch::kUInt8));
        const torch::Tensor images = model::images_to_tensor(torch::cat(pixels, 0), size).to(data_.device);
        parts.push_back(sd_->vae->encode(images * 2 - 1));
        progress_(i + n, ids.size(0), "sd_adapters: Stable Diffusion's latents of the training images");
    }
    sd_latents_ = torch::cat(parts, 0);
    return sd_latents_;
}

// The VAE's latents of the training images, computed once for the UNet and adapter stages.
const torch::Tensor& Trainer::training_latents() {
    if (!latents_.defined()) latents_ = vae_latents(data_.gen_images.index_select(0, train_images_));
    return latents_;
}

// The run --from names, checked before anything is written: the same dataset, the same config
// apart from `name` and `train_fraction`.
json Trainer::read_base_run(const std::string& from, const json& fingerprint) const {
    const std::string source_json = (fs::path(from) / "run.json").string();
    if (!fs::exists(source_json)) throw Error(from, "is not a run folder (no run.json)");
    try {
        json base = json::parse(std::ifstream(source_json));
        if (base.value("dataset", json::object()).value("fingerprint", json()) != fingerprint)
            throw Error(options_.data, "is not the dataset " + from + " was trained on; --from needs the same dataset");
        auto comparable = [](json c) {
            c.erase("name");
            c.erase("train_fraction");
            return c;
        };
        if (comparable(model::encoder_config_from_json(base.at("config"), source_json).to_json()) != comparable(config_.to_json()))
            throw Error(options_.config, "differs from the config " + from + " was trained with in more than 'name' and 'train_fraction'; --from needs the same one");
        if (!base.at("stages").is_object()) throw Error(source_json, "has no stage table");
        return base;
    } catch (const json::exception& e) {
        throw Error(source_json, std::string("cannot be read as a run: ") + e.what());
    }
}

// Copies the finished stages of `base` that this run does not train, with their run.json entries.
void Trainer::start_from(const std::string& from, const json& base, const std::vector<std::string>& stages) {
    const fs::path source(from);
    try {
        tokenizer_ = model::CaptionTokenizer::read((source / "vocab.json").string());
        for (const auto& stage : training_stages()) {
            const json entry = base["stages"].value(stage, json::object());
            if (!entry.value("done", false) || std::count(stages.begin(), stages.end(), stage)) continue;
            fs::copy_file(source / (stage + ".pt"), fs::path(options_.out) / (stage + ".pt"), fs::copy_options::overwrite_existing);
            run_["stages"][stage] = entry;
            run_["stages"][stage]["copied_from"] = fs::absolute(source).string();
        }
        if (base.contains("caption_encoder") && fs::exists(source / kCaptionTableFile)) {
            fs::copy_file(source / kCaptionTableFile, fs::path(options_.out) / kCaptionTableFile, fs::copy_options::overwrite_existing);
            run_["caption_encoder"] = base["caption_encoder"];
        }
    } catch (const json::exception& e) {
        throw Error((source / "vocab.json").string(), std::string("cannot be read: ") + e.what());
    } catch (const fs::filesystem_error& e) {
        throw Error(from, std::string("a stage's checkpoint cannot be copied: ") + e.what());
    }
    write_file_atomically((fs::path(options_.out) / "vocab.json").string(), json_text(tokenizer_.to_json()));
}

// Training a stage adds, for its module, the gradients and AdamW's two moments: three more copies
// of its weights. Checked for every stage before the first starts, so that a config too large for
// the machine fails now with a message rather than hours later in the OOM killer. On CUDA the
// caching allocator reports its own out-of-memory.
void Trainer::check_training_memory(const std::vector<std::string>& stages) {
    if (!data_.device.is_cpu()) return;
    auto weight_bytes = [](torch::nn::Module& m) {
        uint64_t bytes = 0;
        for (const auto& p : m.parameters()) bytes += static_cast<uint64_t>(p.numel()) * p.element_size();
        return bytes;
    };
    uint64_t weights = 0;
    for (torch::nn::Module* m : all_modules(models_)) weights += weight_bytes(*m);
    const uint64_t budget = input_memory_limit();
    const uint64_t available = available_memory();
    const uint64_t left = std::min(budget > weights ? budget - weights : 0, available ? available : budget);
    for (const auto& stage : stages) {
        const uint64_t need = 3 * weight_bytes(module_for(models_, stage));
        if (need > left)
            throw MemoryRefused(need, "stage " + stage + " needs " + gibibytes_text(need) + " for its gradients and AdamW's moments (3 x its " +
                                          gibibytes_text(need / 3) + " of weights), more than the " + gibibytes_text(left) +
                                          " left of the memory budget (free memory, or SOUL_MEMORY_LIMIT)");
    }
}

void Trainer::discard_unstarted_run() const {
    if (!created_folder_) return;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(options_.out, ec))
        if (entry.path().extension() == ".pt") return;
    if (!ec) fs::remove_all(options_.out, ec);
}

void Trainer::write_run_json() {
    if (dp_->is_main()) write_file_atomically((fs::path(options_.out) / "run.json").string(), json_text(run_, 2));
}

void Trainer::run_stage(const Stage& s) {
    const std::string checkpoint = (fs::path(options_.out) / (s.name + ".pt")).string();
    // Every rank takes batch_size rows of a step's global batch.
    const int64_t batch = config_.batch_size * dp_->world_size();
    check_batch_split(s.name, s.items, batch, dp_->world_size());
    const int64_t per_epoch = (s.items + batch - 1) / batch;
    const int64_t total = s.schedule.epochs * per_epoch;
    torch::optim::AdamW optimizer(s.parameters, torch::optim::AdamWOptions(s.schedule.lr).weight_decay(config_.weight_decay));
    int64_t step = 0;
    const json recorded = run_["stages"].value(s.name, json::object());
    if (options_.resume && fs::exists(checkpoint))
        // Only a finished stage's checksum is final: an interrupted run may have renamed a newer
        // checkpoint in before it could record its checksum.
        step = load_checkpoint(checkpoint, *s.module, &optimizer, recorded.value("done", false) ? recorded.value("checksum", std::string()) : "");
    if (step >= total && total > 0 && run_["stages"].value(s.name, json::object()).value("done", false)) {
        summary_.stages_skipped.push_back(s.name);
        return;
    }
    // Every rank starts from rank 0's weights (equal already when all built them from one seed
    // or read one checkpoint; this makes it so).
    dp_->broadcast(s.module->parameters());
    // The metrics log keeps what came before this stage's resumed step. Rank 0 writes it.
    const fs::path metrics_path = fs::path(options_.out) / "metrics.jsonl";
    if (dp_->is_main()) {
        std::vector<std::string> keep;
        std::ifstream in(metrics_path);
        for (std::string line; std::getline(in, line);) {
            try {
                const json j = json::parse(line);
                if (j.value("stage", "") == s.name && j.value("step", int64_t(0)) > step) continue;   // "step" counts steps done
            } catch (const json::exception&) {
                continue;   // a line cut by a kill
            }
            keep.push_back(line);
        }
        std::ostringstream all;
        for (const auto& l : keep) all << l << "\n";
        write_file_atomically(metrics_path.string(), all.str());
    }
    std::ofstream metrics;
    if (dp_->is_main()) metrics.open(metrics_path, std::ios::app);
    MetricsLog log(metrics, on_metrics_);
    run_["stages"][s.name] = {{"done", false}, {"step", step}, {"steps", total}};
    write_run_json();
    s.set_training(true);
    const uint64_t stage_seed = config_.seed * 1000003ull + std::hash<std::string>{}(s.name) % 100003ull;
    const auto stage_started = std::chrono::steady_clock::now();
    const int64_t first = step;
    const bool autocast = mixed_precision(options_.precision, data_.device);
    // The epoch's order of items, on the device: a step takes its rows with narrow, no copy.
    torch::Tensor order;
    int64_t order_epoch = -1;
    std::string checksum;
    auto checkpoint_now = [&] {
        log.flush();
        if (dp_->is_main()) checksum = save_checkpoint(checkpoint, *s.module, &optimizer, step);
        run_["stages"][s.name]["step"] = step;
        run_["stages"][s.name]["checksum"] = checksum;
        write_run_json();
    };
    while (step < total) {
        const bool cancelled = progress_.cancel && progress_.cancel->cancelled();
        if (cancelled && !dp_->active()) {
            checkpoint_now();
            throw Cancelled();
        }
        const int64_t epoch = step / per_epoch, b = step % per_epoch;
        if (epoch != order_epoch) {
            std::vector<int64_t> shuffled(static_cast<size_t>(s.items));
            for (int64_t i = 0; i < s.items; ++i) shuffled[static_cast<size_t>(i)] = i;
            std::mt19937_64 rng(stage_seed + static_cast<uint64_t>(epoch));
            std::shuffle(shuffled.begin(), shuffled.end(), rng);
            order = torch::tensor(shuffled, torch::kLong).to(data_.device);
            order_epoch = epoch;
        }
        const int64_t n = std::min(batch, s.items - b * batch);
        slice_ = dp_->slice(n);
        const torch::Tensor rows = order.narrow(0, b * batch + slice_.offset, slice_.count);
        torch::manual_seed(stage_seed * 7919ull + static_cast<uint64_t>(step));
        const double t = static_cast<double>(step) / std::max<int64_t>(1, total);
        const double lr = s.schedule.lr * (kFinalLearningRate + (1 - kFinalLearningRate) * 0.5 * (1 + std::cos(M_PI * t)));
        for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        Losses losses;
        {
            AutocastGuard guard(data_.device, autocast);
            losses = s.step(rows);
        }
        optimizer.zero_grad();
        if (!dp_->active()) {
            losses.at("loss").backward();
        } else {
            // A loss of per-row means weighs by this rank's share of the batch, so that the
            // summed gradient is the global batch's; a global loss is the same on every rank and
            // reaches the weights only through this rank's rows.
            const double share = s.global_loss ? 1.0 : slice_.share();
            (s.global_loss ? losses.at("loss") : losses.at("loss") * share).backward();
            // One all-reduce: the gradients, whether any rank was asked to stop, and (per-row
            // losses) the weighted loss values, whose sum is the global batch's mean.
            std::vector<double> flags{cancelled ? 1.0 : 0.0};
            std::vector<std::string> keys;
            if (!s.global_loss)
                for (const auto& [key, value] : losses) {
                    keys.push_back(key);
                    flags.push_back(value.item<double>() * share);
                }
            const std::vector<double> summed = dp_->sum_gradients(s.parameters, flags);
            if (summed[0] > 0) {
                checkpoint_now();
                throw Cancelled();
            }
            for (size_t i = 0; i < keys.size(); ++i) losses[keys[i]] = torch::tensor(summed[i + 1], torch::TensorOptions().dtype(torch::kDouble).device(data_.device));
        }
        clip_gradients(s.parameters, kGradientClip);
        optimizer.step();
        ++step;

        TrainMetrics m;
        m.stage = s.name;
        m.step = step;
        m.steps = total;
        m.epoch = epoch + 1;
        m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        m.values["lr"] = lr;
        if (dp_->active()) m.values["allreduce_ms"] = dp_->last_sum_seconds() * 1000;
        log.add(std::move(m), losses);
        if (log.due()) log.flush();
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_started).count();
        const double eta = elapsed / static_cast<double>(step - first) * static_cast<double>(total - step);
        char message[160];
        if (const TrainMetrics* read = log.last())
            std::snprintf(message, sizeof message, "%s epoch %lld/%lld loss %.4f  ETA %s", s.name.c_str(), static_cast<long long>(epoch + 1),
                          static_cast<long long>(s.schedule.epochs), read->values.at("loss"), duration_text(eta).c_str());
        else
            std::snprintf(message, sizeof message, "%s epoch %lld/%lld  ETA %s", s.name.c_str(), static_cast<long long>(epoch + 1),
                          static_cast<long long>(s.schedule.epochs), duration_text(eta).c_str());
        progress_(step, total, message);
        if (step % config_.checkpoint_every == 0 || step == total) checkpoint_now();
    }
    s.set_training(false);
    if (s.on_done) {
        s.on_done();
        if (dp_->is_main()) checksum = save_checkpoint(checkpoint, *s.module, &optimizer, total);
    }
    run_["stages"][s.name] = {{"done", true}, {"step", total}, {"steps", total}, {"checksum", checksum},
                              {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_started).count()}};
    if (s.held_out) {
        torch::NoGradGuard no_grad;
        run_["stages"][s.name]["held_out"] = s.held_out();
        progress_(1, 1, s.name + ": held out " + run_["stages"][s.name]["held_out"].dump());
    }
    write_run_json();
    summary_.stages_trained.push_back(s.name);
}

TrainSummary Trainer::run() {
    init_compute_threads();
    if (options_.data.empty() || options_.out.empty() || options_.config.empty()) throw Error("train: --data, --config and --out are required");
    torch::Device device = choose_device(options_.device);
    // Several ranks on one machine take one GPU each, round robin.
    if (device.is_cuda() && options_.distributed.world_size > 1)
        device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(options_.distributed.local_rank % std::max<int64_t>(1, torch::cuda::device_count())));
    summary_.device = device.is_cuda() ? "cuda" : "cpu";
    summary_.mixed_precision = mixed_precision(options_.precision, device);
    config_ = model::read_encoder_config(options_.config);
    if (!options_.caption_encoder.empty()) config_.caption_encoder = options_.caption_encoder;
    if (!config_.caption_encoder.empty()) {
        config_.caption_encoder = fs::absolute(config_.caption_encoder).lexically_normal().string();
        find_text_encoder(config_.caption_encoder);   // a missing or foreign folder is named before anything is written
    }
    std::vector<std::string> stages = options_.stages.empty() ? training_stages() : std::vector<std::string>{};
    if (options_.stages.empty() && !options_.stable_diffusion.used()) stages.pop_back();   // sd_adapters: only with --sd
    for (const auto& s : options_.stages) {
        if (s == "edgecolor") {
            for (const char* p : {"ec_encoder", "ec_decoder", "ec_cycle"}) stages.push_back(p);
        } else if (std::count(training_stages().begin(), training_stages().end(), s)) {
            stages.push_back(s);
        } else {
            throw Error("train: unknown stage '" + s + "' (embedding, ssmnet, sembert, edgecolor, baseline, vae, unet, adapters, classifier, sd_adapters)");
        }
    }
    const bool sd_stage = std::count(stages.begin(), stages.end(), "sd_adapters") > 0;
    if (sd_stage && !options_.stable_diffusion.used())
        throw Error("train: stage sd_adapters trains adapters for your Stable Diffusion; give it with --sd (docs/pretrained.md)");
    const fs::path out(options_.out);
    const fs::path run_json = out / "run.json";
    activity_ = "meeting the other ranks";
    dp_ = std::make_unique<DataParallel>(options_.distributed);
    activity_ = "loading the dataset";
    PreparedDataset probe(options_.data);
    const json fingerprint = dataset_fingerprint(probe);
    if (!dp_->is_main()) {
        // Rank 0 checks and writes the run folder; the others read what it wrote.
        dp_->barrier("rank 0 prepares the run folder");
        try {
            run_ = json::parse(std::ifstream(run_json));
        } catch (const json::exception&) {
            throw Error(run_json.string(), "cannot be read by rank " + std::to_string(dp_->rank()) + "; every rank needs the run folder (a shared file system)");
        }
        if (run_.value("dataset", json::object()).value("fingerprint", json()) != fingerprint)
            throw Error(options_.data, "on rank " + std::to_string(dp_->rank()) + " is not the dataset rank 0 trains on; every rank needs the same prepared dataset");
        tokenizer_ = model::CaptionTokenizer::read((out / "vocab.json").string());
    } else if (fs::exists(run_json)) {
        if (!options_.from.empty()) throw Error(options_.out, "already holds a run; --from starts a new one: choose another --out");
        std::ifstream in(run_json);
        try {
            run_ = json::parse(in);
        } catch (const json::exception&) {
            throw Error(run_json.string(), "is damaged; remove the run folder or choose another --out");
        }
        if (run_.value("dataset", json::object()).value("fingerprint", json()) != fingerprint)
            throw Error(options_.data, "is not the dataset " + options_.out + " was trained on (" + fingerprint["voxels"].dump() + " voxels vs " +
                                           run_["dataset"]["fingerprint"]["voxels"].dump() + ", or another voxel table or split); use another --out");
        // sd_adapters' schedule may be added later: that stage reads nothing the others trained.
        auto without_sd = [](json c) {
            c.erase("sd_adapters");
            return c;
        };
        // Both read through the config reader: a run written before a key existed has its default.
        if (without_sd(model::encoder_config_from_json(run_.value("config", json()), run_json.string()).to_json()) != without_sd(config_.to_json()))
            throw Error(options_.config, "differs from the config " + options_.out + " was started with; use another --out");
        run_["config"] = config_.to_json();
        const bool any_new = std::any_of(stages.begin(), stages.end(), [&](const std::string& s) {
            return run_.value("stages", json::object()).contains(s) && !options_.resume;
        });
        if (any_new) throw Error(options_.out, "already holds a run with these stages; add --resume to continue it, or choose another --out");
        tokenizer_ = model::CaptionTokenizer::read((out / "vocab.json").string());
    } else {
        const json base = options_.from.empty() ? json() : read_base_run(options_.from, fingerprint);
        created_folder_ = !fs::exists(out);
        make_output_folder(out);
        run_ = {{"format", "souldiffuser-encoders"}, {"created_by", std::string("souldiffuser ") + SOUL_VERSION}, {"torch", torch_version()},
                {"config", config_.to_json()}, {"config_file", fs::absolute(options_.config).string()},
                {"dataset", {{"path", fs::absolute(options_.data).string()}, {"fingerprint", fingerprint}}}, {"stages", json::object()}};
        if (!options_.from.empty()) {
            start_from(options_.from, base, stages);
        } else {
            tokenizer_ = model::CaptionTokenizer::fit(training_captions(probe));
            write_file_atomically((out / "vocab.json").string(), json_text(tokenizer_.to_json()));
        }
        write_run_json();
    }
    if (dp_->is_main()) dp_->barrier("rank 0 prepares the run folder");
    torch::manual_seed(config_.seed);
    // Ranks on one machine map the prepared betas (one copy in the page cache) instead of each
    // copying them; a single process copies them, as before.
    data_ = load_train_data(options_.data, config_, tokenizer_, device, dp_->active() ? BetasAccess::Mapped : BetasAccess::Copied);
    if (!config_.caption_encoder.empty()) prepare_caption_table();
    torch::manual_seed(config_.seed);
    activity_ = "building the models";
    models_ = build_models(config_, data_, tokenizer_.size());
    if (sd_stage) prepare_stable_diffusion();
    else if (run_.contains("stable_diffusion")) models_.sd_adapters = build_sd_adapters(run_["stable_diffusion"], device);
    activity_ = "planning the stages";
    check_training_memory(stages);
    // Each stage's module size: what a data-parallel step all-reduces (docs/distributed.md).
    std::string sizes;
    for (const auto& stage : stages) {
        int64_t count = 0;
        for (const auto& p : module_for(models_, stage).parameters()) count += p.numel();
        run_["parameters"][stage] = count;
        sizes += (sizes.empty() ? "" : ", ") + stage + " " + fixed3(static_cast<double>(count) / 1e6) + "M";
    }
    write_run_json();
    progress_(0, 1, "parameters per stage: " + sizes);
    // Earlier stages this one builds on (the embedding space, the EdgeColorNet encoder).
    // An exported model names one file for EdgeColorNet's phases ("checkpoint"); it is read once.
    std::set<std::string> loaded;
    for (const auto& stage : training_stages())
        if (const json entry = run_["stages"].value(stage, json::object()); entry.value("done", false)) {
            if (stage == "classifier" && data_.categories == 0) continue;
            const std::string file = entry.value("checkpoint", stage + ".pt");
            if (loaded.insert(file).second) load_checkpoint((out / file).string(), module_for(models_, stage), nullptr, entry.value("checksum", std::string()));
        }
    auto need_embedding = [&](const std::string& stage) { need(stage, "embedding"); };
    train_images_ = training_images(data_);

    auto& emb = models_.embedding;
    const int64_t n_train = data_.train_betas.size(0);
    auto image_targets = [&](const torch::Tensor& images) {
        torch::NoGradGuard no_grad;
        return emb->image(data_.images.index_select(0, images));
    };
    auto caption_targets = [&](const torch::Tensor& images) {
        torch::NoGradGuard no_grad;
        return mean_caption_embedding(emb, data_, images);
    };
    // The caption space's temperature: the built-in space's learned one, or CLIP's initial τ for a
    // pretrained encoder's space, which has none.
    const torch::Tensor pretrained_scale = torch::tensor(kPretrainedCaptionLogitScale, torch::TensorOptions().device(data_.device));
    auto caption_logit_scale = [&] { return data_.caption_table.defined() ? pretrained_scale : emb->logit_scale.detach(); };
    auto params = [](torch::nn::Module& m) { return m.parameters(); };
    auto trainable = [](torch::nn::Module& m) {
        return [&m](bool on) { m.train(on); };
    };

    for (const auto& name : stages) {
        // Several ranks stop together, at a step (the request travels with the gradients): one
        // that stopped here alone would leave the others waiting in a collective.
        if (!dp_->active()) progress_.check();
        activity_ = "in stage " + name;
        Stage s{name, nullptr, {}, {}, n_train, {}, {}};
        if (name == "embedding") {
            // Image–caption pairs of the training images (each image once per epoch).
            const torch::Tensor train_images = train_images_;
            s.module = emb.get();
            s.parameters = params(*emb);
            s.schedule = config_.embedding;
            s.items = train_images.size(0);
            s.step = [&, train_images](const torch::Tensor& rows) {
                const torch::Tensor images = train_images.index_select(0, rows);
                const torch::Tensor a = all_rows(emb->image(data_.images.index_select(0, images)));
                const torch::Tensor scale = once(emb->logit_scale);
                if (config_.embedding_caption_weight <= 0) return Losses{{"loss", model::clip_loss(a, all_rows(emb->text(pick_captions(images))), scale)}};
                const auto [first, second] = pick_two_captions(images);
                const torch::Tensor b = emb->text(torch::cat({first, second}, 0));
                const torch::Tensor b1 = all_rows(b.narrow(0, 0, images.size(0))), b2 = all_rows(b.narrow(0, images.size(0), images.size(0)));
                const torch::Tensor image_caption = model::clip_loss(a, b1, scale);
                const torch::Tensor caption_caption = model::clip_loss(b1, b2, scale);
                return Losses{{"loss", image_caption + config_.embedding_caption_weight * caption_caption},
                              {"image_caption", image_caption}, {"caption_caption", caption_caption}};
            };
            s.set_training = trainable(*emb);
            s.global_loss = true;
        } else if (name == "ssmnet") {
            need_embedding(name);
            auto& net = models_.ssmnet;
            s.module = net.get();
            s.parameters = params(*net);
            s.schedule = config_.ssmnet;
            s.step = [&](const torch::Tensor& rows) {
                const torch::Tensor images = data_.train_image.index_select(0, rows);
                const auto out = net->forward(data_.train_betas.index_select(0, rows));
                const torch::Tensor embedding = all_rows(out.embedding), target = all_rows(image_targets(images));
                const torch::Tensor contrastive = model::clip_loss(embedding, target, emb->logit_scale.detach());
                const torch::Tensor regression = (embedding - target).pow(2).sum(1).mean();
                const torch::Tensor image = torch::mse_loss(all_rows(out.image), all_rows(data_.images.index_select(0, images)));
                return Losses{{"loss", contrastive + config_.ssm_regression_weight * regression + config_.ssm_image_weight * image},
                              {"contrastive", contrastive}, {"regression", regression}, {"image", image}};
            };
            s.set_training = trainable(*net);
            s.global_loss = true;
        } else if (name == "sembert") {
            if (!data_.caption_table.defined()) need_embedding(name);
            auto& net = models_.sembert;
            s.module = net.get();
            s.parameters = params(*net);
            s.schedule = config_.sembert;
            s.step = [&](const torch::Tensor& rows) {
                const torch::Tensor images = data_.train_image.index_select(0, rows);
                const torch::Tensor predicted = all_rows(net->forward(data_.train_betas.index_select(0, rows)));
                torch::Tensor caption;
                {
                    torch::NoGradGuard no_grad;
                    caption = all_rows(data_.caption_table.defined() ? pick_caption_embeddings(images) : emb->text(pick_captions(images)));
                }
                const torch::Tensor mean = all_rows(caption_targets(images));
                const torch::Tensor contrastive = model::clip_loss(predicted, caption, caption_logit_scale());
                const torch::Tensor regression = (predicted - mean).pow(2).sum(1).mean();
                return Losses{{"loss", contrastive + regression}, {"contrastive", contrastive}, {"regression", regression}};
            };
            s.set_training = trainable(*net);
            s.global_loss = true;
        } else if (name == "ec_encoder" || name == "ec_decoder") {
            auto& net = models_.edgecolor;
            const bool encoder = name == "ec_encoder";
            s.module = net.get();
            s.parameters = encoder ? net->encoder->parameters() : net->decoder_parameters();
            s.schedule = encoder ? config_.ec_encoder : config_.ec_decoder;
            s.step = [&, encoder](const torch::Tensor& rows) {
                const torch::Tensor images = data_.train_image.index_select(0, rows);
                const torch::Tensor palette = data_.palettes.index_select(0, images), edges = data_.edges.index_select(0, images);
                const torch::Tensor voxels = net->select(data_.train_betas.index_select(0, rows));
                if (encoder) {
                    const torch::Tensor predicted = net->encode(palette, edges);
                    return Losses{{"loss", torch::mse_loss(predicted, voxels)}};
                }
                const auto out = net->decode(voxels);
                const torch::Tensor lp = torch::mse_loss(out.palette, palette), le = torch::mse_loss(out.edges, edges);
                return Losses{{"loss", lp + le}, {"palette", lp}, {"edges", le}};
            };
            s.set_training = [&, encoder](bool on) {
                net->train(on);
                if (encoder) net->decoder->eval();
            };
        } else if (name == "ec_cycle") {
            auto& net = models_.edgecolor;
            if (!extra_images_.defined()) {
                progress_(0, 1, "ec_cycle: making " + std::to_string(config_.ec_extra_images) + " images without fMRI");
                extra_images_ = images_without_fmri(data_, config_.ec_extra_images, config_.image_size, config_.seed);
            }
            if (!extra_images_.defined() || extra_images_.size(0) == 0) {
                progress_(1, 1, "ec_cycle: this dataset has no images without fMRI; the cycle stage is skipped");
                run_["stages"][name] = {{"done", false}, {"skipped", "no images without fMRI"}};
                write_run_json();
                summary_.stages_skipped.push_back(name);
                continue;
            }
            const torch::Tensor extra_palette = model::palette_of(extra_images_), extra_edges = model::edges_of(extra_images_);
            s.module = net.get();
            s.parameters = net->decoder_parameters();
            s.schedule = config_.ec_cycle;
            s.items = extra_images_.size(0);
            s.step = [&, extra_palette, extra_edges](const torch::Tensor& rows) {
                const torch::Tensor palette = extra_palette.index_select(0, rows), edges = extra_edges.index_select(0, rows);
                torch::Tensor pseudo;
                {
                    torch::NoGradGuard no_grad;   // the encoder is frozen in this stage
                    pseudo = net->encode(palette, edges);
                }
                const auto cycle = net->decode(pseudo);
                // Pairs keep the decoder anchored to real fMRI while it learns from the cycle.
                const torch::Tensor pair_rows = rows.remainder(n_train);
                const torch::Tensor images = data_.train_image.index_select(0, pair_rows);
                const auto paired = net->decode(net->select(data_.train_betas.index_select(0, pair_rows)));
                const torch::Tensor lc = torch::mse_loss(cycle.palette, palette) + torch::mse_loss(cycle.edges, edges);
                const torch::Tensor lp = torch::mse_loss(paired.palette, data_.palettes.index_select(0, images)) +
                                         torch::mse_loss(paired.edges, data_.edges.index_select(0, images));
                return Losses{{"loss", lc + lp}, {"cycle", lc}, {"pairs", lp}};
            };
            s.set_training = [&](bool on) {
                net->train(on);
                net->encoder->eval();
            };
        } else if (name == "baseline") {
            need_embedding(name);
            auto& net = models_.baseline;
            s.module = net.get();
            s.parameters = params(*net);
            s.schedule = config_.baseline;
            s.step = [&](const torch::Tensor& rows) {
                const torch::Tensor images = data_.train_image.index_select(0, rows);
                const auto out = net->forward(data_.train_betas.index_select(0, rows));
                const torch::Tensor embedding = all_rows(out.embedding), caption_out = all_rows(out.caption);
                const torch::Tensor target = all_rows(image_targets(images)), caption = all_rows(caption_targets(images));
                const torch::Tensor le = model::clip_loss(embedding, target, emb->logit_scale.detach()) + (embedding - target).pow(2).sum(1).mean();
                const torch::Tensor lc = model::clip_loss(caption_out, caption, caption_logit_scale()) + (caption_out - caption).pow(2).sum(1).mean();
                const torch::Tensor li = torch::mse_loss(all_rows(out.image), all_rows(data_.images.index_select(0, images)));
                const torch::Tensor lpe = torch::mse_loss(all_rows(out.palette), all_rows(data_.palettes.index_select(0, images))) +
                                          torch::mse_loss(all_rows(out.edges), all_rows(data_.edges.index_select(0, images)));
                return Losses{{"loss", le + lc + li + lpe}, {"embedding", le}, {"caption", lc}, {"image", li}, {"palette_edges", lpe}};
            };
            s.set_training = trainable(*net);
            s.global_loss = true;
        } else if (name == "vae") {
            // The stimuli the subject saw in training plus images without fMRI.
            auto& vae = models_.vae;
            torch::Tensor images = data_.gen_images.index_select(0, train_images_);
            if (config_.vae_extra_images > 0) {
                progress_(0, 1, "vae: making " + std::to_string(config_.vae_extra_images) + " images without fMRI");
                const torch::Tensor extra = images_without_fmri(data_, config_.vae_extra_images, config_.gen_image_size, config_.seed + 1);
                if (extra.defined() && extra.size(0) > 0) images = torch::cat({images, extra}, 0);
            }
            s.module = vae.get();
            s.parameters = params(*vae);
            s.schedule = config_.vae;
            s.items = images.size(0);
            s.step = [&, images](const torch::Tensor& rows) {
                const auto [reconstruction, kl] = model::vae_losses(*vae, images.index_select(0, rows));
                return Losses{{"loss", reconstruction + config_.vae_kl_weight * kl}, {"reconstruction", reconstruction}, {"kl", kl}};
            };
            s.set_training = trainable(*vae);
            s.on_done = [&, images]() {
                // LDM's scale factor: the latents of the training images brought to unit variance.
                torch::NoGradGuard no_grad;
                vae->scale.fill_(1.0);
                const torch::Tensor sample = images.narrow(0, 0, std::min<int64_t>(images.size(0), 1024));
                const torch::Tensor latents = vae->encode(sample).first;
                vae->scale.fill_(1.0 / latents.std().clamp_min(1e-6).item<double>());
            };
        } else if (name == "unet" || name == "adapters") {
            need_embedding(name);
            need(name, "vae");
            if (name == "adapters") need(name, "unet");
            auto& unet = models_.unet;
            auto& adapters = models_.adapters;
            const bool adapter_stage = name == "adapters";
            model::NoiseSchedule schedule(config_.diffusion_steps);
            schedule.to(data_.device);
            s.module = adapter_stage ? static_cast<torch::nn::Module*>(adapters.get()) : unet.get();
            s.parameters = adapter_stage ? params(*adapters) : params(*unet);
            s.schedule = adapter_stage ? config_.adapters : config_.unet;
            // The training images' latents and captions, then (UNet only) captioned phantom scenes
            // the subject never saw, none with a test image's garment: the generator learns what
            // each word draws from images alone, so it is not limited to the fMRI trials.
            torch::Tensor latents = training_latents();
            torch::Tensor captions = data_.captions.index_select(0, train_images_), counts = data_.caption_count.index_select(0, train_images_);
            if (!adapter_stage && config_.unet_extra_images > 0) {
                progress_(0, 1, "unet: making " + std::to_string(config_.unet_extra_images) + " captioned scenes without fMRI");
                const LabelledImages extra = phantom_scenes_without_fmri(data_, config_.unet_extra_images, config_.gen_image_size, config_.seed + 4, true);
                if (extra.defined()) {
                    latents = torch::cat({latents, vae_latents(extra.images())}, 0);
                    const CaptionTokens tokens = tokenize_captions(extra.captions, tokenizer_, config_.max_tokens);
                    captions = torch::cat({captions, tokens.tokens.to(data_.device)}, 0);
                    counts = torch::cat({counts, tokens.count.to(data_.device)}, 0);
                } else {
                    progress_(0, 1, "unet: unet_extra_images needs a phantom dataset (scenes with captions); none added");
                }
            }
            s.items = latents.size(0);
            s.step = [&, schedule, adapter_stage, latents, captions, counts](const torch::Tensor& rows) {
                const torch::Tensor x0 = latents.index_select(0, rows);
                const int64_t b = rows.size(0);
                const torch::Tensor t = integers(config_.diffusion_steps, b);
                const torch::Tensor noise = normal_like(x0);
                const torch::Tensor tokens = caption_rows(captions.index_select(0, rows), draw_caption(counts.index_select(0, rows).clamp_min(1)), config_.max_tokens);
                torch::Tensor features;
                {
                    torch::NoGradGuard no_grad;
                    features = emb->text->token_features(tokens);
                }
                const torch::Tensor drop = uniform(b) < config_.unet_caption_drop;
                const auto [context, mask] = unet->condition(features, tokens != model::CaptionTokenizer::kPad, drop);
                std::vector<torch::Tensor> adapter;
                if (adapter_stage) {
                    const torch::Tensor images = train_images_.index_select(0, rows);
                    const torch::Tensor w_color = (uniform(b) >= config_.adapter_drop).to(torch::kFloat);
                    const torch::Tensor w_edge = (uniform(b) >= config_.adapter_drop).to(torch::kFloat);
                    adapter = adapters->features(data_.palettes.index_select(0, images), data_.edges.index_select(0, images), w_color, w_edge);
                }
                const torch::Tensor predicted = unet->forward(schedule.add_noise(x0, noise, t), t, context, mask, adapter);
                const torch::Tensor squared = (predicted.to(torch::kFloat) - noise).pow(2);
                if (config_.unet_min_snr_gamma <= 0) return Losses{{"loss", squared.mean()}};
                // The weighted loss is what is optimised; the plain ε-MSE stays in the log, comparable across runs.
                return Losses{{"loss", (schedule.min_snr_weight(t, config_.unet_min_snr_gamma, squared) * squared).mean()}, {"eps_mse", squared.mean().detach()}};
            };
            s.set_training = [&, adapter_stage](bool on) {
                unet->train(on && !adapter_stage);
                adapters->train(on && adapter_stage);
            };
            if (adapter_stage)
                for (auto& p : unet->parameters()) p.set_requires_grad(false);
        } else if (name == "sd_adapters") {
            // Mou et al. 2023 (T2I-Adapter) §3.4: the adapters learn with the diffusion model frozen,
            // on its own noise-prediction loss; each row keeps each condition with chance 1 − adapter_drop.
            auto& adapters = models_.sd_adapters;
            pretrained::StableDiffusion& sd = *sd_;
            model::NoiseSchedule schedule(sd.files.train_steps, sd.files.beta_start, sd.files.beta_end);
            schedule.to(data_.device);
            const bool v_prediction = sd.files.prediction == pretrained::Prediction::V;
            const int64_t latent_side = run_["stable_diffusion"]["latent_side"].get<int64_t>();
            const torch::Tensor latents = stable_diffusion_latents();
            s.module = adapters.get();
            s.parameters = params(*adapters);
            s.schedule = config_.sd_adapters;
            s.items = latents.size(0);
            s.step = [&, schedule, latents, latent_side, v_prediction](const torch::Tensor& rows) {
                const torch::Tensor images = train_images_.index_select(0, rows);
                const torch::Tensor x0 = latents.index_select(0, rows);
                const int64_t b = rows.size(0);
                const torch::Tensor t = integers(sd.files.train_steps, b);
                const torch::Tensor noise = normal_like(x0);
                // One of each image's captions, drawn as the other stages draw them, as text for CLIP.
                const torch::Tensor drawn = draw_caption(data_.caption_count.index_select(0, images).clamp_min(1)).cpu();
                const torch::Tensor image_ids = images.cpu();
                std::vector<std::string> captions;
                for (int64_t i = 0; i < b; ++i) {
                    const auto& all = data_.dataset->captions(static_cast<int32_t>(image_ids[i].item<int64_t>()));
                    captions.push_back(all.empty() ? std::string() : all[static_cast<size_t>(std::min<int64_t>(drawn[i].item<int64_t>(), static_cast<int64_t>(all.size()) - 1))]);
                }
                torch::Tensor context;
                {
                    torch::NoGradGuard no_grad;
                    context = sd.encode_captions(captions);
                }
                const torch::Tensor w_color = (uniform(b) >= config_.adapter_drop).to(torch::kFloat);
                const torch::Tensor w_edge = (uniform(b) >= config_.adapter_drop).to(torch::kFloat);
                const auto residuals = adapters->features(data_.palettes.index_select(0, images), data_.edges.index_select(0, images), w_color, w_edge, latent_side);
                const torch::Tensor predicted = sd.unet->forward(schedule.add_noise(x0, noise, t), t, context, residuals).to(torch::kFloat);
                torch::Tensor target = noise;
                if (v_prediction) {   // v = √ᾱ ε − √(1 − ᾱ) x0 (Salimans & Ho 2022)
                    const torch::Tensor alpha_bar = schedule.alpha_bar(t, x0);
                    target = alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * x0;
                }
                return Losses{{"loss", torch::mse_loss(predicted, target)}};
            };
            s.set_training = [&](bool on) { adapters->train(on); };
        } else if (name == "classifier") {
            if (data_.categories == 0) {
                progress_(1, 1, "classifier: this dataset has no category ground truth; the stage is skipped");
                run_["stages"][name] = {{"done", false}, {"skipped", "no categories"}};
                write_run_json();
                summary_.stages_skipped.push_back(name);
                continue;
            }
            auto& net = models_.classifier;
            // The judge's examples: the training stimuli with a known category, then phantom
            // scenes the subject never saw (none with a test image's garment).
            const torch::Tensor labelled = train_images_.index_select(0, (data_.category.index_select(0, train_images_) >= 0).nonzero().flatten());
            const torch::Tensor stimuli = data_.gen_images.index_select(0, labelled);
            torch::Tensor labels = data_.category.index_select(0, labelled);
            torch::Tensor positions = data_.position.defined() ? data_.position.index_select(0, labelled) : torch::zeros({labelled.size(0), 2}, stimuli.options());
            LabelledImages extra;   // rows after the stimuli; kept as bytes, made floats a batch at a time
            if (config_.classifier_extra_images > 0) {
                progress_(0, 1, "classifier: making " + std::to_string(config_.classifier_extra_images) + " labelled scenes without fMRI");
                extra = phantom_scenes_without_fmri(data_, config_.classifier_extra_images, config_.gen_image_size, config_.seed + 2, true);
                if (extra.defined()) {
                    labels = torch::cat({labels, extra.category}, 0);
                    positions = torch::cat({positions, extra.position}, 0);
                    extra.captions.clear();   // the judge reads no captions; the batches keep only the pixels
                }
            }
            const int64_t n_stimuli = stimuli.size(0);
            const auto batch_images = [stimuli, extra = std::move(extra), n_stimuli](const torch::Tensor& rows) {
                if (!extra.defined()) return stimuli.index_select(0, rows);
                const torch::Tensor is_stimulus = rows < n_stimuli;
                torch::Tensor x = torch::empty({rows.size(0), stimuli.size(1), stimuli.size(2), stimuli.size(3)}, stimuli.options());
                x.index_put_({is_stimulus}, stimuli.index_select(0, rows.masked_select(is_stimulus)));
                x.index_put_({~is_stimulus}, extra.images(rows.masked_select(~is_stimulus) - n_stimuli));
                return x;
            };
            const bool regress_position = net->reads_position() && data_.position.defined();
            s.module = net.get();
            s.parameters = params(*net);
            s.schedule = config_.classifier;
            s.items = labels.size(0);
            s.step = [&, batch_images, labels, positions, regress_position](const torch::Tensor& rows) {
                torch::Tensor x = batch_images(rows), where = positions.index_select(0, rows);
                // Mirrored half of the time: a garment's category does not depend on its side.
                const torch::Tensor flip = (uniform(x.size(0)) < 0.5);
                x = torch::where(flip.view({-1, 1, 1, 1}), x.flip({3}), x);
                where = torch::where(flip.view({-1, 1}), where * torch::tensor({-1.0f, 1.0f}, where.options()), where);
                const model::JudgeOutput out = net->judge(x);
                const torch::Tensor truth = labels.index_select(0, rows);
                const torch::Tensor accuracy = (out.logits.argmax(1) == truth).to(torch::kFloat).mean();
                torch::Tensor loss = torch::cross_entropy_loss(out.logits.to(torch::kFloat), truth);
                Losses losses{{"accuracy", accuracy.detach()}};
                if (regress_position) {
                    const torch::Tensor lp = torch::mse_loss(out.position.to(torch::kFloat), where);
                    loss = loss + lp;
                    losses["position"] = lp.detach();
                }
                losses["loss"] = loss;
                return losses;
            };
            s.held_out = [&, regress_position]() {
                // Validation: phantom scenes of another seed, none with a test image's garment.
                const LabelledImages check = phantom_scenes_without_fmri(data_, kJudgeValidationImages, config_.gen_image_size, config_.seed + 3, true);
                if (!check.defined()) return nlohmann::json::object();
                const model::JudgeOutput out = net->judge(check.images());
                nlohmann::json scores = {{"images", check.pixels.size(0)},
                                         {"category_accuracy", (out.logits.argmax(1) == check.category).to(torch::kFloat).mean().item<double>()}};
                if (regress_position) scores["position_error"] = (out.position - check.position).norm(2, 1).mean().item<double>();
                return scores;
            };
            s.set_training = trainable(*net);
        }
        run_stage(s);
    }
    summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return summary_;
}

}  // namespace

TrainSummary train_encoders(const TrainOptions& options, const Progress& progress, const std::function<void(const TrainMetrics&)>& on_metrics) {
    Trainer trainer(options, progress, on_metrics);
    try {
        return trainer.run();
    } catch (const std::exception& e) {
        trainer.discard_unstarted_run();
        if (!is_out_of_memory(e)) throw;
        throw Error(options.config, "asks for more memory than this machine has, " + trainer.activity() + ": " + out_of_memory_text(e) +
                                        "; make its sizes smaller (widths, patches, token readouts, batch_size)");
    }
}

}  // namespace soul
