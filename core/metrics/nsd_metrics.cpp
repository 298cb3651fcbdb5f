// The field's standard NSD evaluation (nsd_metrics.h), after MindEye2's final_evaluations.ipynb.
#include "nsd_metrics.h"

#include "soul/error.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <numeric>
#include <random>

namespace soul::metrics {
namespace {

constexpr double kSsimSigma = 1.5, kSsimTruncate = 3.5;   // skimage: an 11-tap window
constexpr double kSsimK1 = 0.01, kSsimK2 = 0.03, kDataRange = 1.0;
constexpr int64_t kBatch = 16;                            // images per network pass

// ImageNet's and CLIP's normalisations, as the reference's preprocess applies them.
const double kImageNetMean[] = {0.485, 0.456, 0.406}, kImageNetStd[] = {0.229, 0.224, 0.225};
const double kClipMean[] = {0.48145466, 0.4578275, 0.40821073}, kClipStd[] = {0.26862954, 0.26130258, 0.27577711};

// Rows of (N, D) centred and scaled to unit norm, so that a dot product is Pearson's r.
torch::Tensor standardised(const torch::Tensor& x) {
    auto c = x.to(torch::kFloat64).flatten(1);
    c = c - c.mean(1, true);
    return c / c.norm(2, 1, true).clamp_min(1e-300);
}

// scipy.ndimage's 'reflect' edges (d c b a | a b c d | d c b a) along `dim`, `r` samples each side.
torch::Tensor reflect_pad(const torch::Tensor& x, int64_t dim, int64_t r) {
    const int64_t n = x.size(dim);
    std::vector<int64_t> index;
    for (int64_t i = -r; i < n + r; ++i) {
        int64_t j = i;
        while (j < 0 || j >= n) j = j < 0 ? -j - 1 : 2 * n - 1 - j;
        index.push_back(j);
    }
    return x.index_select(dim, torch::tensor(index, torch::kInt64));
}

// A 1-D Gaussian filter down the rows (dim 1) of (N, H, W), as scipy.ndimage.gaussian_filter1d.
torch::Tensor gaussian_rows(const torch::Tensor& x) {
    const auto r = static_cast<int64_t>(kSsimTruncate * kSsimSigma + 0.5);
    auto taps = torch::arange(-r, r + 1, torch::kFloat64);
    taps = torch::exp(-0.5 * taps * taps / (kSsimSigma * kSsimSigma));
    taps = taps / taps.sum();
    const auto padded = reflect_pad(x, 1, r);
    auto out = torch::zeros_like(x);
    for (int64_t k = 0; k <= 2 * r; ++k) out += taps[k] * padded.narrow(1, k, x.size(1));
    return out;
}

torch::Tensor normalise(const torch::Tensor& images, const double* mean, const double* std) {
    const auto m = torch::tensor({mean[0], mean[1], mean[2]}, images.options()).view({1, 3, 1, 1});
    const auto s = torch::tensor({std[0], std[1], std[2]}, images.options()).view({1, 3, 1, 1});
    return (images - m) / s;
}

// The features of every layer for every image, in batches: resized to `size`, normalised.
std::vector<torch::Tensor> features(MetricNetwork& net, const torch::Tensor& images, int64_t size, const double* mean, const double* std) {
    torch::NoGradGuard no_grad;
    std::vector<std::vector<torch::Tensor>> parts;
    for (int64_t i = 0; i < images.size(0); i += kBatch) {
        const auto batch = images.narrow(0, i, std::min(kBatch, images.size(0) - i));
        auto out = net.layers(normalise(resize(batch, size), mean, std));
        if (parts.empty()) parts.resize(out.size());
        for (size_t l = 0; l < out.size(); ++l) parts[l].push_back(out[l].flatten(1).to(torch::kFloat64));
    }
    std::vector<torch::Tensor> layers;
    for (auto& p : parts) layers.push_back(torch::cat(p));
    return layers;
}

}  // namespace

torch::Tensor resize(const torch::Tensor& images, int64_t size) {
    if (images.size(2) == size && images.size(3) == size) return images.to(torch::kFloat32);
    namespace F = torch::nn::functional;
    return F::interpolate(images.to(torch::kFloat32),
                          F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kBilinear).align_corners(false));
}

