// The compute runtime: set up once per process (CPU thread count, device choice).
#pragma once

#include <string>

namespace soul {

// Sets LibTorch's CPU thread count to the machine's cores (Debian's LibTorch starts with one)
// and returns it. Safe to call more than once.
int init_compute_threads();

// "cuda" when LibTorch sees a CUDA device, else "cpu" — the device is chosen here, once.
std::string default_device_name();

// LibTorch's version string, e.g. "1.13.1".
std::string torch_version();

}  // namespace soul
