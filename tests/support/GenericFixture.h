// A tiny dataset in the generic layout (docs/datasets.md, "Other fMRI datasets"): a 4×3×2 grid,
// two runs, PNG stimuli of several sizes and a trials.csv with captions and a partly filled split
// column. Every beta is known (beta()), so tests can recompute what prepare must give. Used by the
// generic preparation suite and for the fuzz targets' seeds.
#pragma once

#include "soul/formats.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace soultest {
namespace generic {

constexpr int64_t kNx = 4, kNy = 3, kNz = 2;
extern const std::array<int64_t, 2> kFrames;   // frames of run-1 and run-2

// Trials in CSV order: (run, 1-based volume, image, split, caption).
struct Row {
    int run;
    int64_t volume;
    std::string image, split, caption;
};
extern const std::vector<Row> kRows;

// The beta of a 1-based run, a 0-based frame and a voxel index (known, not separable).
double beta(int run, int64_t frame, int64_t voxel);
// The stimulus named `name`: one flat colour, a height that depends on the name.
soul::RgbImage image_for(const std::string& name);
void write_table(const std::string& path, const std::vector<Row>& rows);

}  // namespace generic

// Writes the dataset into `root` (betas/, rois/, images/, trials.csv); returns `root`.
std::string write_generic_fixture(const std::string& root);

}  // namespace soultest
