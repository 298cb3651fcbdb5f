// `souldiffuser generate` (see soul/generate.h).
#include "soul/generate.h"

#include "../model/targets.h"
#include "generator.h"
#include "soul/error.h"
#include "soul/output_folder.h"
#include "soul/runtime.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace soul {

namespace infer {

RgbImage to_rgb_image(const torch::Tensor& image) {
    const torch::Tensor hwc = (image.detach().to(torch::kFloat).cpu().clamp(0, 1) * 255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    RgbImage out;
    out.height = hwc.size(0);
    out.width = hwc.size(1);
    out.pixels.assign(hwc.data_ptr<uint8_t>(), hwc.data_ptr<uint8_t>() + hwc.numel());
    return out;
}

torch::Tensor read_image_tensor(const std::string& path, int64_t size) {
    const RgbImage image = read_rgb_image(path);
    const torch::Tensor pixels = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {1, image.height, image.width, 3}, torch::kUInt8);
    return model::images_to_tensor(pixels, size);
}

}  // namespace infer

namespace {

// The generator and the conditions `generate` was given, for either backend.
struct PreparedGeneration {
    std::unique_ptr<infer::Generator> generator;
    infer::GenerationConditions conditions;
    std::shared_ptr<void> models;   // what the generator holds references to
};

PreparedGeneration prepare_run(const GenerateOptions& o, torch::Device device) {
    using namespace soul::infer;
    using namespace soul::train;
    const SamplerSettings& s = o.sampler;
    auto run = std::make_shared<GeneratorRun>(load_generator_run(o.run, device));
    const bool has_adapters = std::count(run->trained.begin(), run->trained.end(), "adapters") > 0;
    if (!has_adapters && (!o.palette_from.empty() || !o.edges_from.empty()))
        throw Error(o.run, "has no trained 'adapters' stage, so --palette-from and --edges-from cannot be used; train it with --stages adapters");
    const int64_t n = s.samples;
    PreparedGeneration p;
    GenerationConditions& c = p.conditions;
    c.batch = n;
    if (!o.caption.empty() && s.use_caption) {
        const auto ids = run->tokenizer.encode(o.caption, run->config.max_tokens);
        if (std::all_of(ids.begin(), ids.end(), [](int64_t id) { return id == model::CaptionTokenizer::kPad || id == model::CaptionTokenizer::kUnknown; }))
            throw Error("generate: --caption \"" + o.caption + "\" has no word the model's vocabulary knows (" + o.run + "/vocab.json)");
        c.tokens = torch::tensor(ids, torch::kLong).unsqueeze(0).expand({n, -1}).contiguous();
        c.captions.assign(static_cast<size_t>(n), o.caption);
    }
    // Conditions are computed as during training: palette and edges from the image at the encoders' size.
    if (!o.palette_from.empty() && s.use_palette) c.palette = model::palette_of(read_image_tensor(o.palette_from, run->config.image_size)).expand({n, -1, -1, -1}).contiguous();
    if (!o.edges_from.empty() && s.use_edges) c.edges = model::edges_of(read_image_tensor(o.edges_from, run->config.image_size)).expand({n, -1, -1, -1}).contiguous();
    if (!o.init.empty() && s.use_init) c.init = read_image_tensor(o.init, run->config.gen_image_size).expand({n, -1, -1, -1}).contiguous();
    p.generator = make_run_generator(run->config, run->models, device);
    p.models = run;
    return p;
}

PreparedGeneration prepare_stable_diffusion(const GenerateOptions& o, torch::Device device) {
    using namespace soul::infer;
    if (!o.palette_from.empty() || !o.edges_from.empty())
        throw Error("generate: --palette-from and --edges-from with --sd need a run's adapters for it (train --stages sd_adapters --sd), "
                    "which reconstruct and evaluate use; generate --sd takes none (docs/pretrained.md)");
    const SamplerSettings& s = o.sampler;
    LoadedGenerator loaded = load_stable_diffusion_generator(o.stable_diffusion, device);
    const int64_t n = s.samples;
    PreparedGeneration p;
    p.generator = std::move(loaded.generator);
    p.models = loaded.models;
    GenerationConditions& c = p.conditions;
    c.batch = n;
    if (!o.caption.empty() && s.use_caption) c.captions.assign(static_cast<size_t>(n), o.caption);
    if (!o.init.empty() && s.use_init) c.init = read_image_tensor(o.init, o.stable_diffusion.size).expand({n, -1, -1, -1}).contiguous();
    return p;
}

}  // namespace

std::vector<std::string> generate_images(const GenerateOptions& o, const Progress& progress, const std::function<void(const DenoisePreview&)>& on_step) {
    using namespace soul::infer;
    init_compute_threads();
    const bool stable_diffusion = o.stable_diffusion.used();
    if ((o.run.empty() == !stable_diffusion) || o.out.empty())
        throw Error("generate: --out DIR and one of --model RUN (a trained run) or --sd PATH (Stable Diffusion's weights) are required");
    const SamplerSettings& s = o.sampler;
    validate(s, "generate");
    const torch::Device device = train::choose_device(o.device);
    Steps report(progress, 2);
    report("loading the generator of " + (stable_diffusion ? o.stable_diffusion.path : o.run));
    const PreparedGeneration prepared = stable_diffusion ? prepare_stable_diffusion(o, device) : prepare_run(o, device);
    const int64_t n = s.samples;
    const bool decode_previews = o.previews || static_cast<bool>(on_step);
    make_output_folder(o.out);
    std::vector<std::string> written;
    auto save = [&](const std::string& name, const torch::Tensor& image) {
        const std::string path = (fs::path(o.out) / name).string();
        write_png(path, to_rgb_image(image));
        written.push_back(path);
    };
    report("denoising " + std::to_string(n) + " sample(s), " + std::to_string(s.steps) + " steps with " + prepared.generator->title());
    const torch::Tensor images = prepared.generator->generate(prepared.conditions, s, [&](const DenoiseFrame& f) {
        progress.check();
        progress(f.index + 1, f.count, "step " + std::to_string(f.index + 1) + "/" + std::to_string(f.count) + " (t=" + std::to_string(f.t) + ")");
        for (int64_t k = 0; k < n && decode_previews; ++k) {
            if (o.previews) {
                char name[64];
                std::snprintf(name, sizeof name, "sample-%lld-step-%03lld-", static_cast<long long>(k), static_cast<long long>(f.index));
                save(std::string(name) + "noisy.png", f.noisy[k]);
                save(std::string(name) + "predicted.png", f.predicted[k]);
            }
            if (on_step) on_step(DenoisePreview{k, f.index, f.count, to_rgb_image(f.noisy[k]), to_rgb_image(f.predicted[k])});
        }
    }, decode_previews);
    for (int64_t k = 0; k < n; ++k) save("sample-" + std::to_string(k) + ".png", images[k]);
    report.done();
    return written;
}

}  // namespace soul
