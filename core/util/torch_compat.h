// The one place where the engine's code differs between LibTorch 1.13 (Debian 12, CI) and 2.x
// (Debian 13's 2.6, the GPU machine's pip wheel). Everything else compiles unchanged on both;
// tools/check-libtorch2.sh compiles every engine source against 2.x headers to keep it so.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

// 2.4 replaced the per-device autocast functions (set_cpu_enabled, set_autocast_gpu_dtype, …) by
// ones that take the device type; 2.x keeps the old names only as deprecated wrappers.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SOUL_TORCH_AUTOCAST_BY_DEVICE 1
#else
#define SOUL_TORCH_AUTOCAST_BY_DEVICE 0
#endif

namespace soul {

// Mixed precision for the scope of one forward pass, as torch.autocast(device_type, dtype):
// matrix products and convolutions in `dtype`, reductions, norms and losses in float32. On CUDA
// and on the CPU; bfloat16 needs no loss scaling. Inactive (a no-op) when `on` is false.
class AutocastGuard {
public:
    AutocastGuard(torch::Device device, bool on, at::ScalarType dtype = at::kBFloat16) : cuda_(device.is_cuda()), on_(on) {
        if (!on_) return;
#if SOUL_TORCH_AUTOCAST_BY_DEVICE
        const at::DeviceType type = cuda_ ? at::kCUDA : at::kCPU;
        was_enabled_ = at::autocast::is_autocast_enabled(type);
        was_dtype_ = at::autocast::get_autocast_dtype(type);
        at::autocast::set_autocast_dtype(type, dtype);
        at::autocast::set_autocast_enabled(type, true);
#else
        if (cuda_) {
            was_enabled_ = at::autocast::is_enabled();
            was_dtype_ = at::autocast::get_autocast_gpu_dtype();
            at::autocast::set_autocast_gpu_dtype(dtype);
            at::autocast::set_enabled(true);
        } else {
            was_enabled_ = at::autocast::is_cpu_enabled();
            was_dtype_ = at::autocast::get_autocast_cpu_dtype();
            at::autocast::set_autocast_cpu_dtype(dtype);
            at::autocast::set_cpu_enabled(true);
        }
#endif
        at::autocast::increment_nesting();
    }
    ~AutocastGuard() {
        if (!on_) return;
#if SOUL_TORCH_AUTOCAST_BY_DEVICE
        const at::DeviceType type = cuda_ ? at::kCUDA : at::kCPU;
        at::autocast::set_autocast_enabled(type, was_enabled_);
        at::autocast::set_autocast_dtype(type, was_dtype_);
#else
        if (cuda_) {
            at::autocast::set_enabled(was_enabled_);
            at::autocast::set_autocast_gpu_dtype(was_dtype_);
        } else {
            at::autocast::set_cpu_enabled(was_enabled_);
            at::autocast::set_autocast_cpu_dtype(was_dtype_);
        }
#endif
        // The cast weights are cached for the outermost scope only, as torch.autocast does.
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    }
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    bool cuda_, on_;
    bool was_enabled_ = false;
    at::ScalarType was_dtype_ = at::kBFloat16;
};

}  // namespace soul
