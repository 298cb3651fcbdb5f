// A Mamba block (Gu & Dao 2023, fig. 3; reference: mamba_ssm/modules/mamba_simple.py), pre-norm
// with a residual: x + out(scan(conv(in_x)) · silu(in_z)).
#pragma once

#include "norms.h"

#include <torch/torch.h>

namespace soul::model {

struct MambaOptions {
    int64_t width = 64;        // d_model
    int64_t state = 8;         // N, the SSM state per channel
    int64_t expand = 2;        // inner width = expand × width
    int64_t conv = 4;          // causal depthwise convolution length
    // Which selective scan: automatic = sequential on the CPU, parallel (chunks of scan_chunk) on
    // CUDA; the others force one (tests run the CUDA path on the CPU with parallel).
    enum class Scan { automatic, sequential, parallel } scan = Scan::automatic;
    int64_t scan_chunk = 32;       // the parallel scan's chunk length, as on CUDA
};

class MambaBlockImpl : public torch::nn::Module {
public:
    explicit MambaBlockImpl(const MambaOptions& options);
    // x: (B, L, width) → (B, L, width).
    torch::Tensor forward(const torch::Tensor& x);
    MambaOptions options;

private:
    int64_t inner_, dt_rank_;
    LayerNorm32 norm_{nullptr};
    torch::nn::Linear in_proj_{nullptr}, x_proj_{nullptr}, dt_proj_{nullptr}, out_proj_{nullptr};
    torch::nn::Conv1d conv_{nullptr};
    torch::Tensor A_log_, D_;
};
TORCH_MODULE(MambaBlock);

}  // namespace soul::model
