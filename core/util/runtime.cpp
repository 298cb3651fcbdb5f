#include "soul/runtime.h"

#include <torch/torch.h>

#include <algorithm>
#include <thread>

namespace soul {

int init_compute_threads() {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(cores);
    return cores;
}

std::string default_device_name() { return torch::cuda::is_available() ? "cuda" : "cpu"; }

std::string torch_version() {
#ifdef TORCH_VERSION
    return TORCH_VERSION;
#else
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
           std::to_string(TORCH_VERSION_PATCH);
#endif
}

}  // namespace soul
