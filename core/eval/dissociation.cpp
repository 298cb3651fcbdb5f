// The double dissociation of the visual streams (see dissociation.h).
#include "dissociation.h"

#include "../model/image_metrics.h"
#include "../model/targets.h"
#include "image_scores.h"
#include "soul/phantom.h"

#include <array>
#include <cmath>
#include <sstream>

using json = nlohmann::json;

namespace soul::eval {

namespace F = torch::nn::functional;

namespace {

constexpr int kMeasures = 4;
const std::array<const char*, kMeasures> kMeasureNames = {"category", "position error", "palette ΔE", "edge r"};
const std::array<const char*, kMeasures> kMeasureKeys = {"category", "position_error", "palette_delta_e", "edge_r"};
const std::array<bool, kMeasures> kHigherIsBetter = {true, false, false, true};
const std::array<PhantomFeature, kMeasures> kFeatures = {PhantomFeature::Category, PhantomFeature::Position, PhantomFeature::Colour,
                                                          PhantomFeature::Edges};
// A change counts when the mean per-image change is beyond this many standard errors…
constexpr double kChangeStandardErrors = 2.0;
// …and beyond this fraction of the distance between all streams' score and the floor.
constexpr double kChangeFractionOfRange = 0.1;
// "Lost": what is left is under this fraction of that distance.
constexpr double kLostFraction = 0.25;
// Shares of the ground truth's carrying weight at or above which a pathway "lowers" / "loses" it.
constexpr double kMainCarrierShare = 0.5, kSoleCarrierShare = 0.999;

using Measures = std::array<torch::Tensor, kMeasures>;   // (N) per image each; undefined: not measurable

struct Judge {
    model::CategoryClassifier net{nullptr};
    torch::Tensor category, position;   // the truth of the shown images
    bool category_ok = false, position_ok = false;
};

Measures measure_images(Judge& judge, const torch::Tensor& x, const torch::Tensor& palette, const torch::Tensor& edges, int64_t side) {
    Measures m;
    if (judge.category_ok) {
        const model::JudgeOutput out = judge.net->judge(x);
        m[0] = (out.logits.argmax(1) == judge.category).to(torch::kFloat);
        if (judge.position_ok) m[1] = (out.position - judge.position).norm(2, 1);
    }
    m[2] = model::delta_e(model::palette_of(x), palette);
    const torch::Tensor small = F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{side, side}).mode(torch::kArea));
    m[3] = model::pixcorr(model::edges_of(small), edges);
    return m;
}

Measures measure_conditions(Pipeline& p, Judge& judge, const DecodedConditions& c, const torch::Tensor& palette, const torch::Tensor& edges) {
    Measures m;
    const auto& d = p.run.data;
    if (judge.category_ok && c.caption.defined()) {
        const torch::Tensor nearest = p.nearest_caption(c.caption).cpu();
        std::vector<int64_t> images;
        for (int64_t i = 0; i < nearest.size(0); ++i) images.push_back(p.bank_image[static_cast<size_t>(nearest[i].item<int64_t>())]);
        const torch::Tensor caption_category = d.category.index_select(0, torch::tensor(images, torch::kLong).to(d.category.device()));
        m[0] = (caption_category == judge.category).to(torch::kFloat);
    }
    if (judge.position_ok && c.low_level.defined()) {
        const int64_t g = p.run.config.gen_image_size;
        const torch::Tensor start = F::interpolate(c.low_level, F::InterpolateFuncOptions().size(std::vector<int64_t>{g, g}).mode(torch::kBilinear).align_corners(false));
        m[1] = (judge.net->judge(start.clamp(0, 1)).position - judge.position).norm(2, 1);
    }
    if (c.palette.defined()) m[2] = model::delta_e(c.palette, palette);
    if (c.edges.defined()) m[3] = model::pixcorr(c.edges, edges);
    return m;
}

}  // namespace

std::string dissociation_prediction(double share) {
    if (share <= 0) return "kept";
    if (share >= kSoleCarrierShare) return "lost";
    if (share >= kMainCarrierShare) return "lowered";
    return "may lower";
}

