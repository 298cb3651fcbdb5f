// `souldiffuser evaluate`: reconstructions of the held-out test images (repeats averaged) scored
// against the stimuli, for
//   - SoulDiffuser: SSMNet, SemBERT and EdgeColorNet feeding the generator (box d);
//   - the flattened baseline (MindEye's design) feeding the same generator the same conditions;
//   - ridge regression from voxels to the same conditions (low-level image, caption embedding,
//     palette, edges), the linear decoders of Takagi & Nishimoto 2023 and Brain-Diffuser
//     (Ozcelik & VanRullen 2023), feeding the same generator;
//   - ablations of the pipeline (no caption, no palette, no edges, no img2img start) and of the
//     streams (a group's voxels at their training mean);
//   - the oracle: conditions from the true stimulus, the generator's upper bound.
// A second table scores the conditions themselves, so that a shortfall is traced to the module
// that loses the information.
#include "soul/reconstruct.h"

#include "../model/image_metrics.h"
#include "../model/targets.h"
#include "dissociation.h"
#include "image_scores.h"
#include "../infer/pipeline.h"
#include "../metrics/nsd_metrics.h"
#include "../metrics/standard_table.h"
#include "soul/error.h"
#include "soul/output_folder.h"
#include "soul/runtime.h"

#include <functional>
#include <map>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {

using namespace soul::train;
using namespace soul::infer;
using namespace soul::eval;

namespace {

constexpr int64_t kBatch = 25;   // test images denoised together

struct Method {
    std::string name;
    const DecodedConditions* decoded;
    SamplerSettings settings;
    std::vector<std::string> ablate;   // streams at their training mean (SoulDiffuser rows only)
    bool in_figure = false;
    std::string pathway_off;           // the dissociation row these images are (empty: none)
};

DecodedConditions batched_decode(const std::function<DecodedConditions(const torch::Tensor&)>& decode, const torch::Tensor& betas) {
    std::vector<DecodedConditions> parts;
    for (int64_t i = 0; i < betas.size(0); i += 64) parts.push_back(decode(betas.narrow(0, i, std::min<int64_t>(64, betas.size(0) - i))));
    auto cat = [&](torch::Tensor DecodedConditions::*field) {
        std::vector<torch::Tensor> t;
        for (auto& part : parts)
            if ((part.*field).defined()) t.push_back(part.*field);
        return t.empty() ? torch::Tensor() : torch::cat(t, 0);
    };
    return {cat(&DecodedConditions::embedding), cat(&DecodedConditions::low_level), cat(&DecodedConditions::caption),
            cat(&DecodedConditions::palette), cat(&DecodedConditions::edges)};
}

}  // namespace

