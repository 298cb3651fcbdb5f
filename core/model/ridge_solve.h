// The engine's one ridge solver (Hoerl & Kennard 1970): (G + λI) Z = R for a symmetric positive
// semi-definite Gram matrix G, by Cholesky in double precision. Primal ridge passes XᵀX and XᵀY,
// the dual form (Saunders et al. 1998) the kernel XXᵀ and Y; the linear probes (fit_probe) their XᵀX.
#pragma once

#include <torch/torch.h>

namespace soul::model {

// Z in G's dtype promoted to double; callers cast back where they keep float.
inline torch::Tensor solve_ridge(const torch::Tensor& gram, const torch::Tensor& rhs, double lambda) {
    const torch::Tensor g = gram.to(torch::kFloat64);
    const torch::Tensor l = torch::linalg_cholesky(g + lambda * torch::eye(g.size(0), g.options()));
    return torch::cholesky_solve(rhs.to(torch::kFloat64), l);
}

// Features (N, D) with a bias column appended: (N, D+1).
inline torch::Tensor with_bias(const torch::Tensor& features) {
    return torch::cat({features, torch::ones({features.size(0), 1}, features.options())}, 1);
}

// A linear probe (Alain & Bengio 2016, "Understanding intermediate layers using linear classifier
// probes"): ridge least squares from features plus a bias to targets (N, K), returning the float
// weights (D+1, K); apply as with_bias(x).mm(w).
inline torch::Tensor fit_probe(const torch::Tensor& features, const torch::Tensor& targets, double lambda) {
    const torch::Tensor x = with_bias(features).to(torch::kFloat64);
    return solve_ridge(x.t().mm(x), x.t().mm(targets.to(torch::kFloat64)), lambda).to(torch::kFloat);
}

}  // namespace soul::model