DissociationVerdict dissociation_verdict(const std::string& predicted, const torch::Tensor& none, const torch::Tensor& row, double floor, bool higher_is_better) {
    const int64_t n = none.size(0);
    const torch::Tensor worse = higher_is_better ? none - row : row - none;   // > 0: the pathway's loss
    const double mean = worse.mean().item<double>();
    const double se = n > 1 ? worse.std().item<double>() / std::sqrt(static_cast<double>(n)) : 0.0;
    const double none_mean = none.mean().item<double>(), row_mean = row.mean().item<double>();
    const double none_se = n > 1 ? none.std().item<double>() / std::sqrt(static_cast<double>(n)) : 0.0;
    const double range = higher_is_better ? none_mean - floor : floor - none_mean;
    DissociationVerdict v;
    // With every stream on, the score must be clear of the floor for a loss to be seen at all.
    v.testable = range > kChangeStandardErrors * none_se;
    if (!v.testable) return v;
    const double threshold = std::max(kChangeStandardErrors * se, kChangeFractionOfRange * range);
    const bool loss = mean > threshold, gain = -mean > threshold;
    const double left = (higher_is_better ? row_mean - floor : floor - row_mean) / range;
    if (predicted == "kept") v.held = !loss;
    else if (predicted == "may lower") v.held = !gain;
    else if (predicted == "lowered") v.held = loss;
    else v.held = loss && left < kLostFraction;
    return v;
}