std::string evaluate_reconstructions(const EvaluateOptions& o, const Progress& progress) {
    init_compute_threads();
    if (o.run.empty()) throw Error("evaluate: the run folder is required");
    validate(o.sampler, "evaluate");
    const torch::Device device = choose_device(o.device);
    Steps report(progress, 20);
    report("loading the run and its dataset");
    Pipeline p(o.run, o.data, device, decoder_plugin_dirs(o.plugins));
    if (o.stable_diffusion.used()) {
        report("loading Stable Diffusion from " + o.stable_diffusion.path);
        p.use_generator(load_stable_diffusion_generator(o.stable_diffusion, device, &p.run.models));
    }
    const bool adapters = p.generator().takes_palette_and_edges();
    auto& d = p.run.data;
    auto& m = p.run.models;
    const bool validation = o.split == "validation";
    const torch::Tensor& all_images = evaluation_images(d, o.split, o.run);
    int64_t n = all_images.size(0);
    if (o.limit > 0) n = std::min(n, o.limit);
    const torch::Tensor images = all_images.narrow(0, 0, n);
    const torch::Tensor betas = (validation ? d.validation_betas : d.test_betas).narrow(0, 0, n);
    std::vector<uint64_t> keys;
    for (int64_t r = 0; r < n; ++r) keys.push_back(validation ? validation_key(images[r].item<int64_t>()) : trial_key({Split::Test, r}));
    const ImageScorer score(p.run, images);
    if (!o.metric_nets.empty()) report("loading the metric networks from " + o.metric_nets);
    const metrics::MetricNetworks metric_nets(o.metric_nets);
    // The standard table scores the stimuli at the largest size the run has them.
    const metrics::StandardScorer standard_score(
        (d.images.size(2) > d.gen_images.size(2) ? d.images : d.gen_images).index_select(0, images).to(torch::kCPU), metric_nets);
    std::vector<metrics::MetricRow> standard_rows;

    report("decoding the conditions: SoulDiffuser");
    c10::InferenceMode inference;
    const DecodedConditions soul_conditions = batched_decode([&](const torch::Tensor& b) { return p.decode(b); }, betas);
    // The pathways off, one at a time (and the two category streams together): the ablation rows
    // and the double dissociation.
    DissociationInput dissociation{images, {{"none", soul_conditions}}, {}};
    std::vector<std::vector<std::string>> pathways = dissociation_pathways(p.stream_groups());
    pathways.erase(pathways.begin());
    for (const auto& groups : pathways)
        dissociation.conditions[pathway_name(groups)] = batched_decode([&](const torch::Tensor& b) { return p.decode(p.ablate(b, groups)); }, betas);
    DecodedConditions flat_conditions;
    if (p.has("baseline")) {
        report("decoding the conditions: flattened baseline");
        flat_conditions = batched_decode([&](const torch::Tensor& b) { return p.decoder("mlp").decode(b, progress); }, betas);
    }
    report("fitting ridge regression from voxels to the conditions");
    const DecodedConditions ridge = batched_decode([&](const torch::Tensor& b) { return p.decoder("ridge").decode(b, progress); }, betas);
    // Every decoder plugin trained for this dataset (a map: the methods below point into it).
    std::map<std::string, DecodedConditions> plugins;
    for (const std::string& name : p.plugin_names()) {
        report("decoding the conditions: plugin " + name);
        plugins[name] = batched_decode([&](const torch::Tensor& b) { return p.decoder(name).decode(b, progress); }, betas);
    }
    // The oracle's conditions: the stimulus' own palette and edges, its first caption's embedding
    // (the generator then gets the bank's nearest caption), the stimulus as the img2img start.
    DecodedConditions oracle;
    oracle.low_level = d.images.index_select(0, images);
    oracle.caption = mean_caption_embedding(m.embedding, d, images);
    oracle.palette = d.palettes.index_select(0, images);
    oracle.edges = d.edges.index_select(0, images);

    SamplerSettings full = o.sampler;
    full.samples = 1;
    auto without = [&](bool SamplerSettings::*flag) {
        SamplerSettings s = full;
        s.*flag = false;
        return s;
    };
    std::vector<Method> methods = {{"SoulDiffuser", &soul_conditions, full, {}, true, "none"}};
    if (flat_conditions.caption.defined()) methods.push_back({"flattened baseline (MLP) + same generator", &flat_conditions, full, {}, true});
    methods.push_back({"ridge regression + same generator", &ridge, full, {}, true});
    for (const auto& [name, conditions] : plugins) methods.push_back({"plugin " + name + ": " + p.decoder(name).title() + " + same generator", &conditions, full, {}, true});
    methods.push_back({"SoulDiffuser, no caption", &soul_conditions, without(&SamplerSettings::use_caption), {}, true});
    if (adapters) {   // a generator without adapters (Stable Diffusion without the run's sd_adapters) draws the same without them
        methods.push_back({"SoulDiffuser, no palette", &soul_conditions, without(&SamplerSettings::use_palette), {}, true});
        methods.push_back({"SoulDiffuser, no edges", &soul_conditions, without(&SamplerSettings::use_edges), {}, true});
    }
    methods.push_back({"SoulDiffuser, no img2img start", &soul_conditions, without(&SamplerSettings::use_init), {}, true});
    for (const auto& groups : pathways) {
        const std::string name = pathway_name(groups);
        methods.push_back({"SoulDiffuser, " + name + " voxels at training mean", &dissociation.conditions.at(name), full, groups, false, name});
    }
    methods.push_back({"oracle: conditions from the stimulus (upper bound)", &oracle, full, {}, false});

    std::vector<ImageScores> scores = {score("stimulus itself (reference)", score.truth())};
    std::vector<torch::Tensor> columns = {score.truth()};
    for (const Method& method : methods) {
        report("reconstructing: " + method.name);
        std::vector<torch::Tensor> parts;
        for (int64_t i = 0; i < n; i += kBatch) {
            progress.check();
            const int64_t b = std::min(kBatch, n - i);
            const DecodedConditions& all = *method.decoded;
            auto rows = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, i, b) : t; };
            const DecodedConditions part{rows(all.embedding), rows(all.low_level), rows(all.caption), rows(all.palette), rows(all.edges)};
            const std::vector<uint64_t> part_keys(keys.begin() + i, keys.begin() + i + b);
            parts.push_back(p.generator().generate(p.conditions(part, method.settings, part_keys), method.settings, {}, /*decode_previews=*/false));
        }
        // Scored at the run's generator size (Stable Diffusion draws larger); the standard table's
        // networks take the images as drawn.
        const torch::Tensor drawn = torch::cat(parts, 0);
        const torch::Tensor generated = at_size(drawn, d.gen_images.size(-1));
        scores.push_back(score(method.name, generated));
        standard_rows.push_back(standard_score(method.name, drawn.to(torch::kCPU)));
        if (method.in_figure) columns.push_back(generated);
        if (!method.pathway_off.empty()) dissociation.generated[method.pathway_off] = generated;
    }

    // The conditions themselves, against the stimulus' own: where information is lost.
    report("scoring the conditions");
    const torch::Tensor true_caption = mean_caption_embedding(m.embedding, d, images);
    const torch::Tensor true_image = d.images.index_select(0, images);
    const torch::Tensor true_palette = d.palettes.index_select(0, images), true_edges = d.edges.index_select(0, images);
    std::ostringstream conditions_md;
    conditions_md << "\n## The conditions, before the generator\n\nEach decoder's conditions against the stimulus' own (the oracle row of the "
                     "table above uses those). Caption 2-way: the decoded caption embedding against the true captions' mean embedding; "
                     "caption top-1: among the "
                  << n << " test images (chance " << fixed3(1.0 / static_cast<double>(n))
                  << "); low-level r: PixCorr of the img2img start.\n\n| decoder | low-level r | caption 2-way | caption top-1 | palette ΔE | edge r |\n|---|---|---|---|---|---|\n";
    json conditions_json = json::array();
    // A condition the decoder does not give (a plugin may give only some) is "n/a" and null.
    auto condition_row = [&](const std::string& name, const DecodedConditions& c) {
        json row = {{"decoder", name}};
        conditions_md << "| " << name;
        auto cell = [&](const char* key, bool defined, const std::function<double()>& value) {
            const double v = defined ? value() : 0.0;
            row[key] = defined ? json(v) : json();
            conditions_md << " | " << (defined ? fixed3(v) : std::string("n/a"));
        };
        cell("low_level_r", c.low_level.defined(), [&] { return model::pixcorr(c.low_level, true_image).mean().item<double>(); });
        cell("caption_two_way", c.caption.defined(), [&] { return model::two_way(c.caption, true_caption); });
        cell("caption_top1", c.caption.defined(), [&] { return model::top1(c.caption, true_caption); });
        cell("palette_delta_e", c.palette.defined(), [&] { return model::delta_e(c.palette, true_palette).mean().item<double>(); });
        cell("edge_r", c.edges.defined(), [&] { return model::mean_pearson(c.edges, true_edges); });
        conditions_md << " |\n";
        conditions_json.push_back(row);
    };
    condition_row("SoulDiffuser (SSMNet, SemBERT, EdgeColorNet)", soul_conditions);
    if (flat_conditions.caption.defined()) condition_row("flattened baseline (MLP)", flat_conditions);
    condition_row("ridge regression", ridge);
    for (const auto& [name, conditions] : plugins) condition_row("plugin " + name + ": " + p.decoder(name).title(), conditions);
    for (const auto& groups : pathways) {
        const std::string name = pathway_name(groups);
        condition_row("SoulDiffuser, " + name + " voxels at training mean", dissociation.conditions.at(name));
    }
    {
        const torch::Tensor mean_image = d.images.index_select(0, d.train_image).mean(0, true).expand_as(true_image);
        const torch::Tensor mean_palette = d.palettes.index_select(0, d.train_image).mean(0, true).expand_as(true_palette);
        const torch::Tensor mean_edges = d.edges.index_select(0, d.train_image).mean(0, true).expand_as(true_edges);
        conditions_md << "| training mean (reference) | " << fixed3(model::pixcorr(mean_image, true_image).mean().item<double>()) << " | 0.500 | "
                      << fixed3(1.0 / static_cast<double>(n)) << " | " << fixed3(model::delta_e(mean_palette, true_palette).mean().item<double>()) << " | "
                      << fixed3(model::mean_pearson(mean_edges, true_edges)) << " |\n";
    }

    report("the standard table: retrieval");
    std::map<std::string, metrics::Retrieval> retrievals;
    auto retrieve = [&](const std::string& name, const DecodedConditions& c) {
        if (c.embedding.defined()) retrievals[name] = metrics::retrieval(c.embedding.to(torch::kCPU), score.true_embedding().to(torch::kCPU));
    };
    retrieve("SoulDiffuser", soul_conditions);
    if (flat_conditions.caption.defined()) retrieve("flattened baseline (MLP) + same generator", flat_conditions);
    retrieve("ridge regression + same generator", ridge);
    for (const auto& [name, conditions] : plugins) retrieve("plugin " + name + ": " + p.decoder(name).title() + " + same generator", conditions);
    const metrics::StandardTable standard = metrics::standard_table(standard_rows, retrievals, metric_nets, n);

    report("the double dissociation");
    const DissociationReport dissociated = dissociation_report(p, dissociation, std::max<int64_t>(1, o.figure_rows));

    report("writing the report");
    const std::string out = o.out.empty() ? (fs::path(o.run) / "evaluation-reconstruction").string() : o.out;
    const int64_t figure_rows = std::min(n, std::max<int64_t>(1, o.figure_rows));
    make_output_folder(out);
    write_png((fs::path(out) / "comparison.png").string(), grid_image(columns, figure_rows));
    write_png((fs::path(out) / "dissociation.png").string(), dissociated.figure);
    std::ostringstream preamble;
    preamble << "# Reconstruction evaluation\n\nRun `" << o.run << "`, dataset `" << d.dataset->manifest().path << "`: " << n
             << (validation ? " validation images (training images the run held out, repeats averaged; for choosing settings, not for final numbers). "
                            : " held-out test images (repeats averaged). ")
             << o.sampler.steps << " DDIM steps, guidance " << o.sampler.cfg << ", img2img strength " << o.sampler.strength
             << ", seed " << o.sampler.seed << "; every method feeds the same generator (" << p.generator().title()
             << ") with the same start noise per trial.\n\n"
             << "Category: the stimulus-only classifier (its accuracy on the stimuli themselves is the first row); chance "
             << (d.categories > 0 ? fixed3(1.0 / static_cast<double>(d.categories)) : std::string("n/a"))
             << ". 2-way: identification in the built-in image embedding, chance 0.500. Palette ΔE: lower is better.\n\n";
    std::string figure = "\n`comparison.png`: the first " + std::to_string(figure_rows) + " test images, one per row; columns: stimulus";
    for (const Method& method : methods)
        if (method.in_figure) figure += " | " + method.name;
    figure += ".\n";
    json meta = {{"run", o.run}, {"split", o.split}, {"test_images", n}, {"steps", o.sampler.steps}, {"cfg", o.sampler.cfg}, {"strength", o.sampler.strength}, {"seed", o.sampler.seed}, {"generator", p.generator().title()},
                 {"conditions", conditions_json}, {"dissociation", dissociated.json}, {"standard_metrics", standard.report}};
    const std::string markdown =
        write_score_report(out, preamble.str(), scores, figure + standard.markdown + conditions_md.str() + dissociated.markdown, meta);
    report.done();
    return markdown;
}

}  // namespace soul
