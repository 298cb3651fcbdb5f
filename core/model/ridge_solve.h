// The engine's one ridge solver (Hoerl & Kennard 1970): (G + λI) Z = R for a symmetric positive
// semi-definite Gram matrix G, by Cholesky in double precision. Primal ridge passes XᵀX and XᵀY,
// the dual form (Saunders et al. 1998) the kernel XXᵀ and Y; the linear probes pass their XᵀX.
#pragma once

#include <torch/torch.h>

namespace soul::model {

// Z in G's dtype promoted to double; callers cast back where they keep float.
inline torch::Tensor solve_ridge(const torch::Tensor& gram, const torch::Tensor& rhs, double lambda) {
    const torch::Tensor g = gram.to(torch::kFloat64);
    const torch::Tensor l = torch::linalg_cholesky(g + lambda * torch::eye(g.size(0), g.options()));
    return torch::cholesky_solve(rhs.to(torch::kFloat64), l);
}

}  // namespace soul::model
