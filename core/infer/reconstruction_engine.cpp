// `souldiffuser reconstruct` and the engine's reconstruct call (see soul/reconstruct.h).
#include "soul/reconstruct.h"

#include "pipeline.h"
#include "settings_json.h"
#include "soul/error.h"
#include "soul/json_text.h"
#include "soul/nsd_layout.h"
#include "soul/output_folder.h"
#include "soul/runtime.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {

using namespace soul::infer;
using namespace soul::train;

namespace {

constexpr int64_t kTrialsPerBatch = 8;   // trials denoised together (with their samples)

// An 8×8 palette or a one-channel map as an RGB image.
RgbImage map_image(const torch::Tensor& x) { return to_rgb_image(x.size(0) == 1 ? x.expand({3, -1, -1}) : x); }

}  // namespace

std::vector<std::vector<std::string>> dissociation_pathways(const std::vector<std::string>& known) {
    auto has = [&](const std::string& name) { return std::find(known.begin(), known.end(), name) != known.end(); };
    std::vector<std::vector<std::string>> rows = {{}};
    for (const char* group : nsd::kStreamGroups)
        if (has(group)) rows.push_back({group});
    // The two category streams together: the ventral stream's loss, unmasked by the lateral one.
    if (has(nsd::kVentralGroup) && has(nsd::kLateralGroup)) rows.push_back({nsd::kVentralGroup, nsd::kLateralGroup});
    return rows;
}

std::string pathway_name(const std::vector<std::string>& groups) { return groups.empty() ? "none" : infer::join(groups, " + "); }

ReconstructionEngine::ReconstructionEngine(const std::string& run, const std::string& data, const std::string& device,
                                           const std::vector<std::string>& plugin_dirs) {
    init_compute_threads();
    impl_ = std::make_unique<Impl>(run, data, choose_device(device), plugin_dirs);
}

ReconstructionEngine::~ReconstructionEngine() = default;

const PreparedDataset& ReconstructionEngine::dataset() const { return *impl_->pipeline.run.data.dataset; }
std::string ReconstructionEngine::device() const { return impl_->pipeline.device.str(); }
std::vector<std::string> ReconstructionEngine::stream_groups() const { return impl_->pipeline.stream_groups(); }
bool ReconstructionEngine::has_baseline() const { return impl_->pipeline.has("baseline"); }
std::string ReconstructionEngine::baseline_name() const { return impl_->pipeline.baseline_name(); }
std::vector<DecoderInfo> ReconstructionEngine::decoders() const { return impl_->pipeline.decoder_list(); }
std::string ReconstructionEngine::generator_title() const {
    return impl_->pipeline.has_generator() ? impl_->pipeline.generator().title() : "none of its own (give Stable Diffusion)";
}

void ReconstructionEngine::use_stable_diffusion(const StableDiffusionOptions& options) {
    impl_->pipeline.use_generator(load_stable_diffusion_generator(options, impl_->pipeline.device, &impl_->pipeline.run.models));
}

void ReconstructionEngine::use_own_generator() { impl_->pipeline.use_own_generator(); }

std::vector<Reconstruction> ReconstructionEngine::reconstruct(const std::vector<TrialRef>& trials, const ReconstructionSettings& s,
                                                              const Progress& progress,
                                                              const std::function<void(size_t, const DenoisePreview&)>& on_step) {
    check_settings(s);
    Pipeline& p = impl_->pipeline;
    const SamplerSettings& sampler = s.sampler;
    std::vector<Reconstruction> out;
    const int64_t total = static_cast<int64_t>(trials.size());
    int64_t count = sampler.steps;   // denoising steps per trial (fewer with an img2img start)
    for (int64_t first = 0; first < total; first += kTrialsPerBatch) {
        progress.check();
        const auto started = std::chrono::steady_clock::now();
        const std::vector<TrialRef> batch(trials.begin() + first, trials.begin() + std::min(total, first + kTrialsPerBatch));
        const int64_t b = static_cast<int64_t>(batch.size());
        DecodedConditions decoded;
        {
            c10::InferenceMode inference;
            decoded = p.decode_with(s.decoder, p.ablate(p.betas(batch), s.ablate), progress);
        }
        std::vector<uint64_t> keys;
        for (const auto& t : batch) keys.push_back(trial_key(t));
        const bool decode_previews = s.previews && static_cast<bool>(on_step);
        const torch::Tensor images = p.generator().generate(p.conditions(decoded, sampler, keys), sampler, [&](const DenoiseFrame& f) {
            progress.check();
            count = f.count;
            progress(first * f.count + (f.index + 1) * b, total * f.count,
                     "trials " + std::to_string(first + 1) + "–" + std::to_string(first + b) + ": step " + std::to_string(f.index + 1) + "/" +
                         std::to_string(f.count));
            if (!on_step || !f.noisy.defined()) return;
            for (int64_t r = 0; r < b * sampler.samples; ++r)
                on_step(static_cast<size_t>(first + r / sampler.samples),
                        DenoisePreview{r % sampler.samples, f.index, f.count, to_rgb_image(f.noisy[r]), to_rgb_image(f.predicted[r])});
        }, decode_previews);
        const torch::Tensor stimulus = p.stimulus(batch, true);
        const torch::Tensor caption = decoded.caption.defined() ? p.nearest_caption(decoded.caption) : torch::Tensor();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / static_cast<double>(b);
        for (int64_t i = 0; i < b; ++i) {
            Reconstruction r;
            r.trial = batch[static_cast<size_t>(i)];
            r.image = static_cast<int32_t>(p.image_of(r.trial));
            r.nsd_id = dataset().nsd_id(r.image);
            r.stimulus = to_rgb_image(stimulus[i]);
            for (int64_t k = 0; k < sampler.samples; ++k) r.samples.push_back(to_rgb_image(images[i * sampler.samples + k]));
            if (caption.defined()) r.caption = p.bank[static_cast<size_t>(caption[i].item<int64_t>())];
            r.true_captions = dataset().captions(r.image);
            if (decoded.palette.defined()) r.palette = map_image(decoded.palette[i]);
            if (decoded.edges.defined()) r.edges = map_image(decoded.edges[i]);
            if (decoded.low_level.defined()) r.low_level = to_rgb_image(decoded.low_level[i]);
            r.seconds = seconds;
            r.decoder = p.decoder(s.decoder).title();
            out.push_back(std::move(r));
        }
        progress(std::min(total, first + b) * count, total * count, "reconstructed " + std::to_string(std::min(total, first + b)) + " of " + std::to_string(total));
    }
    return out;
}

