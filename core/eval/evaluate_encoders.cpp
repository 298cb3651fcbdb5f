// `souldiffuser evaluate-encoders`: the encoders and the flattened baseline scored side by side on
// the held-out test images (repeats averaged), each metric with its chance level.
//   fMRI→image / image→fMRI top-1: the predicted embedding's nearest test-image embedding is its
//     own image (and the reverse), among all test images; chance 1/N.
//   2-way identification: how often the true image is closer than one other test image, averaged
//     over all pairs (Takagi & Nishimoto 2023; MindEye); chance 50%.
//   category: a linear probe (Radford et al. 2021, §3.2: a linear classifier on frozen
//     embeddings), here a ridge classifier fit on the training images' true embeddings and their
//     phantom ground-truth category, applied to the predicted embedding; and, as a second reading,
//     the majority of the 10 training images nearest to it; chance 1/categories.
//   caption retrieval: SemBERT's embedding's nearest test image by mean caption embedding is its
//     own; chance 1/N. The retrieved caption (nearest in the training caption bank) is shown.
//   palette ΔE: CIE76 between predicted and true 8×8 palettes; the reference is the training mean.
//   edge r: Pearson correlation of predicted and true edge maps; low-level image r (PixCorr).
#include "soul/train.h"

#include "../model/image_metrics.h"
#include "../model/ridge_solve.h"
#include "../model/targets.h"
#include "../train/encoder_run.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/json_text.h"
#include "soul/output_folder.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {

namespace {

using namespace soul::train;
using model::mean_pearson;
using model::top1;
using model::two_way;

struct Row {
    std::string metric, module;
    double value, chance;
};

}  // namespace

