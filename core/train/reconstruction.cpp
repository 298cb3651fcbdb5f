// The reconstruction pipeline (see reconstruction.h) and the engine's reconstruct call.
#include "reconstruction.h"

#include "../model/targets.h"
#include "soul/error.h"
#include "soul/runtime.h"

#include <chrono>

namespace soul::train {

namespace F = torch::nn::functional;

namespace {

// Groups of NSD streams (design.md §4.1): each pathway with its mid-level part.
const std::vector<std::pair<std::string, std::vector<int>>> kGroups = {
    {"ventral-all", {2, 5}},    // midventral + ventral: the "what" pathway
    {"lateral-all", {3, 6}},    // midlateral + lateral
    {"dorsal", {4, 7}},         // midparietal + parietal: the "where" pathway
};

uint64_t mix(uint64_t x) {   // SplitMix64's finaliser: well-spread seeds from small integers
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

uint64_t trial_key(const TrialRef& trial) { return (trial.split == Split::Test ? 0x8000000000000000ULL : 0) | static_cast<uint64_t>(trial.row); }

Pipeline::Pipeline(const std::string& run_folder, const std::string& data, torch::Device dev)
    : run(load_run(run_folder, data, dev)), device(dev), generator_(run.config, run.models, dev) {
    torch::NoGradGuard no_grad;
    for (const char* stage : {"embedding", "ssmnet", "sembert", "vae", "unet", "adapters"})
        if (!has(stage)) throw Error(run_folder, std::string("has no trained '") + stage + "' stage; reconstruction needs the encoders and the generator");
    if (!has("ec_decoder")) throw Error(run_folder, "has no trained EdgeColorNet (stage 'ec_decoder'); reconstruction needs it");
    train_mean = run.data.train_betas.mean(0);
    bank = training_captions(*run.data.dataset);
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
    for (const auto& [name, codes] : kGroups) {
        torch::Tensor mask = torch::zeros_like(stream, torch::kBool);
        for (int code : codes) mask |= stream == code;
        if (mask.any().item<bool>()) {
            names_.push_back(name);
            masks_[name] = mask;
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
    for (const TrialRef& t : trials) {
        const torch::Tensor& all = t.split == Split::Test ? run.data.test_betas : run.data.train_betas;
        if (t.row < 0 || t.row >= all.size(0))
            throw Error(run.data.dataset->manifest().path, "has no " + std::string(t.split == Split::Test ? "test" : "training") + " row " +
                                                                std::to_string(t.row) + " (it has " + std::to_string(all.size(0)) + ")");
        rows.push_back(all[t.row]);
    }
    return torch::stack(rows);
}

torch::Tensor Pipeline::ablate(const torch::Tensor& b, const std::vector<std::string>& names) const {
    if (names.empty()) return b;
    torch::Tensor mask = torch::zeros_like(train_mean, torch::kBool);
    for (const auto& name : names) mask |= voxel_mask(name);
    return torch::where(mask.unsqueeze(0), train_mean.unsqueeze(0).expand_as(b), b);
}

int64_t Pipeline::image_of(const TrialRef& trial) const {
    return (trial.split == Split::Test ? run.data.test_image : run.data.train_image)[trial.row].item<int64_t>();
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

torch::Tensor Pipeline::nearest_caption(const torch::Tensor& caption_embedding) const {
    return torch::matmul(caption_embedding.detach(), bank_embedding.t()).argmax(1);
}

GenerationConditions Pipeline::conditions(const DecodedConditions& d, const ReconstructionSettings& s, const std::vector<uint64_t>& keys) const {
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
            torch::manual_seed(mix(s.seed ^ mix(key ^ mix(static_cast<uint64_t>(k)))));
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

GenerationSettings generation_settings(const ReconstructionSettings& s) {
    GenerationSettings g;
    g.steps = s.steps;
    g.cfg = s.cfg;
    g.eta = s.eta;
    g.strength = s.strength;
    g.w_color = s.w_color;
    g.w_edge = s.w_edge;
    g.seed = s.seed;
    g.decode_previews = s.previews;
    return g;
}

void check_settings(const ReconstructionSettings& s) {
    if (s.samples < 1 || s.samples > 16) throw Error("reconstruct: --samples must be in [1, 16]");
    if (s.steps < 1 || s.steps > 1000) throw Error("reconstruct: --steps must be in [1, 1000]");
    if (s.strength < 0 || s.strength > 1) throw Error("reconstruct: --strength must be in [0, 1]");
    if (s.eta < 0 || s.eta > 1) throw Error("reconstruct: --eta must be in [0, 1]");
    if (s.cfg < 0 || s.cfg > 50) throw Error("reconstruct: --cfg must be in [0, 50]");
}

}  // namespace soul::train
