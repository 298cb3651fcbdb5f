// The reconstruction pipeline (see reconstruction.h) and the engine's reconstruct call.
#include "pipeline.h"

#include "../model/targets.h"
#include "soul/error.h"
#include "soul/nsd_layout.h"
#include "soul/runtime.h"

#include <chrono>
#include <limits>

namespace soul::infer {

using namespace soul::train;

namespace F = torch::nn::functional;

uint64_t validation_key(int64_t image) { return 0x4000000000000000ULL | static_cast<uint64_t>(image); }

uint64_t trial_key(const TrialRef& trial) { return (trial.split == Split::Test ? 0x8000000000000000ULL : 0) | static_cast<uint64_t>(trial.row); }

Pipeline::Pipeline(const std::string& run_folder, const std::string& data, torch::Device dev)
    : run(load_run(run_folder, data, dev)), device(dev), generator_(run.config, run.models, dev) {
    torch::NoGradGuard no_grad;
    for (const char* stage : {"embedding", "ssmnet", "sembert", "vae", "unet", "adapters"})
        if (!has(stage)) throw Error(run_folder, std::string("has no trained '") + stage + "' stage; reconstruction needs the encoders and the generator");
    if (!has("ec_decoder")) throw Error(run_folder, "has no trained EdgeColorNet (stage 'ec_decoder'); reconstruction needs it");
    train_mean = run.data.train_betas.mean(0);
    bank = training_captions(run.data, &bank_image);
    std::vector<int64_t> ids;
    ids.reserve(bank.size() * static_cast<size_t>(run.config.max_tokens));
    for (const auto& caption : bank) {
        const auto t = run.tokenizer.encode(caption, run.config.max_tokens);
        ids.insert(ids.end(), t.begin(), t.end());
    }
    bank_tokens = torch::tensor(ids, torch::kLong).view({static_cast<int64_t>(bank.size()), run.config.max_tokens}).to(device);
    std::vector<torch::Tensor> parts;
    constexpr int64_t kChunk = 512;
    for (int64_t i = 0; i < bank_tokens.size(0); i += kChunk)
        parts.push_back(run.models.embedding->text(bank_tokens.narrow(0, i, std::min(kChunk, bank_tokens.size(0) - i))));
    bank_embedding = torch::cat(parts, 0);

    const torch::Tensor stream = torch::tensor(std::vector<int64_t>(run.data.stream.begin(), run.data.stream.end()), torch::kLong).to(device);
    for (const model::Region& region : model::stream_regions(run.data.stream)) {
        names_.push_back(region.name);
        masks_[region.name] = stream == region.codes.front();
    }
    for (const nsd::PathwayGroup& group : nsd::kPathwayGroups) {
        const torch::Tensor mask = (stream == static_cast<int64_t>(group.mid)) | (stream == static_cast<int64_t>(group.high));
        if (mask.any().item<bool>()) {
            names_.push_back(group.name);
            masks_[group.name] = mask;
        }
    }
}

bool Pipeline::has(const std::string& stage) const { return std::count(run.trained.begin(), run.trained.end(), stage) > 0; }

torch::Tensor Pipeline::voxel_mask(const std::string& name) const {
    const auto it = masks_.find(name);
    if (it == masks_.end()) throw Error("reconstruct: unknown stream or group '" + name + "' (this dataset has: " + join(names_, ", ") + ")");
    return it->second;
}

torch::Tensor Pipeline::betas(const std::vector<TrialRef>& trials) const {
    std::vector<torch::Tensor> rows;
    const PreparedDataset& d = *run.data.dataset;
    for (const TrialRef& t : trials) {
        // The dataset's own rows (a run with a validation split trains on fewer).
        if (t.row < 0 || t.row >= d.size(t.split))
            throw Error(d.manifest().path, "has no " + std::string(t.split == Split::Test ? "test" : "training") + " row " + std::to_string(t.row) +
                                               " (it has " + std::to_string(d.size(t.split)) + ")");
        rows.push_back(torch::from_blob(const_cast<float*>(d.betas(t.split, t.row)), {d.voxels()}, torch::kFloat));
    }
    return torch::stack(rows).to(device);
}

torch::Tensor Pipeline::ablate(const torch::Tensor& b, const std::vector<std::string>& names) const {
    if (names.empty()) return b;
    torch::Tensor mask = torch::zeros_like(train_mean, torch::kBool);
    for (const auto& name : names) mask |= voxel_mask(name);
    return torch::where(mask.unsqueeze(0), train_mean.unsqueeze(0).expand_as(b), b);
}

int64_t Pipeline::image_of(const TrialRef& trial) const {
    return run.data.dataset->image_of(trial.split, trial.row);
}

torch::Tensor Pipeline::stimulus(const std::vector<TrialRef>& trials, bool generator_size) const {
    std::vector<int64_t> images;
    for (const auto& t : trials) images.push_back(image_of(t));
    return (generator_size ? run.data.gen_images : run.data.images).index_select(0, torch::tensor(images, torch::kLong).to(device));
}

DecodedConditions Pipeline::decode(const torch::Tensor& b) {
    auto& m = run.models;
    DecodedConditions d;
    const model::SSMNetOutput s = m.ssmnet->forward(b);
    d.embedding = s.embedding;
    d.low_level = s.image;
    d.caption = m.sembert->forward(b);
    const model::EdgeColorOutput e = m.edgecolor->forward(b);
    d.palette = e.palette;
    d.edges = e.edges;
    return d;
}

std::string Pipeline::baseline_name() const { return has("baseline") ? "flattened baseline (MLP)" : "ridge regression"; }

DecodedConditions Pipeline::decode_baseline(const torch::Tensor& b, const Progress& progress) {
    if (!has("baseline")) return decode_ridge(b, progress);
    const model::FlatOutput f = run.models.baseline->forward(b);
    return {f.embedding, f.image, f.caption, f.palette, f.edges};
}

DecodedConditions Pipeline::decode_with(const std::string& decoder, const torch::Tensor& b, const Progress& progress) {
    if (decoder == "souldiffuser") return decode(b);
    return decode_baseline(b, progress);   // check_settings() admits only these two
}

namespace {

// Voxels per block of the kernel products: bounds the copies, and a cancelled fit stops within one
// block (about 0.1 s on 2 cores).
constexpr int64_t kKernelChunk = 1024;
const std::vector<double> kRidgeLambdas = {1, 10, 100, 1e3, 1e4, 1e5};   // penalties on standardised betas
constexpr double kRidgeValidation = 0.2;   // the last fifth of the training rows chooses the penalty

}  // namespace

torch::Tensor Pipeline::standardised_block(const torch::Tensor& b, int64_t first, int64_t width) const {
    return (b.narrow(1, first, width) - ridge_mean_.narrow(0, first, width)) * ridge_scale_.narrow(0, first, width);
}

torch::Tensor Pipeline::ridge_kernel(const torch::Tensor& b) const {
    const torch::Tensor& x = run.data.train_betas;
    torch::Tensor k = torch::zeros({b.size(0), x.size(0)}, b.options().dtype(torch::kFloat64));
    for (int64_t c = 0; c < x.size(1); c += kKernelChunk) {
        const int64_t w = std::min(kKernelChunk, x.size(1) - c);
        k += torch::mm(standardised_block(b, c, w), standardised_block(x, c, w).t()).to(torch::kFloat64);
    }
    return k;
}

void Pipeline::fit_ridge(const Progress& progress) {
    torch::NoGradGuard no_grad;
    const TrainData& d = run.data;
    const torch::Tensor& x = d.train_betas;
    const int64_t n = x.size(0), voxels = x.size(1);
    if (!ridge_mean_.defined()) {
        ridge_mean_ = x.mean(0);
        ridge_scale_ = 1.0 / x.std(0, /*unbiased=*/false).clamp_min(1e-8);
        ridge_gram_ = torch::zeros({n, n}, x.options().dtype(torch::kFloat64));
        ridge_gram_voxels_ = 0;
    }
    // The training kernel, a block of voxels at a time. A cancelled fit keeps the blocks it has
    // summed, and the next call goes on from there: the studio asks again with every trial.
    while (ridge_gram_voxels_ < voxels) {
        progress.check();
        const int64_t w = std::min(kKernelChunk, voxels - ridge_gram_voxels_);
        const torch::Tensor block = standardised_block(x, ridge_gram_voxels_, w);
        ridge_gram_ += torch::mm(block, block.t()).to(torch::kFloat64);
        ridge_gram_voxels_ += w;
    }
    const torch::Tensor kernel = ridge_gram_;
    // The targets: each training row's image at the encoders' size, its captions' mean embedding,
    // palette and edges, flattened side by side.
    const torch::Tensor caption = mean_caption_embedding(run.models.embedding, d, d.train_image);
    std::vector<torch::Tensor> parts;
    for (const torch::Tensor& t : {d.images.index_select(0, d.train_image), caption, d.palettes.index_select(0, d.train_image),
                                   d.edges.index_select(0, d.train_image)})
        parts.push_back(t.to(torch::kFloat64).flatten(1));
    const torch::Tensor y = torch::cat(parts, 1);
    ridge_y_mean_ = y.mean(0);
    const torch::Tensor centred = y - ridge_y_mean_;
    auto solve = [](const torch::Tensor& k, const torch::Tensor& target, double lambda) {
        const torch::Tensor l = torch::linalg_cholesky(k + lambda * torch::eye(k.size(0), k.options()));
        return torch::cholesky_solve(target, l);
    };
    const int64_t held = static_cast<int64_t>(static_cast<double>(n) * kRidgeValidation), fit = n - held;
    ridge_lambda_ = kRidgeLambdas.front();
    double best = std::numeric_limits<double>::infinity();
    for (double lambda : kRidgeLambdas) {
        progress.check();
        const torch::Tensor alpha = solve(kernel.narrow(0, 0, fit).narrow(1, 0, fit), centred.narrow(0, 0, fit), lambda);
        const double error = (kernel.narrow(0, fit, held).narrow(1, 0, fit).mm(alpha) - centred.narrow(0, fit, held)).pow(2).mean().item<double>();
        if (error < best) {
            best = error;
            ridge_lambda_ = lambda;
        }
    }
    ridge_alpha_ = solve(kernel, centred, ridge_lambda_);
    ridge_gram_ = torch::Tensor();
}

DecodedConditions Pipeline::decode_ridge(const torch::Tensor& b, const Progress& progress) {
    if (!ridge_alpha_.defined()) fit_ridge(progress);
    torch::NoGradGuard no_grad;
    const torch::Tensor y = (ridge_kernel(b.to(torch::kFloat)).mm(ridge_alpha_) + ridge_y_mean_).to(torch::kFloat);
    const int64_t m = b.size(0), s = run.config.image_size, dim = bank_embedding.size(1);
    int64_t at = 0;
    auto take = [&](int64_t width) {
        const torch::Tensor t = y.narrow(1, at, width);
        at += width;
        return t;
    };
    DecodedConditions out;
    out.low_level = take(3 * s * s).reshape({m, 3, s, s}).clamp(0, 1);
    out.caption = F::normalize(take(dim), F::NormalizeFuncOptions().dim(1));
    out.palette = take(3 * model::kPaletteSide * model::kPaletteSide).reshape({m, 3, model::kPaletteSide, model::kPaletteSide}).clamp(0, 1);
    out.edges = take(s * s).reshape({m, 1, s, s}).clamp(0, 1);
    return out;
}

torch::Tensor Pipeline::nearest_caption(const torch::Tensor& caption_embedding) const {
    return torch::matmul(caption_embedding.detach(), bank_embedding.t()).argmax(1);
}

GenerationConditions Pipeline::conditions(const DecodedConditions& d, const SamplerSettings& s, const std::vector<uint64_t>& keys) const {
    torch::NoGradGuard no_grad;
    const int64_t trials = static_cast<int64_t>(keys.size()), n = s.samples;
    auto repeat = [&](const torch::Tensor& x) { return x.detach().repeat_interleave(n, 0); };
    GenerationConditions c;
    c.batch = trials * n;
    if (s.use_caption) c.tokens = repeat(bank_tokens.index_select(0, nearest_caption(d.caption)));
    if (s.use_palette && has("adapters")) c.palette = repeat(d.palette);
    if (s.use_edges && has("adapters")) c.edges = repeat(d.edges);
    const int64_t g = run.config.gen_image_size;
    if (s.use_init)
        c.init = repeat(F::interpolate(d.low_level, F::InterpolateFuncOptions().size(std::vector<int64_t>{g, g}).mode(torch::kBilinear).align_corners(false))
                            .clamp(0, 1));
    std::vector<torch::Tensor> noise;
    const int64_t side = g / 4;
    for (uint64_t key : keys)
        for (int64_t k = 0; k < n; ++k) {
            torch::manual_seed(splitmix64(s.seed ^ splitmix64(key ^ splitmix64(static_cast<uint64_t>(k)))));
            noise.push_back(torch::randn({1, run.config.latent_channels, side, side}));   // on the CPU: the same on every device
        }
    c.noise = torch::cat(noise, 0).to(device);
    return c;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

void check_settings(const ReconstructionSettings& s) {
    validate(s.sampler, "reconstruct");
    if (s.decoder != "souldiffuser" && s.decoder != "baseline")
        throw Error("reconstruct: --decoder must be souldiffuser or baseline, not '" + s.decoder + "'");
}

}  // namespace soul::infer
