// Stream contributions to one trial's reconstruction (see soul/reconstruct.h):
// - ablation: the trial re-run with a stream's (or group's) voxels at their training mean, each
//   output compared with the intact run (the final image with the same start noise);
// - attribution: integrated gradients (Sundararajan et al. 2017, eq. 1, Riemann midpoint sum),
//   from the training-mean volume x̄ to the trial x, of a scalar score per output that says how
//   well the output matches the seen image:
//     embedding: cosine with the stimulus' image embedding (SSMNet);
//     caption: cosine with the stimulus' mean caption embedding (SemBERT);
//     palette, edges, low-level image: minus the mean squared error to the stimulus' own
//     (EdgeColorNet, EdgeColorNet, SSMNet).
//   On the phantom, whose ground truth is known, two more: the category and the object position
//   read linearly from SSMNet's embedding (ridge probes fitted on the training rows; Alain &
//   Bengio 2016, "Understanding intermediate layers using linear classifier probes"): the true
//   category's logit minus the others' mean, and minus the squared position error.
//   Completeness (eq. 3): the attributions sum to F(x) − F(x̄); both are reported.
#include "soul/reconstruct.h"

#include "../model/image_metrics.h"
#include "../model/ridge_solve.h"
#include "../model/targets.h"
#include "pipeline.h"
#include "soul/error.h"
#include "soul/json_text.h"
#include "soul/output_folder.h"

#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {

using namespace soul::infer;

namespace {

// Riemann steps of integrated gradients: the paper uses 20–300; 16 midpoints keep the
// completeness gap within a few per cent on the phantom run (reported with every result).
constexpr int64_t kIntegrationSteps = 16;

const std::vector<std::string> kOutputs = {"embedding", "caption", "palette", "edges", "low-level image"};
constexpr double kProbeRidge = 1.0;   // ridge penalty of the probes (embeddings are unit vectors)


void fit_probes(Pipeline& p) {
    if (p.category_probe.defined() || !p.run.data.position.defined()) return;
    torch::NoGradGuard no_grad;
    auto& d = p.run.data;
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < d.train_betas.size(0); i += 128)
        parts.push_back(p.run.models.ssmnet->forward(d.train_betas.narrow(0, i, std::min<int64_t>(128, d.train_betas.size(0) - i))).embedding);
    const torch::Tensor x = torch::cat(parts, 0);
    p.category_probe = model::fit_probe(x, torch::one_hot(d.category.index_select(0, d.train_image).clamp_min(0), d.categories), kProbeRidge);
    p.position_probe = model::fit_probe(x, d.position.index_select(0, d.train_image), kProbeRidge);
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
    return torch::nn::functional::cosine_similarity(a.flatten(1), b.flatten(1)).mean().item<double>();
}

// Each output's score against the stimulus' targets, per row: (B).
// What a trial's outputs are scored against.
struct Targets {
    torch::Tensor image_embedding, caption_embedding, image, palette, edges;
    int64_t category = -1;
    torch::Tensor position;   // (1, 2); undefined without ground truth
};

std::map<std::string, torch::Tensor> scores(const Pipeline& p, const DecodedConditions& d, const Targets& t) {
    namespace F = torch::nn::functional;
    auto neg_mse = [](const torch::Tensor& a, const torch::Tensor& b) { return -(a - b).pow(2).flatten(1).mean(1); };
    std::map<std::string, torch::Tensor> s = {{"embedding", F::cosine_similarity(d.embedding, t.image_embedding.expand_as(d.embedding))},
                                              {"caption", F::cosine_similarity(d.caption, t.caption_embedding.expand_as(d.caption))},
                                              {"palette", neg_mse(d.palette, t.palette)},
                                              {"edges", neg_mse(d.edges, t.edges)},
                                              {"low-level image", neg_mse(d.low_level, t.image)}};
    if (p.category_probe.defined() && t.category >= 0) {
        const torch::Tensor logits = model::with_bias(d.embedding).mm(p.category_probe);
        const int64_t k = logits.size(1);
        const torch::Tensor own = logits.select(1, t.category);
        s["category"] = own - (logits.sum(1) - own) / static_cast<double>(k - 1);
        s["position"] = -(model::with_bias(d.embedding).mm(p.position_probe) - t.position).pow(2).sum(1);
    }
    return s;
}


}  // namespace

