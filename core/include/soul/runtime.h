// The compute runtime: set up once per process (CPU thread count, device choice), and what it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace soul {

// Sets LibTorch's CPU thread count to the machine's cores (Debian's LibTorch starts with one)
// and returns it. Safe to call more than once.
int init_compute_threads();

// "cuda" when LibTorch sees a CUDA device, else "cpu" — the device is chosen here, once.
std::string default_device_name();

// LibTorch's version string, e.g. "1.13.1".
std::string torch_version();

// One GPU as the CUDA driver reports it.
struct GpuInfo {
    std::string name;
    int compute_major = 0, compute_minor = 0;
    uint64_t total_bytes = 0, free_bytes = 0;
};

// What this process can compute with: `souldiffuser env` prints it, error messages quote it.
struct ComputeEnvironment {
    std::string torch_version;
    bool torch_cuda = false;           // LibTorch's CUDA library is linked and loaded
    long cuda_runtime = 0;             // e.g. 12040 for 12.4; 0 without torch_cuda
    long cudnn = 0;                    // e.g. 90100 for 9.1.0; 0 without cuDNN
    bool cuda_available = false;       // torch::cuda::is_available(): a usable device
    std::string driver_error;          // why no GPU could be listed, when none is
    int driver_version = 0;            // the CUDA driver's, e.g. 12080; 0 without a driver
    std::vector<GpuInfo> gpus;         // from the CUDA driver (libcuda.so.1), whatever LibTorch's build
    int cpu_threads = 0;
    std::string device;                // what --device auto picks
    std::string torch_config;          // at::show_config(): LibTorch's build flags
    std::string build;                 // this program's build: compiler, C++ standard, type
};
ComputeEnvironment compute_environment();
std::string describe(const ComputeEnvironment& environment);

// Why `--device cuda` cannot run here, in one sentence that names what is missing: a CPU-only
// LibTorch, a CUDA LibTorch whose CUDA library was not loaded, or no usable device.
std::string cuda_unavailable_reason();

}  // namespace soul
