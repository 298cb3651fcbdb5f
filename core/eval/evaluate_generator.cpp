// `souldiffuser evaluate-generator`: the oracle reconstruction of design.md §2 box d — the
// generator given conditions taken from the true held-out stimulus (its first caption, its 8×8
// palette, its edge map, the stimulus itself as the img2img start) — the upper bound of the fMRI
// pipeline. Each setting adds one condition; the unconditional model and the VAE's round trip
// frame them from below and above.
//   PixCorr, SSIM (image_metrics.h); category: the stimulus-only classifier's accuracy on the
//   generated images (its accuracy on the stimuli themselves is the reference); palette ΔE: CIE76
//   between the 8×8 palettes of the generated and true images; edge r: Pearson r of edge maps;
//   2-way: identification in the built-in image embedding, generated vs true images.
#include "soul/generate.h"

#include "../model/image_metrics.h"
#include "../model/targets.h"
#include "../infer/generator.h"
#include "image_scores.h"
#include "soul/error.h"
#include "soul/output_folder.h"
#include "soul/runtime.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {

namespace {

using namespace soul::train;
using namespace soul::infer;
using namespace soul::eval;

struct Setting {
    std::string name;
    bool caption, palette, edges, init;
};

}  // namespace

std::string evaluate_generator(const EvaluateGeneratorOptions& o, const Progress& progress) {
    torch::NoGradGuard no_grad;
    init_compute_threads();
    validate(o.sampler, "evaluate-generator");
    const std::vector<Setting> settings = {
        {"unconditional", false, false, false, false},
        {"caption", true, false, false, false},
        {"caption + palette", true, true, false, false},
        {"caption + palette + edges", true, true, true, false},
        {"all + init (img2img)", true, true, true, true},
    };
    Steps report(progress, static_cast<int64_t>(settings.size()) + 3);
    report("loading the run");
    const torch::Device device = choose_device(o.device);
    LoadedRun run = load_run(o.run, o.data, device);
    auto has = [&](const std::string& s) { return std::count(run.trained.begin(), run.trained.end(), s) > 0; };
    for (const char* stage : {"embedding", "vae", "unet", "adapters"})
        if (!has(stage)) throw Error(o.run, std::string("has no trained '") + stage + "' stage; train the generator first (souldiffuser train --stages vae,unet,adapters)");
    auto& d = run.data;
    auto& m = run.models;
    // "train": images the generator learned from (the training images in index order): whether it
    // draws what it saw, beside whether it draws what it did not.
    const torch::Tensor all_images = o.split != "train"           ? evaluation_images(d, o.split, o.run)
                                     : d.stimulus_image.defined() ? d.stimulus_image
                                                                  : std::get<0>(torch::_unique(d.train_image, /*sorted=*/true));
    int64_t n = all_images.size(0);
    if (o.limit > 0) n = std::min(n, o.limit);
    const torch::Tensor images = all_images.narrow(0, 0, n);
    const ImageScorer score(run, images);
    const torch::Tensor& truth = score.truth();
    const torch::Tensor tokens = d.captions.index_select(0, images).select(1, 0);   // each image's first caption
    std::vector<std::string> captions;
    for (int64_t r = 0; r < n; ++r) {
        const auto& all = d.dataset->captions(images[r].item<int64_t>());
        captions.push_back(all.empty() ? std::string() : all.front());
    }
    const torch::Tensor palette = d.palettes.index_select(0, images), edges = d.edges.index_select(0, images);

    std::vector<ImageScores> scores;
    std::vector<torch::Tensor> columns = {truth};
    scores.push_back(score("stimulus itself (reference)", truth));
    scores.push_back(score("VAE round trip (ceiling)", m.vae->to_image(m.vae->to_latent(truth))));
    const std::unique_ptr<Generator> generator = make_run_generator(run.config, m, device);
    SamplerSettings s = o.sampler;
    s.samples = 1;
    constexpr int64_t kBatch = 25;   // images denoised together
    for (const Setting& setting : settings) {
        report("generating: " + setting.name);
        std::vector<torch::Tensor> parts;
        for (int64_t i = 0; i < n; i += kBatch) {
            progress.check();
            const int64_t b = std::min(kBatch, n - i);
            GenerationConditions c;
            c.batch = b;
            if (setting.caption) {
                c.tokens = tokens.narrow(0, i, b);
                c.captions.assign(captions.begin() + i, captions.begin() + i + b);
            }
            if (setting.palette) c.palette = palette.narrow(0, i, b);
            if (setting.edges) c.edges = edges.narrow(0, i, b);
            if (setting.init) c.init = truth.narrow(0, i, b);
            s.seed = o.sampler.seed + static_cast<uint64_t>(i);
            parts.push_back(generator->generate(c, s));
        }
        const torch::Tensor generated = torch::cat(parts, 0);
        scores.push_back(score(setting.name, generated));
        if (setting.caption) columns.push_back(generated);
    }

    report("writing the report");
    const std::string out = o.out.empty() ? (fs::path(o.run) / "generator-evaluation").string() : o.out;
    make_output_folder(out);
    const int64_t grid_rows = std::min(n, std::max<int64_t>(1, o.grid_rows));
    write_png((fs::path(out) / "oracle-grid.png").string(), grid_image(columns, grid_rows));
    std::ostringstream preamble;
    preamble << "# Generator evaluation (oracle conditions)\n\nRun `" << o.run << "`, dataset `" << d.dataset->manifest().path << "`: " << n
             << (o.split == "test"         ? " held-out test images"
                 : o.split == "validation" ? " validation images (training images the run held out)"
                                           : " training images (the generator learned from them: a check of fit, not a score)")
             << ". Conditions come from the true stimulus: its first caption, its 8×8 palette, its edge map, and (last row) "
                "the stimulus itself as the img2img start at strength "
             << o.sampler.strength << ". " << o.sampler.steps << " DDIM steps, guidance " << o.sampler.cfg << ", η " << o.sampler.eta << ", seed " << o.sampler.seed << ".\n\n"
             << "This is the upper bound of reconstruction from fMRI. Category: the stimulus-only classifier; chance "
             << (d.categories > 0 ? fixed3(1.0 / static_cast<double>(d.categories)) : std::string("n/a"))
             << ". 2-way: identification in the built-in image embedding; chance 0.500.\n\n";
    const std::string epilogue = "\n`oracle-grid.png`: the first " + std::to_string(grid_rows) +
                                 " " + o.split + " images, one per row; columns: stimulus | caption | + palette | + edges | + init.\n";
    const std::string markdown = write_score_report(out, preamble.str(), scores, epilogue,
                                                    json{{"run", o.run}, {"split", o.split}, {"test_images", n}, {"steps", o.sampler.steps}, {"cfg", o.sampler.cfg}, {"strength", o.sampler.strength}, {"seed", o.sampler.seed}});
    report.done();
    return markdown;
}

}  // namespace soul
