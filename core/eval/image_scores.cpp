// Scores of generated images (see image_scores.h).
#include "image_scores.h"

#include "../model/image_metrics.h"
#include "../model/targets.h"
#include "../infer/generator.h"
#include "soul/error.h"
#include "soul/json_text.h"
#include "soul/output_folder.h"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul::eval {

const torch::Tensor& evaluation_images(const train::TrainData& data, const std::string& split, const std::string& run) {
    if (split != "test" && split != "validation") throw Error("--split must be 'test' or 'validation', not '" + split + "'");
    if (split == "test") return data.test_image;
    if (!data.validation_image.defined()) throw Error(run, "has no validation split: train it with a config that sets validation_fraction (e.g. 0.1)");
    return data.validation_image;
}

using infer::to_rgb_image;

namespace F = torch::nn::functional;

torch::Tensor at_size(const torch::Tensor& x, int64_t side) {
    if (x.size(-1) == side && x.size(-2) == side) return x;
    return F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{side, side}).mode(torch::kArea));
}

ImageScorer::ImageScorer(LoadedRun& run, const torch::Tensor& images) : run_(run) {
    torch::NoGradGuard no_grad;
    auto& d = run.data;
    truth_ = d.gen_images.index_select(0, images);
    palette_ = d.palettes.index_select(0, images);
    edges_ = d.edges.index_select(0, images);
    category_ = d.category.index_select(0, images);
    classify_ = std::count(run.trained.begin(), run.trained.end(), "classifier") > 0 && d.categories > 0;
    true_embedding_ = run.models.embedding->image(at_size(truth_, run.config.image_size));
}

ImageScores ImageScorer::operator()(const std::string& name, const torch::Tensor& generated) const {
    torch::NoGradGuard no_grad;
    auto& m = run_.models;
    const torch::Tensor small = at_size(generated, run_.config.image_size);
    const double accuracy = classify_ ? (m.classifier->forward(generated).argmax(1) == category_).to(torch::kFloat).mean().item<double>() : std::nan("");
    return ImageScores{name,
                       model::pixcorr(generated, truth_).mean().item<double>(),
                       model::ssim(generated, truth_).mean().item<double>(),
                       accuracy,
                       model::delta_e(model::palette_of(generated), palette_).mean().item<double>(),
                       model::mean_pearson(model::edges_of(small), edges_),
                       model::two_way(m.embedding->image(small), true_embedding_)};
}

RgbImage grid_image(const std::vector<torch::Tensor>& columns, int64_t rows) {
    constexpr int64_t kScale = 2, kGap = 4;
    const int64_t side = columns.front().size(-1) * kScale, cols = static_cast<int64_t>(columns.size());
    torch::Tensor canvas = torch::ones({3, rows * side + (rows + 1) * kGap, cols * side + (cols + 1) * kGap});
    for (int64_t c = 0; c < cols; ++c)
        for (int64_t r = 0; r < rows; ++r) {
            const torch::Tensor cell = F::interpolate(columns[static_cast<size_t>(c)][r].unsqueeze(0).to(torch::kFloat).cpu(),
                                                      F::InterpolateFuncOptions().scale_factor(std::vector<double>{kScale, kScale}).mode(torch::kNearest))[0];
            canvas.narrow(1, kGap + r * (side + kGap), side).narrow(2, kGap + c * (side + kGap), side).copy_(cell);
        }
    return to_rgb_image(canvas);
}

std::string write_score_report(const std::string& folder, const std::string& preamble, const std::vector<ImageScores>& scores,
                               const std::string& epilogue, json meta) {
    make_output_folder(folder);
    std::ostringstream md;
    md << preamble << "| setting | PixCorr | SSIM | category | palette ΔE | edge r | 2-way |\n|---|---|---|---|---|---|---|\n";
    CsvTable csv;
    csv.columns = {"setting", "pixcorr", "ssim", "category", "palette_delta_e", "edge_r", "two_way"};
    json rows = json::array();
    for (const auto& r : scores) {
        const std::string cat = std::isnan(r.category) ? "n/a" : fixed3(r.category);
        md << "| " << r.name << " | " << fixed3(r.pixcorr) << " | " << fixed3(r.ssim) << " | " << cat << " | " << fixed3(r.delta_e) << " | "
           << fixed3(r.edge_r) << " | " << fixed3(r.two_way) << " |\n";
        csv.rows.push_back({r.name, fixed3(r.pixcorr), fixed3(r.ssim), cat, fixed3(r.delta_e), fixed3(r.edge_r), fixed3(r.two_way)});
        rows.push_back({{"setting", r.name}, {"pixcorr", r.pixcorr}, {"ssim", r.ssim}, {"category", std::isnan(r.category) ? json() : json(r.category)},
                        {"palette_delta_e", r.delta_e}, {"edge_r", r.edge_r}, {"two_way", r.two_way}});
    }
    md << epilogue;
    meta["rows"] = rows;
    write_file_atomically((fs::path(folder) / "report.md").string(), md.str());
    write_file_atomically((fs::path(folder) / "report.json").string(), json_text(meta, 2));
    write_csv((fs::path(folder) / "report.csv").string(), csv);
    return md.str();
}

}  // namespace soul::eval