std::vector<std::string> reconstruct_trials(const ReconstructOptions& o, const Progress& progress) {
    if (o.run.empty() || o.out.empty()) throw Error("reconstruct: --model RUN and --out DIR are required");
    if (o.test && !o.trials.empty()) throw Error("reconstruct: give --trials or --test, not both");
    check_settings(o.settings);
    Steps report(progress, o.contributions ? 3 : 2);
    report("loading " + o.run + " and its dataset");
    ReconstructionEngine engine(o.run, o.data, o.device, decoder_plugin_dirs(o.plugins));
    if (o.stable_diffusion.used()) engine.use_stable_diffusion(o.stable_diffusion);
    std::vector<TrialRef> trials;
    if (o.test)
        for (int64_t r = 0; r < engine.dataset().size(Split::Test); ++r) trials.push_back({Split::Test, r});
    else
        trials = o.trials.empty() ? std::vector<TrialRef>{{Split::Test, 0}} : parse_trials(o.trials, engine.dataset());
    const auto known = engine.stream_groups();
    for (const auto& name : o.settings.ablate)
        if (std::find(known.begin(), known.end(), name) == known.end())
            throw Error("reconstruct: --ablate: unknown stream or group '" + name + "' (this dataset has: " + join(known, ", ") + ")");
    report("reconstructing " + std::to_string(trials.size()) + " trial(s)");
    std::map<size_t, std::vector<DenoisePreview>> previews;
    const auto results = engine.reconstruct(trials, o.settings, progress, [&](size_t trial, const DenoisePreview& p) { previews[trial].push_back(p); });
    std::vector<std::string> folders;
    for (size_t i = 0; i < results.size(); ++i) {
        const Reconstruction& r = results[i];
        char name[64];
        std::snprintf(name, sizeof name, "trial-%s-%04lld", split_name(r.trial.split).c_str(), static_cast<long long>(r.trial.row));
        const fs::path dir = fs::path(o.out) / name;
        make_output_folder(dir);
        for (size_t k = 0; k < r.samples.size(); ++k) write_png((dir / ("reconstruction-" + std::to_string(k) + ".png")).string(), r.samples[k]);
        write_png((dir / "stimulus.png").string(), r.stimulus);
        // What the decoder read from the betas (a plugin may give only some of it).
        for (const auto& [file, image] : {std::pair<const char*, const RgbImage*>{"low-level.png", &r.low_level}, {"palette.png", &r.palette}, {"edges.png", &r.edges}})
            if (!image->pixels.empty()) write_png((dir / file).string(), *image);
        if (!r.caption.empty()) write_file_atomically((dir / "caption.txt").string(), r.caption + "\n");
        for (const auto& p : previews[i]) {
            char step[64];
            std::snprintf(step, sizeof step, "previews/sample-%lld-step-%03lld-", static_cast<long long>(p.sample), static_cast<long long>(p.step));
            fs::create_directories(dir / "previews");
            write_png((dir / (std::string(step) + "noisy.png")).string(), p.noisy);
            write_png((dir / (std::string(step) + "predicted.png")).string(), p.predicted);
        }
        json settings = to_json(o.settings);
        settings.update({{"run", o.run},
                         {"data", engine.dataset().manifest().path},
                         {"split", split_name(r.trial.split)},
                         {"row", r.trial.row},
                         {"image", r.image},
                         {"nsd_id", r.nsd_id},
                         {"caption", r.caption},
                         {"true_captions", r.true_captions},
                         {"decoder", r.decoder},
                         {"generator", engine.generator_title()},
                         {"device", engine.device()},
                         {"seconds", r.seconds}});
        write_file_atomically((dir / "settings.json").string(), json_text(settings, 2));
        folders.push_back(dir.string());
    }
    if (o.contributions) {
        report("stream contributions (ablations and attributions)");
        for (size_t i = 0; i < trials.size(); ++i) write_contributions(engine.contributions(trials[i], o.settings, progress), folders[i]);
    }
    report.done();
    return folders;
}

}  // namespace soul