StreamContributions ReconstructionEngine::contributions(const TrialRef& trial, const ReconstructionSettings& s, const Progress& progress) {
    check_settings(s);
    Pipeline& p = impl_->pipeline;
    auto& m = p.run.models;
    const std::vector<std::string>& names = p.stream_groups();
    StreamContributions out;
    out.trial = trial;
    out.outputs = kOutputs;
    out.outputs.push_back("final image");
    if (p.run.data.position.defined()) out.outputs.insert(out.outputs.end(), {"category", "position"});
    out.streams = names;
    const torch::Tensor x = p.betas({trial});
    const int64_t image = p.image_of(trial);
    const torch::Tensor index = torch::tensor({image}, torch::kLong).to(p.device);
    fit_probes(p);
    Targets targets;
    targets.image = p.run.data.images.index_select(0, index);
    {
        torch::NoGradGuard no_grad;
        targets.image_embedding = m.embedding->image(targets.image);
        targets.caption_embedding = mean_caption_embedding(m.embedding, p.run.data, index);
    }
    targets.palette = p.run.data.palettes.index_select(0, index);
    targets.edges = p.run.data.edges.index_select(0, index);
    if (p.category_probe.defined()) {
        targets.category = p.run.data.category[image].item<int64_t>();
        targets.position = p.run.data.position.index_select(0, index);
    }
    std::vector<std::string> outputs = kOutputs;
    if (targets.category >= 0) outputs.insert(outputs.end(), {"category", "position"});

    // Progress: the ablation's denoising steps, then one step per output's attribution.
    const int64_t denoise_steps = std::max<int64_t>(1, s.sampler.steps);
    const int64_t total = denoise_steps + static_cast<int64_t>(outputs.size());
    const std::string ablating = "ablating " + std::to_string(names.size()) + " streams and groups";

    // Ablation: the intact trial and one row per stream or group, decoded and generated together.
    progress(0, total, ablating);
    progress.check();
    {
        std::vector<torch::Tensor> rows = {x};
        for (const auto& name : names) rows.push_back(p.ablate(x, {name}));
        const torch::Tensor batch = torch::cat(rows, 0);
        DecodedConditions d;
        {
            c10::InferenceMode inference;
            d = p.decode(batch);
        }
        SamplerSettings one = s.sampler;
        one.samples = 1;
        const std::vector<uint64_t> keys(static_cast<size_t>(batch.size(0)), trial_key(trial));
        const torch::Tensor final_images =
            p.generator().generate(p.conditions(d, one, keys), one, [&, frame = int64_t{0}](const DenoiseFrame&) mutable {
                progress(std::min(++frame, denoise_steps - 1), total, ablating);
                progress.check();
            }, /*decode_previews=*/false);
        for (size_t i = 0; i < names.size(); ++i) {
            const int64_t r = static_cast<int64_t>(i) + 1;
            auto row = [&](const torch::Tensor& t) { return t.narrow(0, r, 1); };
            auto intact = [&](const torch::Tensor& t) { return t.narrow(0, 0, 1); };
            auto& a = out.ablation[names[i]];
            a["embedding"] = 1.0 - cosine(row(d.embedding), intact(d.embedding));
            a["caption"] = 1.0 - cosine(row(d.caption), intact(d.caption));
            a["palette"] = model::delta_e(row(d.palette), intact(d.palette)).mean().item<double>();
            a["edges"] = 1.0 - model::pixcorr(row(d.edges), intact(d.edges)).mean().item<double>();
            a["low-level image"] = 1.0 - model::pixcorr(row(d.low_level), intact(d.low_level)).mean().item<double>();
            a["final image"] = 1.0 - model::pixcorr(row(final_images), intact(final_images)).mean().item<double>();
        }
        // The probes: the evidence lost (the intact score minus the ablated one).
        if (targets.category >= 0) {
            const auto s_all = scores(p, d, targets);
            for (const char* probe : {"category", "position"})
                for (size_t i = 0; i < names.size(); ++i)
                    out.ablation[names[i]][probe] = (s_all.at(probe)[0] - s_all.at(probe)[static_cast<int64_t>(i) + 1]).item<double>();
        }
    }

    // Attribution: integrated gradients from x̄ to x for every output's score.
    progress(denoise_steps, total, "attributing each output to the voxels (integrated gradients)");
    progress.check();
    const torch::Tensor baseline = p.train_mean.unsqueeze(0);
    const torch::Tensor delta = x - baseline;
    const torch::Tensor alphas = (torch::arange(kIntegrationSteps, torch::kFloat).to(p.device) + 0.5) / static_cast<double>(kIntegrationSteps);
    const torch::Tensor path = (baseline + alphas.unsqueeze(1) * delta).detach().requires_grad_(true);
    std::map<std::string, torch::Tensor> gradient_sum;
    {
        const DecodedConditions d = p.decode(path);
        const auto path_scores = scores(p, d, targets);
        int64_t done = denoise_steps;
        for (const auto& name : outputs) {
            progress(done++, total, "attributing " + name + " to the voxels (integrated gradients)");
            progress.check();
            const torch::Tensor grad = torch::autograd::grad({path_scores.at(name).sum()}, {path}, {}, /*retain_graph=*/true)[0];
            gradient_sum[name] = grad.mean(0, true);
        }
    }
    std::map<std::string, torch::Tensor> ends;
    {
        torch::NoGradGuard no_grad;
        const DecodedConditions d = p.decode(torch::cat({x, baseline}, 0));
        for (auto& [name, score] : scores(p, d, targets)) ends[name] = score;
    }
    for (const auto& name : outputs) {
        const torch::Tensor attribution = (gradient_sum[name] * delta).squeeze(0).detach().cpu().contiguous();
        const double gap = (ends[name][0] - ends[name][1]).item<double>();
        out.completeness[name] = {gap, attribution.sum().item<double>()};
        const torch::Tensor magnitude = attribution.abs();
        const double total = std::max(1e-30, magnitude.sum().item<double>());
        for (const auto& stream : names)
            out.attribution[name][stream] = magnitude.masked_select(p.voxel_mask(stream).cpu()).sum().item<double>() / total;
        out.volumes[name] = dataset().to_source_volume(attribution.data_ptr<float>());
    }
    progress(total, total, "contributions done");
    return out;
}