// Per-image scores, a batch at a time (1000 images at 425 px in float64 would need gigabytes).
torch::Tensor per_image(const torch::Tensor& truth, const torch::Tensor& reconstruction,
                        const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& score) {
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < truth.size(0); i += kBatch) {
        const int64_t b = std::min(kBatch, truth.size(0) - i);
        parts.push_back(score(truth.narrow(0, i, b), reconstruction.narrow(0, i, b)));
    }
    return torch::cat(parts);
}

double pixcorr(const torch::Tensor& truth, const torch::Tensor& reconstruction) {
    return per_image(truth, reconstruction, [](const torch::Tensor& t, const torch::Tensor& r) {
               return (standardised(resize(t, kPixelSize)) * standardised(resize(r, kPixelSize))).sum(1);
           })
        .mean()
        .item<double>();
}

double ssim(const torch::Tensor& truth, const torch::Tensor& reconstruction) {
    auto grey = [](const torch::Tensor& images) {
        const auto x = resize(images, kPixelSize).to(torch::kFloat64);
        return 0.2125 * x.select(1, 0) + 0.7154 * x.select(1, 1) + 0.0721 * x.select(1, 2);   // skimage's rgb2gray
    };
    return per_image(truth, reconstruction, [&](const torch::Tensor& t, const torch::Tensor& r) {
               const auto x = grey(t), y = grey(r);
               const auto ux = gaussian_rows(x), uy = gaussian_rows(y);
               const auto vx = gaussian_rows(x * x) - ux * ux, vy = gaussian_rows(y * y) - uy * uy, vxy = gaussian_rows(x * y) - ux * uy;
               const double c1 = std::pow(kSsimK1 * kDataRange, 2), c2 = std::pow(kSsimK2 * kDataRange, 2);
               const auto s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
               const auto pad = static_cast<int64_t>(kSsimTruncate * kSsimSigma + 0.5);
               return s.narrow(1, pad, s.size(1) - 2 * pad).mean({1, 2});
           })
        .mean()
        .item<double>();
}

double two_way(const torch::Tensor& truth, const torch::Tensor& reconstruction) {
    const int64_t n = truth.size(0);
    if (n < 2) return std::nan("");
    const auto r = torch::mm(standardised(truth), standardised(reconstruction).t());   // r[i][j]: stimulus i, reconstruction j
    const auto congruent = r.diagonal().unsqueeze(0);
    const auto wins = (r < congruent).sum(0).to(torch::kFloat64);
    return wins.mean().item<double>() / static_cast<double>(n - 1);
}

double correlation_distance(const torch::Tensor& truth, const torch::Tensor& reconstruction) {
    return (1 - (standardised(truth) * standardised(reconstruction)).sum(1)).mean().item<double>();
}

Retrieval retrieval(const torch::Tensor& brain, const torch::Tensor& image, int64_t subset, int64_t repeats, uint64_t seed) {
    Retrieval out;
    const int64_t n = brain.size(0);
    out.subset = std::min(subset, n);
    out.repeats = repeats;
    std::mt19937_64 rng(seed);
    std::vector<int64_t> order(static_cast<size_t>(n));
    const auto b = torch::nn::functional::normalize(brain.to(torch::kFloat64).flatten(1), torch::nn::functional::NormalizeFuncOptions().dim(1));
    const auto i = torch::nn::functional::normalize(image.to(torch::kFloat64).flatten(1), torch::nn::functional::NormalizeFuncOptions().dim(1));
    for (int64_t rep = 0; rep < repeats; ++rep) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        const auto pick = torch::tensor(std::vector<int64_t>(order.begin(), order.begin() + out.subset), torch::kInt64);
        const auto similarity = torch::mm(b.index_select(0, pick), i.index_select(0, pick).t());   // rows: brain
        const auto labels = torch::arange(out.subset, torch::kInt64);
        out.forward += (similarity.argmax(1) == labels).to(torch::kFloat64).mean().item<double>();
        out.backward += (similarity.argmax(0) == labels).to(torch::kFloat64).mean().item<double>();
    }
    out.forward /= static_cast<double>(repeats);
    out.backward /= static_cast<double>(repeats);
    return out;
}

