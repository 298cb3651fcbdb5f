// The field's standard evaluation of NSD reconstructions, computed as MindEye2's evaluation
// notebook computes it (Scotti et al. 2024, "MindEye2: Shared-Subject Models Enable fMRI-To-Image
// With 1 Hour of Data", github.com/MedARC-AI/MindEyeV2 src/final_evaluations.ipynb; MindEye1,
// DREAM and Brain-Diffuser report the same columns):
//   every image first resized to 256 × 256 (bilinear, no antialiasing: torchvision's Resize on
//   tensors);
//   PixCorr: resized to 425 px, Pearson r over all pixels and channels, per image, averaged;
//   SSIM: resized to 425 px, grey by skimage's rgb2gray (0.2125 R + 0.7154 G + 0.0721 B), then
//     skimage's structural_similarity(multichannel=True, gaussian_weights=True, sigma=1.5,
//     use_sample_covariance=False, data_range=1). On a grey image multichannel=True makes every
//     column a channel, so the reference computes a 1-D SSIM down each column (11-tap Gaussian,
//     'reflect' edges, 5 rows cropped at each end) and averages over columns; so does this code,
//     to stay comparable with the published tables;
//   two-way identification on a network's features: for each reconstruction, the fraction of the
//     other stimuli whose features correlate with it less than its own stimulus's do (ties lose);
//   correlation distance (scipy.spatial.distance.correlation, 1 − r) between the features of a
//     reconstruction and of its stimulus, averaged;
//   retrieval: top-1 among `subset` random test trials (300), brain → image ("forward") and
//     image → brain ("backward"), cosine similarity of L2-normalised embeddings, averaged over
//     `repeats` random subsets (30).
#pragma once

#include "metric_nets.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace soul::metrics {

constexpr int64_t kEvaluationSize = 256;   // MindEye2's imsize: every image is resized to it first
constexpr int64_t kPixelSize = 425;        // PixCorr and SSIM resize to NSD's stimulus size

// (N, 3, H, W) → (N, 3, size, size), bilinear, no antialiasing.
torch::Tensor resize(const torch::Tensor& images, int64_t size);

double pixcorr(const torch::Tensor& truth, const torch::Tensor& reconstruction);   // images in [0, 1]
double ssim(const torch::Tensor& truth, const torch::Tensor& reconstruction);
// (N, D) features of the stimuli and of their reconstructions, row i against row i.
double two_way(const torch::Tensor& truth, const torch::Tensor& reconstruction);
double correlation_distance(const torch::Tensor& truth, const torch::Tensor& reconstruction);

struct Retrieval {
    double forward = 0, backward = 0;   // brain → image, image → brain; chance 1 / subset
    int64_t subset = 0, repeats = 0;
};
Retrieval retrieval(const torch::Tensor& brain, const torch::Tensor& image, int64_t subset = 300, int64_t repeats = 30, uint64_t seed = 42);

// The eight columns of the field's table, in its order, with the direction that is better.
struct MetricColumn {
    const char* name;
    bool higher_is_better;
};
const std::vector<MetricColumn>& metric_columns();

// A row of the table: a value per column, or none where the column's network was not supplied.
struct MetricRow {
    std::string name;
    std::map<std::string, std::optional<double>> values;
    std::map<std::string, std::string> missing;   // column → why it has no value
};

// The networks found in a folder (metric_nets.h's file names), loaded once.
class MetricNetworks {
public:
    // `folder` empty: none. A file that is there but unreadable is reported in `problems()` and
    // its columns stay empty; the other columns are still computed.
    explicit MetricNetworks(const std::string& folder);
    std::shared_ptr<MetricNetwork> get(NetId id) const;   // null when absent
    const std::vector<std::string>& problems() const { return problems_; }
    std::string why_missing(NetId id) const;

private:
    std::string folder_;
    std::map<NetId, std::shared_ptr<MetricNetwork>> nets_;
    std::map<NetId, std::string> missing_;
    std::vector<std::string> problems_;
};

// The eight metrics against one set of stimuli ((N, 3, S, S) in [0, 1], any S): the stimuli's
// features are taken once, each row then costs its reconstructions' passes only.
class StandardScorer {
public:
    StandardScorer(const torch::Tensor& truth, const MetricNetworks& nets);
    MetricRow operator()(const std::string& name, const torch::Tensor& reconstructions) const;

private:
    const MetricNetworks& nets_;
    torch::Tensor truth_;                                   // at kEvaluationSize
    std::map<NetId, std::vector<torch::Tensor>> features_;  // the stimuli's, per network and layer
};

}  // namespace soul::metrics