DissociationReport dissociation_report(Pipeline& p, const DissociationInput& in, int64_t figure_rows) {
    torch::NoGradGuard no_grad;
    const auto& d = p.run.data;
    const torch::Tensor palette = d.palettes.index_select(0, in.images), edges = d.edges.index_select(0, in.images);
    const int64_t n = in.images.size(0), side = p.run.config.image_size;

    Judge judge;
    judge.category_ok = p.has("classifier") && d.categories > 0;
    if (judge.category_ok) {
        judge.net = p.run.models.classifier;
        judge.net->eval();
        judge.category = d.category.index_select(0, in.images);
        judge.position_ok = judge.net->reads_position() && d.position.defined();
        if (judge.position_ok) judge.position = d.position.index_select(0, in.images);
    }
    // Ground truth of what each stream carries: the phantom's forward model.
    const bool ground_truth = d.categories > 0 && d.position.defined();

    std::array<double, kMeasures> floor{};
    floor[0] = d.categories > 0 ? 1.0 / static_cast<double>(d.categories) : 0.0;
    if (judge.position_ok) floor[1] = judge.position.norm(2, 1).mean().item<double>();   // always guessing the centre
    floor[2] = model::delta_e(d.palettes.index_select(0, d.train_image).mean(0, true).expand_as(palette), palette).mean().item<double>();
    floor[3] = 0.0;

    const std::vector<std::vector<std::string>> rows = dissociation_pathways(p.stream_groups());
    const torch::Tensor stream = torch::tensor(std::vector<int64_t>(d.stream.begin(), d.stream.end()), torch::kLong);
    auto share = [&](const std::vector<std::string>& groups, PhantomFeature feature) {
        torch::Tensor weight = torch::zeros({stream.size(0)}, torch::kDouble);
        for (int code = 0; code <= 7; ++code) weight.masked_fill_(stream == code, phantom_carrying_weight(code, feature));
        torch::Tensor mask = torch::zeros({stream.size(0)}, torch::kBool);
        for (const auto& g : groups) mask |= p.voxel_mask(g).cpu();
        const double total = weight.sum().item<double>();
        return total > 0 ? weight.masked_select(mask).sum().item<double>() / total : 0.0;
    };

    std::ostringstream md;
    md << "\n## The double dissociation\n\nEach row sets one pathway's voxels to their training mean (\"none\": every stream on); the "
          "columns say what survives, in the final images and in the conditions the encoders hand the generator. Category and "
          "position error are read by the stimulus judge (position error: distance of the object's centre in image half-widths"
       << (judge.position_ok ? "; always guessing the centre scores " + fixed3(floor[1]) : std::string("; this judge reads no position"))
       << "). Palette ΔE and position error: lower is better.\n\n";
    json out = {{"rows", json::array()}, {"ground_truth", ground_truth}};
    if (ground_truth) {
        md << "What the phantom's forward model predicts (docs/phantom.md): the share of each thing's tuning weight × voxels that the "
              "pathway holds — none: *kept*; under half: *may lower*; half or more: *lowered*; all: *lost*. A change counts when the "
              "mean per-image change is beyond "
           << kChangeStandardErrors << " standard errors and " << static_cast<int>(kChangeFractionOfRange * 100)
           << " % of the distance between all streams' score and the floor (chance, guessing the centre, the training mean palette, "
              "edge r 0); *lost* also leaves under "
           << static_cast<int>(kLostFraction * 100) << " % of that distance. ✓ the prediction held, ✗ it did not; *untestable*: with "
              "every stream on the score is already at the floor.\n\n| pathway off | category | position | colour | edges |\n|---|---|---|---|---|\n";
        for (const auto& groups : rows) {
            if (groups.empty()) continue;
            md << "| " << pathway_name(groups);
            for (int k = 0; k < kMeasures; ++k) {
                const double s = share(groups, kFeatures[static_cast<size_t>(k)]);
                md << " | " << dissociation_prediction(s) << " (" << static_cast<int>(std::lround(100 * s)) << " %)";
            }
            md << " |\n";
        }
    } else {
        md << "This dataset has no ground truth of what each stream carries (only the phantom has one), so the tables have no "
              "predictions; category and position need the phantom's ground truth too.\n";
    }

    auto table = [&](const std::string& title, const std::function<Measures(const std::string&)>& measure, const std::string& key) {
        md << "\n" << title << "\n\n| pathway off | category | position error | palette ΔE | edge r |\n|---|---|---|---|---|\n";
        const Measures none = measure("none");
        for (const auto& groups : rows) {
            const std::string name = pathway_name(groups);
            const Measures m = groups.empty() ? none : measure(name);
            json row = {{"pathway_off", name}, {"part", key}};
            md << "| " << name;
            for (int k = 0; k < kMeasures; ++k) {
                const auto ku = static_cast<size_t>(k);
                if (!m[ku].defined()) {
                    md << " | n/a";
                    row[kMeasureKeys[ku]] = nullptr;
                    continue;
                }
                const double value = m[ku].mean().item<double>();
                row[kMeasureKeys[ku]] = value;
                md << " | " << fixed3(value);
                if (ground_truth && !groups.empty()) {
                    const std::string predicted = dissociation_prediction(share(groups, kFeatures[ku]));
                    const DissociationVerdict v = dissociation_verdict(predicted, none[ku], m[ku], floor[ku], kHigherIsBetter[ku]);
                    md << " " << predicted << (v.testable ? (v.held ? " ✓" : " ✗") : " (untestable)");
                    row["predicted"][kMeasureKeys[ku]] = predicted;
                    row["held"][kMeasureKeys[ku]] = v.testable ? json(v.held) : json(nullptr);
                }
            }
            md << " |\n";
            out["rows"].push_back(row);
        }
    };
    table("### What survives in the final images", [&](const std::string& name) {
        return measure_images(judge, in.generated.at(name), palette, edges, side);
    }, "images");
    table("### What survives in the conditions, before the generator (category: the caption the generator is given; position: "
          "the img2img start, read by the judge)",
          [&](const std::string& name) { return measure_conditions(p, judge, in.conditions.at(name), palette, edges); }, "conditions");

    std::vector<torch::Tensor> columns = {d.gen_images.index_select(0, in.images)};
    std::string figure = "\n`dissociation.png`: the first " + std::to_string(std::min(n, figure_rows)) + " test images, one per row; columns: stimulus";
    for (const auto& groups : rows) {
        columns.push_back(in.generated.at(pathway_name(groups)));
        figure += " | " + (groups.empty() ? std::string("all streams") : pathway_name(groups) + " off");
    }
    md << figure << ".\n";
    return {md.str(), out, grid_image(columns, std::min(n, figure_rows))};
}

}  // namespace soul::eval
