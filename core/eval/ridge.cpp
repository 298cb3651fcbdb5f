#include "soul/ridge.h"

#include "soul/error.h"
#include "../model/ridge_solve.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace soul {
namespace {

// Weights for standardised X (n × d) and centred Y (n × k): primal when d ≤ n, else dual.
torch::Tensor ridge_weights(const torch::Tensor& X, const torch::Tensor& Y, double lambda) {
    if (X.size(1) <= X.size(0)) return model::solve_ridge(X.t().mm(X), X.t().mm(Y), lambda);
    return X.t().mm(model::solve_ridge(X.mm(X.t()), Y, lambda));
}

}  // namespace

RidgeModel fit_ridge(const std::vector<float>& Xv, int64_t n, int64_t d, const std::vector<float>& Yv, int64_t k,
                     const std::vector<double>& lambdas, double validation_fraction) {
    if (n < 2 || d < 1 || k < 1 || Xv.size() != static_cast<size_t>(n * d) || Yv.size() != static_cast<size_t>(n * k))
        throw Error("ridge: inputs and targets do not match in size");
    torch::NoGradGuard no_grad;
    const torch::Tensor X = torch::from_blob(const_cast<float*>(Xv.data()), {n, d}, torch::kFloat32).to(torch::kFloat64);
    const torch::Tensor Y = torch::from_blob(const_cast<float*>(Yv.data()), {n, k}, torch::kFloat32).to(torch::kFloat64);
    auto standardise = [](const torch::Tensor& x, torch::Tensor& mean, torch::Tensor& scale) {
        mean = x.mean(0);
        scale = 1.0 / x.std(0, /*unbiased=*/false).clamp_min(1e-8);
        return (x - mean) * scale;
    };

    double best_lambda = lambdas.empty() ? 1.0 : lambdas.front();
    const int64_t n_val = static_cast<int64_t>(n * validation_fraction);
    if (lambdas.size() > 1 && n_val >= 2 && n - n_val >= 2) {
        const auto Xt = X.slice(0, 0, n - n_val), Yt = Y.slice(0, 0, n - n_val);
        const auto Xh = X.slice(0, n - n_val, n), Yh = Y.slice(0, n - n_val, n);
        torch::Tensor xm, xs;
        const auto Xs = standardise(Xt, xm, xs);
        const auto ym = Yt.mean(0);
        const auto Xhs = (Xh - xm) * xs;
        double best = std::numeric_limits<double>::infinity();
        for (double lambda : lambdas) {
            const auto W = ridge_weights(Xs, Yt - ym, lambda);
            const double mse = (Xhs.mm(W) + ym - Yh).pow(2).mean().item<double>();
            if (mse < best) {
                best = mse;
                best_lambda = lambda;
            }
        }
    }
    torch::Tensor xm, xs;
    const auto Xs = standardise(X, xm, xs);
    const auto ym = Y.mean(0);
    const auto W = ridge_weights(Xs, Y - ym, best_lambda).to(torch::kFloat32).contiguous();
    RidgeModel m;
    m.inputs = d;
    m.outputs = k;
    m.lambda = best_lambda;
    auto copy = [](const torch::Tensor& t) {
        const auto c = t.to(torch::kFloat32).contiguous();
        return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    };
    m.x_mean = copy(xm);
    m.x_scale = copy(xs);
    m.y_mean = copy(ym);
    m.weights = copy(W);
    return m;
}

std::vector<float> predict_ridge(const RidgeModel& m, const std::vector<float>& Xv, int64_t n) {
    if (Xv.size() != static_cast<size_t>(n * m.inputs)) throw Error("ridge: inputs do not match the model");
    torch::NoGradGuard no_grad;
    const auto X = torch::from_blob(const_cast<float*>(Xv.data()), {n, m.inputs}, torch::kFloat32);
    const auto mean = torch::from_blob(const_cast<float*>(m.x_mean.data()), {m.inputs}, torch::kFloat32);
    const auto scale = torch::from_blob(const_cast<float*>(m.x_scale.data()), {m.inputs}, torch::kFloat32);
    const auto W = torch::from_blob(const_cast<float*>(m.weights.data()), {m.inputs, m.outputs}, torch::kFloat32);
    const auto ym = torch::from_blob(const_cast<float*>(m.y_mean.data()), {m.outputs}, torch::kFloat32);
    const auto Y = (((X - mean) * scale).mm(W) + ym).contiguous();
    return {Y.data_ptr<float>(), Y.data_ptr<float>() + Y.numel()};
}

double pearson(const float* a, const float* b, int64_t n) {
    double ma = 0, mb = 0;
    for (int64_t i = 0; i < n; ++i) {
        ma += a[i];
        mb += b[i];
    }
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int64_t i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

}  // namespace soul