void write_contributions(const StreamContributions& c, const std::string& folder) {
    make_output_folder(folder);
    json j = {{"split", c.trial.split == Split::Test ? "test" : "train"}, {"row", c.trial.row}, {"outputs", c.outputs}, {"streams", c.streams}};
    CsvTable csv;
    csv.columns = {"kind", "stream", "output", "value"};
    for (const auto& [stream, per_output] : c.ablation)
        for (const auto& [output, value] : per_output) {
            j["ablation"][stream][output] = value;
            csv.rows.push_back({"ablation", stream, output, fixed_digits(value, 4)});
        }
    for (const auto& [output, per_stream] : c.attribution)
        for (const auto& [stream, share] : per_stream) {
            j["attribution_share"][output][stream] = share;
            csv.rows.push_back({"attribution share", stream, output, fixed_digits(share, 4)});
        }
    for (const auto& [output, pair] : c.completeness) j["completeness"][output] = {{"score_gap", pair.first}, {"attribution_sum", pair.second}};
    for (const auto& [output, volume] : c.volumes) {
        std::string file = "attribution-" + output + ".nii.gz";
        std::replace(file.begin(), file.end(), ' ', '-');
        write_nifti(volume, (fs::path(folder) / file).string());
        j["volumes"][output] = file;
    }
    write_file_atomically((fs::path(folder) / "contributions.json").string(), json_text(j, 2));
    write_csv((fs::path(folder) / "contributions.csv").string(), csv);
}

}  // namespace soul