const std::vector<MetricColumn>& metric_columns() {
    static const std::vector<MetricColumn> kColumns = {{"PixCorr", true}, {"SSIM", true},       {"AlexNet(2)", true}, {"AlexNet(5)", true},
                                                       {"Incep", true},   {"CLIP", true},       {"EffNet-B", false},  {"SwAV", false}};
    return kColumns;
}

MetricNetworks::MetricNetworks(const std::string& folder) : folder_(folder) {
    for (const auto& spec : net_files()) {
        if (folder.empty()) {
            missing_[spec.id] = "n/a (no weights: give --metric-nets)";
            continue;
        }
        const auto path = (std::filesystem::path(folder) / spec.file).string();
        if (!std::filesystem::exists(path)) {
            missing_[spec.id] = std::string("n/a (no weights: ") + spec.file + " not in " + folder + "; from " + spec.source + ")";
            continue;
        }
        try {
            auto net = make_network(spec.id);
            load_network(*net, spec, path);
            nets_[spec.id] = net;
        } catch (const Error& e) {
            problems_.push_back(e.what());
            missing_[spec.id] = std::string("n/a (") + spec.file + " unreadable)";
        }
    }
}

std::shared_ptr<MetricNetwork> MetricNetworks::get(NetId id) const {
    const auto it = nets_.find(id);
    return it == nets_.end() ? nullptr : it->second;
}

std::string MetricNetworks::why_missing(NetId id) const {
    const auto it = missing_.find(id);
    return it == missing_.end() ? "" : it->second;
}

namespace {

// Each network with the resize and normalisation its weights' transforms use (the reference's
// preprocess), and its columns in layer order: two-way identification, or else correlation distance.
struct Use {
    NetId id;
    int64_t size;
    const double *mean, *std;
    std::vector<std::pair<std::string, bool>> columns;
};

const std::vector<Use>& uses() {
    static const std::vector<Use> kUses = {{NetId::AlexNet, 256, kImageNetMean, kImageNetStd, {{"AlexNet(2)", true}, {"AlexNet(5)", true}}},
                                           {NetId::InceptionV3, 342, kImageNetMean, kImageNetStd, {{"Incep", true}}},
                                           {NetId::Clip, 224, kClipMean, kClipStd, {{"CLIP", true}}},
                                           {NetId::EfficientNetB1, 255, kImageNetMean, kImageNetStd, {{"EffNet-B", false}}},
                                           {NetId::SwAV, 224, kImageNetMean, kImageNetStd, {{"SwAV", false}}}};
    return kUses;
}

}  // namespace

StandardScorer::StandardScorer(const torch::Tensor& truth, const MetricNetworks& nets) : nets_(nets), truth_(resize(truth, kEvaluationSize)) {
    for (const Use& use : uses())
        if (const auto net = nets.get(use.id)) features_[use.id] = features(*net, truth_, use.size, use.mean, use.std);
}

MetricRow StandardScorer::operator()(const std::string& name, const torch::Tensor& reconstructions) const {
    MetricRow row;
    row.name = name;
    const auto r = resize(reconstructions, kEvaluationSize);
    row.values["PixCorr"] = pixcorr(truth_, r);
    row.values["SSIM"] = ssim(truth_, r);
    for (const Use& use : uses()) {
        const auto net = nets_.get(use.id);
        if (!net) {
            for (const auto& [column, two] : use.columns) {
                row.values[column] = std::nullopt;
                row.missing[column] = nets_.why_missing(use.id);
            }
            continue;
        }
        const auto& ft = features_.at(use.id);
        const auto fr = features(*net, r, use.size, use.mean, use.std);
        for (size_t l = 0; l < use.columns.size(); ++l) {
            const auto& [column, two] = use.columns[l];
            row.values[column] = two ? two_way(ft[l], fr[l]) : correlation_distance(ft[l], fr[l]);
        }
    }
    return row;
}

}  // namespace soul::metrics
