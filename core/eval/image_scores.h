// Scores of generated images against the stimuli they should show, shared by the generator's
// oracle evaluation and the reconstruction evaluation (design.md §7 lists the field's metrics):
//   PixCorr, SSIM (image_metrics.h); category: the stimulus-only classifier's accuracy on the
//   generated images; palette ΔE: CIE76 between the 8×8 palettes of the generated and true images;
//   edge r: Pearson r of edge maps; 2-way: identification in the built-in image embedding.
#pragma once

#include "../train/encoder_run.h"
#include "soul/formats.h"

#include <string>
#include <vector>

namespace soul::eval {

using train::LoadedRun;

struct ImageScores {
    std::string name;
    double pixcorr = 0, ssim = 0, category = 0, delta_e = 0, edge_r = 0, two_way = 0;   // category NaN: no classifier
};

class ImageScorer {
public:
    // `images`: the dataset images the generated rows should show (N).
    ImageScorer(LoadedRun& run, const torch::Tensor& images);
    ImageScores operator()(const std::string& name, const torch::Tensor& generated) const;
    const torch::Tensor& truth() const { return truth_; }    // (N, 3, G, G)
    bool classifies() const { return classify_; }
    const torch::Tensor& true_embedding() const { return true_embedding_; }   // the stimuli in the built-in image embedding

private:
    LoadedRun& run_;
    torch::Tensor truth_, palette_, edges_, category_, true_embedding_;
    bool classify_ = false;
};

// The images an evaluation scores: `split` "test" (the final numbers) or "validation" (the
// training images the run held out, to choose settings on); throws naming the run when it has
// no such split.
const torch::Tensor& evaluation_images(const train::TrainData& data, const std::string& split, const std::string& run);

// Images (N, 3, H, W) at side × side (area resampling), or `x` itself when it is that size.
torch::Tensor at_size(const torch::Tensor& x, int64_t side);

// A figure: one row per image, one column per tensor (N, 3, S, S), cells enlarged 2×.
RgbImage grid_image(const std::vector<torch::Tensor>& columns, int64_t rows);

// report.md (preamble, the score table, epilogue), report.json (`meta` plus the rows) and
// report.csv, in `folder`; returns the Markdown.
std::string write_score_report(const std::string& folder, const std::string& preamble, const std::vector<ImageScores>& scores,
                               const std::string& epilogue, nlohmann::json meta);

}  // namespace soul::eval