std::string evaluate_encoders(const EvaluateEncodersOptions& o, const Progress& progress) {
    torch::NoGradGuard no_grad;
    Steps report(progress, 4);
    report("loading the run");
    LoadedRun run = load_run(o.run, o.data, choose_device(o.device));
    auto& m = run.models;
    auto& d = run.data;
    auto has = [&](const std::string& s) { return std::count(run.trained.begin(), run.trained.end(), s) > 0; };
    if (!has("embedding")) throw Error(o.run, "has no trained embedding space (stage 'embedding'); nothing can be scored");
    const int64_t n = d.test_betas.size(0);
    auto batched = [&](const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& x) {
        std::vector<torch::Tensor> parts;
        for (int64_t i = 0; i < x.size(0); i += 128) parts.push_back(f(x.narrow(0, i, std::min<int64_t>(128, x.size(0) - i))));
        return torch::cat(parts, 0);
    };

    report("embedding the test images and captions");
    const torch::Tensor test_images = d.images.index_select(0, d.test_image);
    const torch::Tensor image_emb = batched([&](const torch::Tensor& x) { return m.embedding->image(x); }, test_images);
    const torch::Tensor caption_emb = mean_caption_embedding(m.embedding, d, d.test_image);
    // Category by the nearest neighbours among the training images' embeddings (k = 10, majority).
    torch::Tensor train_emb, train_cat;
    if (d.categories > 0) {
        const torch::Tensor train_images = training_images(d);
        train_emb = batched([&](const torch::Tensor& x) { return m.embedding->image(x); }, d.images.index_select(0, train_images));
        train_cat = d.category.index_select(0, train_images);
    }
    const torch::Tensor test_category = d.category.index_select(0, d.test_image);
    const double chance_category = d.categories > 0 ? 1.0 / static_cast<double>(d.categories) : 0.0;
    // Linear probes: one-hot least squares with a bias and a small ridge (unit-norm inputs), fit on
    // the training images' true image embeddings and, for the caption side, their true mean caption
    // embeddings.
    auto fit_probe = [&](const torch::Tensor& x_train) {
        constexpr double kProbeRidge = 1.0;
        return model::fit_probe(x_train, torch::one_hot(train_cat.clamp_min(0), d.categories) * (train_cat >= 0).unsqueeze(1), kProbeRidge);
    };
    torch::Tensor image_probe, caption_probe;
    if (d.categories > 0) {
        image_probe = fit_probe(train_emb);
        caption_probe = fit_probe(mean_caption_embedding(m.embedding, d, training_images(d)));
    }
    auto probe_accuracy = [&](const torch::Tensor& probe, const torch::Tensor& predicted) {
        const torch::Tensor scores = model::with_bias(predicted).mm(probe);
        return (scores.argmax(1) == test_category).to(torch::kFloat).mean().item<double>();
    };
    auto category_accuracy = [&](const torch::Tensor& predicted) {
        constexpr int64_t kNeighbours = 10;
        const torch::Tensor nearest = std::get<1>(torch::matmul(predicted, train_emb.t()).topk(kNeighbours, 1));
        const torch::Tensor votes = torch::one_hot(train_cat.clamp_min(0).index_select(0, nearest.flatten()), d.categories)
                                        .view({predicted.size(0), kNeighbours, d.categories}).sum(1);
        return (votes.argmax(1) == test_category).to(torch::kFloat).mean().item<double>();
    };
    report("running the encoders on the test fMRI");
    std::vector<Row> rows;
    const double chance_top1 = 1.0 / static_cast<double>(n);
    auto embedding_rows = [&](const std::string& module, const torch::Tensor& predicted) {
        rows.push_back({"fMRI→image top-1", module, top1(predicted, image_emb), chance_top1});
        rows.push_back({"image→fMRI top-1", module, top1(image_emb, predicted), chance_top1});
        rows.push_back({"2-way identification", module, two_way(predicted, image_emb), 0.5});
        if (d.categories > 0) {
            rows.push_back({"category accuracy (linear probe)", module, probe_accuracy(image_probe, predicted), chance_category});
            rows.push_back({"category accuracy (10 nearest)", module, category_accuracy(predicted), chance_category});
        }
    };
    const torch::Tensor test_palette = d.palettes.index_select(0, d.test_image), test_edges = d.edges.index_select(0, d.test_image);
    const torch::Tensor train_images_all = d.images.index_select(0, d.train_image);
    const torch::Tensor mean_palette = d.palettes.index_select(0, d.train_image).mean(0, true).expand_as(test_palette);
    const torch::Tensor mean_edges = d.edges.index_select(0, d.train_image).mean(0, true).expand_as(test_edges);
    const torch::Tensor mean_image = train_images_all.mean(0, true).expand_as(test_images);
    std::vector<std::string> examples;
    if (has("ssmnet")) {
        torch::Tensor emb, img;
        {
            std::vector<torch::Tensor> es, is;
            for (int64_t i = 0; i < n; i += 64) {
                const auto out = m.ssmnet->forward(d.test_betas.narrow(0, i, std::min<int64_t>(64, n - i)));
                es.push_back(out.embedding);
                is.push_back(out.image);
            }
            emb = torch::cat(es, 0);
            img = torch::cat(is, 0);
        }
        embedding_rows("SSMNet", emb);
        rows.push_back({"low-level image r (PixCorr)", "SSMNet", mean_pearson(img, test_images), mean_pearson(mean_image, test_images)});
    }
    if (has("sembert")) {
        const torch::Tensor sem = batched([&](const torch::Tensor& x) { return m.sembert->forward(x); }, d.test_betas);
        rows.push_back({"caption retrieval top-1", "SemBERT", top1(sem, caption_emb), chance_top1});
        rows.push_back({"caption 2-way", "SemBERT", two_way(sem, caption_emb), 0.5});
        if (d.categories > 0) rows.push_back({"category accuracy (caption, linear probe)", "SemBERT", probe_accuracy(caption_probe, sem), chance_category});
        // The caption bank: every caption of the training images; SemBERT's caption is the nearest.
        const CaptionBank bank = caption_bank(run);
        const torch::Tensor nearest = torch::matmul(sem, bank.embedding.t()).argmax(1);
        for (int64_t i = 0; i < std::min<int64_t>(5, n); ++i) {
            const int32_t image = static_cast<int32_t>(d.test_image[i].item<int64_t>());
            const auto& truth = d.dataset->captions(image);
            examples.push_back("| " + std::to_string(d.dataset->nsd_id(image)) + " | " + (truth.empty() ? std::string("–") : truth[0]) + " | " +
                               bank.captions[static_cast<size_t>(nearest[i].item<int64_t>())] + " |");
        }
    }
    if (has("ec_decoder")) {
        const auto out_p = batched([&](const torch::Tensor& x) { return m.edgecolor->forward(x).palette; }, d.test_betas);
        const auto out_e = batched([&](const torch::Tensor& x) { return m.edgecolor->forward(x).edges; }, d.test_betas);
        rows.push_back({"palette ΔE (lower is better)", "EdgeColorNet", model::delta_e(out_p, test_palette).mean().item<double>(),
                        model::delta_e(mean_palette, test_palette).mean().item<double>()});
        rows.push_back({"edge-map r", "EdgeColorNet", mean_pearson(out_e, test_edges), mean_pearson(mean_edges, test_edges)});
    }
    if (has("baseline")) {
        std::vector<model::FlatOutput> outs;
        for (int64_t i = 0; i < n; i += 128) outs.push_back(m.baseline->forward(d.test_betas.narrow(0, i, std::min<int64_t>(128, n - i))));
        auto cat = [&](torch::Tensor model::FlatOutput::*field) {
            std::vector<torch::Tensor> parts;
            for (auto& o2 : outs) parts.push_back(o2.*field);
            return torch::cat(parts, 0);
        };
        embedding_rows("flattened MLP", cat(&model::FlatOutput::embedding));
        rows.push_back({"low-level image r (PixCorr)", "flattened MLP", mean_pearson(cat(&model::FlatOutput::image), test_images), mean_pearson(mean_image, test_images)});
        rows.push_back({"caption retrieval top-1", "flattened MLP", top1(cat(&model::FlatOutput::caption), caption_emb), chance_top1});
        rows.push_back({"caption 2-way", "flattened MLP", two_way(cat(&model::FlatOutput::caption), caption_emb), 0.5});
        if (d.categories > 0)
            rows.push_back({"category accuracy (caption, linear probe)", "flattened MLP", probe_accuracy(caption_probe, cat(&model::FlatOutput::caption)), chance_category});
        rows.push_back({"palette ΔE (lower is better)", "flattened MLP", model::delta_e(cat(&model::FlatOutput::palette), test_palette).mean().item<double>(),
                        model::delta_e(mean_palette, test_palette).mean().item<double>()});
        rows.push_back({"edge-map r", "flattened MLP", mean_pearson(cat(&model::FlatOutput::edges), test_edges), mean_pearson(mean_edges, test_edges)});
    }
    // The embedding space itself: image↔caption retrieval on the held-out images, and the category
    // its true image and caption embeddings give (what an fMRI module that predicted them exactly
    // would score).
    if (d.categories > 0) {
        rows.push_back({"category accuracy (linear probe, true image embedding)", "embedding space", probe_accuracy(image_probe, image_emb), chance_category});
        rows.push_back({"category accuracy (10 nearest, true image embedding)", "embedding space", category_accuracy(image_emb), chance_category});
        rows.push_back({"category accuracy (caption, linear probe, true captions)", "embedding space", probe_accuracy(caption_probe, caption_emb), chance_category});
    }
    rows.push_back({"image→caption top-1 (embedding space)", "embedding space", top1(image_emb, caption_emb), chance_top1});
    rows.push_back({"caption→image top-1 (embedding space)", "embedding space", top1(caption_emb, image_emb), chance_top1});

    report("writing the report");
    const std::string out = o.out.empty() ? (fs::path(o.run) / "evaluation").string() : o.out;
    make_output_folder(out);
    std::ostringstream md;
    md << "# Encoder evaluation\n\nRun `" << o.run << "`, dataset `" << d.dataset->manifest().path << "`: " << n
       << " held-out test images (repeats averaged). Stages trained:";
    for (const auto& s : run.trained) md << " " << s;
    md << ".\n\nPalette ΔE and the low-level/edge r: the reference column is the training mean predicted for every image, not chance.\n\n";
    md << "| metric | module | value | chance / reference |\n|---|---|---|---|\n";
    CsvTable csv;
    csv.columns = {"metric", "module", "value", "chance"};
    json j = json::array();
    for (const auto& r : rows) {
        std::ostringstream v, c;
        v << std::fixed << std::setprecision(3) << r.value;
        c << std::fixed << std::setprecision(3) << r.chance;
        md << "| " << r.metric << " | " << r.module << " | " << v.str() << " | " << c.str() << " |\n";
        csv.rows.push_back({r.metric, r.module, v.str(), c.str()});
        j.push_back({{"metric", r.metric}, {"module", r.module}, {"value", r.value}, {"chance", r.chance}});
    }
    if (!examples.empty()) {
        md << "\nSemBERT's captions (the nearest caption of the training caption bank — the built-in stand-in for the paper's GPT-3.5):\n\n";
        md << "| image | a true caption | retrieved caption |\n|---|---|---|\n";
        for (const auto& e : examples) md << e << "\n";
    }
    write_file_atomically((fs::path(out) / "report.md").string(), md.str());
    write_file_atomically((fs::path(out) / "report.json").string(), json_text(json{{"run", o.run}, {"test_images", n}, {"rows", j}}, 2));
    write_csv((fs::path(out) / "report.csv").string(), csv);
    report.done();
    return md.str();
}

}  // namespace soul
