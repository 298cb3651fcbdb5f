// The reconstruction pipeline (see reconstruction.h) and the engine's reconstruct call.
#include "pipeline.h"

#include "../model/targets.h"
#include "soul/error.h"
#include "soul/nsd_layout.h"
#include "soul/runtime.h"

#include <chrono>
#include <filesystem>
#include <limits>
#include <utility>

namespace soul::infer {

using namespace soul::train;

namespace F = torch::nn::functional;

uint64_t validation_key(int64_t image) { return 0x4000000000000000ULL | static_cast<uint64_t>(image); }

uint64_t trial_key(const TrialRef& trial) { return (trial.split == Split::Test ? 0x8000000000000000ULL : 0) | static_cast<uint64_t>(trial.row); }

Pipeline::Pipeline(const std::string& run_folder, const std::string& data, torch::Device dev, const std::vector<std::string>& plugin_dirs)
    : run(load_run(run_folder, data, dev, BetasAccess::Mapped)), device(dev), run_folder_(run_folder) {
    torch::NoGradGuard no_grad;
    for (const char* stage : {"embedding", "ssmnet", "sembert"})
        if (!has(stage)) throw Error(run_folder, std::string("has no trained '") + stage + "' stage; reconstruction needs the encoders");
    // A run trained for Stable Diffusion (models/configs/nsd-subj01-sd15.json) may have no generator of its own.
    if (has("vae") && has("unet") && has("adapters")) use_own_generator();
    if (!has("ec_decoder")) throw Error(run_folder, "has no trained EdgeColorNet (stage 'ec_decoder'); reconstruction needs it");
    decoders_["souldiffuser"] = make_souldiffuser_decoder(run.models);
    if (has("baseline")) decoders_["mlp"] = make_flat_mlp_decoder(run.models);
    decoders_["ridge"] = make_ridge_decoder(run);
    plugins_ = find_decoder_plugins(plugin_dirs, plugin_problems_);
    caption_space_ = caption_space(run);
    train_mean = run.data.train_betas.mean(0);
    train::CaptionBank b = train::caption_bank(run);
    bank = std::move(b.captions);
    bank_image = std::move(b.image);
    bank_tokens = b.tokens;
    bank_embedding = b.embedding;

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
    const torch::Tensor stored = (generator_size ? run.data.gen_images : run.data.images).index_select(0, torch::tensor(images, torch::kLong).to(device));
    const int64_t g = generator().image_size();
    if (!generator_size || stored.size(-1) == g) return stored;
    return F::interpolate(stored.to(torch::kFloat32), F::InterpolateFuncOptions().size(std::vector<int64_t>{g, g}).mode(torch::kBilinear).align_corners(false))
        .clamp(0, 1);
}

Generator& Pipeline::generator() { return const_cast<Generator&>(std::as_const(*this).generator()); }

const Generator& Pipeline::generator() const {
    if (!generator_)
        throw Error(run_folder_, "has no generator of its own (stages vae, unet and adapters are not all trained): give Stable Diffusion with --sd");
    return *generator_;
}

void Pipeline::use_own_generator() {
    if (!has("vae") || !has("unet") || !has("adapters"))
        throw Error(run_folder_, "has no generator of its own (stages vae, unet and adapters are not all trained)");
    generator_ = make_run_generator(run.config, run.models, device);
    generator_models_.reset();
}

void Pipeline::use_generator(LoadedGenerator generator) {
    generator_ = std::move(generator.generator);
    generator_models_ = std::move(generator.models);
}

DecodedConditions Pipeline::decode(const torch::Tensor& b) { return decoders_.at("souldiffuser")->decode(b, {}); }

std::vector<std::string> Pipeline::plugin_names() const {
    std::vector<std::string> names;
    for (const DecoderPlugin& plugin : plugins_)
        if (plugin_mismatch(plugin, run, caption_space_).empty()) names.push_back(plugin.name);
    return names;
}

std::vector<std::string> Pipeline::decoder_names() const {
    std::vector<std::string> names = {"souldiffuser"};
    if (decoders_.count("mlp")) names.push_back("mlp");
    names.push_back("ridge");
    for (const std::string& name : plugin_names()) names.push_back(name);
    names.push_back("baseline");
    return names;
}

std::vector<DecoderInfo> Pipeline::decoder_list() const {
    std::vector<DecoderInfo> list;
    for (const char* name : {"souldiffuser", "mlp", "ridge"})
        if (decoders_.count(name)) list.push_back({name, decoders_.at(name)->title(), "built in", ""});
    for (const DecoderPlugin& plugin : plugins_) list.push_back({plugin.name, plugin.title, plugin.folder, plugin_mismatch(plugin, run, caption_space_)});
    for (const std::string& problem : plugin_problems_) list.push_back({"", "", "", problem});
    return list;
}

BrainDecoder& Pipeline::decoder(const std::string& name) {
    const std::string key = name == "baseline" ? (decoders_.count("mlp") ? "mlp" : "ridge") : name;
    if (const auto it = decoders_.find(key); it != decoders_.end()) return *it->second;
    for (const DecoderPlugin& plugin : plugins_) {
        if (plugin.name != key) continue;
        const std::string mismatch = plugin_mismatch(plugin, run, caption_space_);
        if (!mismatch.empty())
            throw Error((std::filesystem::path(plugin.folder) / kDecoderPluginManifest).string(), "decoder plugin '" + key + "' cannot decode for this run: " + mismatch);
        return *(decoders_[key] = make_plugin_decoder(plugin, run, device));
    }
    throw Error("reconstruct: --decoder '" + name + "' is not a decoder of this run (it has: " + join(decoder_names(), ", ") + ")");
}

std::string Pipeline::baseline_name() const { return decoders_.at(decoders_.count("mlp") ? "mlp" : "ridge")->title(); }

DecodedConditions Pipeline::decode_with(const std::string& name, const torch::Tensor& b, const Progress& progress) {
    return decoder(name).decode(b, progress);
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
    if (s.use_caption && d.caption.defined()) {
        const torch::Tensor nearest = nearest_caption(d.caption).cpu();
        for (int64_t i = 0; i < trials; ++i)
            for (int64_t k = 0; k < n; ++k) c.captions.push_back(bank[static_cast<size_t>(nearest[i].item<int64_t>())]);
        c.tokens = repeat(bank_tokens.index_select(0, nearest.to(device)));
    }
    const bool adapters = generator().takes_palette_and_edges();
    if (s.use_palette && adapters && d.palette.defined()) c.palette = repeat(d.palette);
    if (s.use_edges && adapters && d.edges.defined()) c.edges = repeat(d.edges);
    const int64_t g = generator().image_size();
    if (s.use_init && d.low_level.defined())
        c.init = repeat(F::interpolate(d.low_level, F::InterpolateFuncOptions().size(std::vector<int64_t>{g, g}).mode(torch::kBilinear).align_corners(false))
                            .clamp(0, 1));
    std::vector<torch::Tensor> noise;
    std::vector<int64_t> shape = generator().noise_shape();
    shape.insert(shape.begin(), 1);
    for (uint64_t key : keys)
        for (int64_t k = 0; k < n; ++k) {
            torch::manual_seed(splitmix64(s.seed ^ splitmix64(key ^ splitmix64(static_cast<uint64_t>(k)))));
            noise.push_back(torch::randn(shape));   // on the CPU: the same on every device
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
    if (s.decoder.empty()) throw Error("reconstruct: --decoder must name a decoder (souldiffuser, mlp, ridge, baseline or a plugin)");
}

}  // namespace soul::infer
