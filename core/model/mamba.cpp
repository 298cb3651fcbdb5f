// Mamba block (see mamba.h). Initialisation as the reference: A = −[1..N] per channel (S4D-real),
// Δ's bias so that softplus(bias) is log-uniform in [0.001, 0.1], D = 1.
#include "mamba.h"
#include "norms.h"

#include "selective_scan.h"

#include <cmath>

namespace soul::model {

namespace {
constexpr double kDeltaMin = 0.001, kDeltaMax = 0.1;   // range of the initial step sizes Δ
}

MambaBlockImpl::MambaBlockImpl(const MambaOptions& o) : options(o) {
    inner_ = o.expand * o.width;
    dt_rank_ = (o.width + 15) / 16;   // the reference's "auto": ceil(d_model / 16)
    norm_ = register_module("norm", layer_norm(o.width));
    in_proj_ = register_module("in_proj", torch::nn::Linear(torch::nn::LinearOptions(o.width, 2 * inner_).bias(false)));
    conv_ = register_module("conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(inner_, inner_, o.conv).groups(inner_).padding(o.conv - 1)));
    x_proj_ = register_module("x_proj", torch::nn::Linear(torch::nn::LinearOptions(inner_, dt_rank_ + 2 * o.state).bias(false)));
    dt_proj_ = register_module("dt_proj", torch::nn::Linear(dt_rank_, inner_));
    out_proj_ = register_module("out_proj", torch::nn::Linear(torch::nn::LinearOptions(inner_, o.width).bias(false)));
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor dt = torch::exp(torch::rand({inner_}) * (std::log(kDeltaMax) - std::log(kDeltaMin)) + std::log(kDeltaMin));
        dt_proj_->bias.copy_(dt + torch::log(-torch::expm1(-dt)));   // the inverse of softplus
    }
    A_log_ = register_parameter("A_log", torch::log(torch::arange(1, o.state + 1, torch::kFloat)).repeat({inner_, 1}));
    D_ = register_parameter("D", torch::ones({inner_}));
}

torch::Tensor MambaBlockImpl::forward(const torch::Tensor& x) {
    const int64_t length = x.size(1);
    const torch::Tensor xz = in_proj_(norm_(x));
    torch::Tensor u = xz.narrow(-1, 0, inner_);
    const torch::Tensor z = xz.narrow(-1, inner_, inner_);
    u = torch::silu(conv_(u.transpose(1, 2)).narrow(2, 0, length).transpose(1, 2));   // causal: the first L outputs
    const torch::Tensor proj = x_proj_(u);
    const torch::Tensor delta = torch::softplus(dt_proj_(proj.narrow(-1, 0, dt_rank_)));
    const torch::Tensor Bm = proj.narrow(-1, dt_rank_, options.state), Cm = proj.narrow(-1, dt_rank_ + options.state, options.state);
    const torch::Tensor A = -torch::exp(A_log_);
    // On CPU the step-by-step recurrence (vectorised over batch, channels and state) measured faster
    // than the parallel scan, which does log2(chunk) times the work (bench/RESULTS.md); the
    // parallel scan is for GPUs, where the number of kernel launches dominates.
    using Scan = MambaOptions::Scan;
    const bool sequential = options.scan == Scan::sequential || (options.scan == Scan::automatic && !x.is_cuda());
    const torch::Tensor y = sequential ? selective_scan_reference(u, delta, A, Bm, Cm, D_) : selective_scan(u, delta, A, Bm, Cm, D_, options.scan_chunk);
    return x + out_proj_(y * torch::silu(z));
}

}  // namespace soul::model
