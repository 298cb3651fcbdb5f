// The selective scan of Mamba (Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective
// State Spaces", 2023, Algorithm 2 / eq. 2a–2b), discretised with zero-order hold on A and
// Euler on B as in the reference implementation (mamba_ssm/ops/selective_scan_interface.py,
// selective_scan_ref):
//   h_t = exp(Δ_t A) ⊙ h_{t−1} + (Δ_t u_t) B_t,     y_t = ⟨h_t, C_t⟩ + D u_t
// Shapes: u, delta (B, L, E); A (E, N); Bm, Cm (B, L, N); D (E). Returns y (B, L, E).
#pragma once

#include <torch/torch.h>

namespace soul::model {

// The plain sequential recurrence: one step per time point. The definition the fast version is
// tested against.
torch::Tensor selective_scan_reference(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                                       const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D);

// The same recurrence as a parallel prefix scan (Hillis & Steele 1986) of the linear operators
// (a, b) ∘ (a', b') = (a a', a' b + b') inside chunks of `chunk` steps, carried sequentially
// across chunks: log2(chunk) whole-tensor steps per chunk instead of `chunk` small ones. Only
// products of decays ≤ 1 appear, so it is as stable as the sequential form. It does log2(chunk)
// times the arithmetic: on a 2-core CPU it measured slower than the sequential form (bench/RESULTS.md),
// so MambaBlock uses it on CUDA only, where fewer, larger kernels win.
torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                             const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D, int64_t chunk = 32);

}  // namespace soul::model
