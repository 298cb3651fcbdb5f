// Ridge regression (Hoerl & Kennard 1970) from voxels to targets, the decoder the field uses as
// its linear baseline (Takagi & Nishimoto 2023; Ozcelik & VanRullen 2023). LibTorch inside, a
// plain-array interface outside. The penalty is chosen on a held-out part of the training rows.
#pragma once

#include <cstdint>
#include <vector>

namespace soul {

struct RidgeModel {
    int64_t inputs = 0, outputs = 0;
    double lambda = 0;
    std::vector<float> x_mean, x_scale;   // standardisation of inputs (training statistics)
    std::vector<float> y_mean;
    std::vector<float> weights;           // inputs × outputs, on standardised inputs
};

// X: n × d (row-major), Y: n × k. `lambdas` are tried (relative to the number of inputs' scale,
// i.e. penalties on standardised inputs); the best on the last `validation_fraction` of the rows
// (lowest mean squared error) is refitted on all rows.
RidgeModel fit_ridge(const std::vector<float>& X, int64_t n, int64_t d, const std::vector<float>& Y, int64_t k,
                     const std::vector<double>& lambdas = {1, 10, 100, 1e3, 1e4, 1e5},
                     double validation_fraction = 0.2);

// n × k predictions for X (n × d).
std::vector<float> predict_ridge(const RidgeModel& model, const std::vector<float>& X, int64_t n);

// Pearson correlation of two equally long series.
double pearson(const float* a, const float* b, int64_t n);

}  // namespace soul
