#include "soul/runtime.h"

#include "memory_guard.h"

#include "soul/version.h"

#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>

#include <dlfcn.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <cstdio>
#include <sstream>
#include <thread>

namespace soul {

namespace {

// glibc serves every allocation over 32 MB with a fresh mmap and unmaps it when freed, so each
// such tensor is paged in again, zeroed by the kernel, on first touch. Stable Diffusion's UNet at
// 512 px makes a 1 GB attention score tensor per transformer and step: a third of a CPU step went
// to page faults (bench/RESULTS.md). Serving them from the heap and keeping freed memory there
// reuses the pages, as PyTorch's own CUDA allocator caches blocks; the price is that the process
// keeps its peak memory until it exits.
void keep_freed_memory() {
#ifdef __GLIBC__
    static const bool done = [] {
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
        return true;
    }();
    (void)done;
#endif
}

}  // namespace

int init_compute_threads() {
    install_memory_guard();
    keep_freed_memory();
    int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // OMP_NUM_THREADS, as OpenMP programs read it: `train --nproc` gives each rank its share.
    if (const char* asked = std::getenv("OMP_NUM_THREADS")) {
        const int n = std::atoi(asked);
        if (n > 0) cores = n;
    }
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

namespace {

// The CUDA driver API, read through dlopen so that a CPU build lists the GPUs too and needs no
// CUDA header: the few entry points below have had these C signatures since CUDA 4.
struct CudaDriver {
    using Init = int (*)(unsigned);
    using DriverVersion = int (*)(int*);
    using DeviceCount = int (*)(int*);
    using DeviceGet = int (*)(int*, int);
    using DeviceName = int (*)(char*, int, int);
    using TotalMem = int (*)(size_t*, int);
    using Attribute = int (*)(int*, int, int);
    using RetainContext = int (*)(void**, int);
    using ReleaseContext = int (*)(int);
    using PushContext = int (*)(void*);
    using PopContext = int (*)(void**);
    using MemInfo = int (*)(size_t*, size_t*);
    static constexpr int kComputeMajor = 75, kComputeMinor = 76;   // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_*
};

// One entry point of the driver library, as the function type F (nullptr when it lacks it).
template <typename F>
F driver_symbol(void* library, const char* name) {
    return reinterpret_cast<F>(dlsym(library, name));
}

// Whether LibTorch's CUDA library is loaded: a CPU-only LibTorch's CUDA hooks throw on every query
// (and so does a CUDA build whose libtorch_cuda the linker dropped). Its runtime version, or 0.
long torch_cuda_runtime() {
    try {
        return at::detail::getCUDAHooks().versionCUDART();
    } catch (const std::exception&) {
        return 0;
    }
}

void query_driver(ComputeEnvironment& e) {
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        e.driver_error = "no CUDA driver (libcuda.so.1) on this machine";
        return;
    }
    const auto init = driver_symbol<CudaDriver::Init>(lib, "cuInit");
    const auto version = driver_symbol<CudaDriver::DriverVersion>(lib, "cuDriverGetVersion");
    const auto count = driver_symbol<CudaDriver::DeviceCount>(lib, "cuDeviceGetCount");
    const auto get = driver_symbol<CudaDriver::DeviceGet>(lib, "cuDeviceGet");
    const auto name = driver_symbol<CudaDriver::DeviceName>(lib, "cuDeviceGetName");
    const auto total = driver_symbol<CudaDriver::TotalMem>(lib, "cuDeviceTotalMem_v2");
    const auto attribute = driver_symbol<CudaDriver::Attribute>(lib, "cuDeviceGetAttribute");
    const auto retain = driver_symbol<CudaDriver::RetainContext>(lib, "cuDevicePrimaryCtxRetain");
    const auto release = driver_symbol<CudaDriver::ReleaseContext>(lib, "cuDevicePrimaryCtxRelease_v2");
    const auto push = driver_symbol<CudaDriver::PushContext>(lib, "cuCtxPushCurrent_v2");
    const auto pop = driver_symbol<CudaDriver::PopContext>(lib, "cuCtxPopCurrent_v2");
    const auto meminfo = driver_symbol<CudaDriver::MemInfo>(lib, "cuMemGetInfo_v2");
    if (!init || !version || !count || !get || !name || !total || !attribute) {
        e.driver_error = "libcuda.so.1 lacks the driver API's entry points";
        return;   // the library stays loaded: unloading a driver library mid-process is not safe
    }
    int n = 0;
    if (const int rc = init(0); rc != 0) {
        e.driver_error = "the CUDA driver did not start (cuInit error " + std::to_string(rc) + ")";
        return;
    }
    version(&e.driver_version);
    if (count(&n) != 0) n = 0;
    for (int i = 0; i < n; ++i) {
        int device = 0;
        if (get(&device, i) != 0) continue;
        GpuInfo g;
        char text[256] = {};
        if (name(text, sizeof text - 1, device) == 0) g.name = text;
        size_t bytes = 0;
        if (total(&bytes, device) == 0) g.total_bytes = bytes;
        attribute(&g.compute_major, CudaDriver::kComputeMajor, device);
        attribute(&g.compute_minor, CudaDriver::kComputeMinor, device);
        void* context = nullptr;
        if (retain && release && push && pop && meminfo && retain(&context, device) == 0) {
            if (push(context) == 0) {
                size_t free_bytes = 0, total_bytes = 0;
                if (meminfo(&free_bytes, &total_bytes) == 0) g.free_bytes = free_bytes;
                void* popped = nullptr;
                pop(&popped);
            }
            release(device);
        }
        e.gpus.push_back(g);
    }
    if (n == 0) e.driver_error = "the CUDA driver sees no device";
}

// CUDA's runtime and driver: 1000 × major + 10 × minor (12040 → 12.4).
std::string cuda_version_text(long v) {
    if (v <= 0) return "none";
    return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

// cuDNN: 1000 × major + 100 × minor + patch up to 8.x (8902 → 8.9.2), 10000 × major from 9.0.
std::string cudnn_version_text(long v) {
    if (v <= 0) return "none";
    const long per_major = v >= 90000 ? 10000 : 1000;
    return std::to_string(v / per_major) + "." + std::to_string((v % per_major) / 100) + "." + std::to_string(v % 100);
}

}  // namespace

ComputeEnvironment compute_environment() {
    ComputeEnvironment e;
    e.torch_version = torch_version();
    e.cuda_runtime = torch_cuda_runtime();
    e.torch_cuda = e.cuda_runtime > 0;
    if (e.torch_cuda && at::detail::getCUDAHooks().compiledWithCuDNN()) e.cudnn = at::detail::getCUDAHooks().versionCuDNN();
    e.cuda_available = torch::cuda::is_available();
    query_driver(e);
    e.cpu_threads = init_compute_threads();
    e.device = default_device_name();
    e.torch_config = at::show_config();
    e.build = SOUL_BUILD_INFO;
    return e;
}

std::string describe(const ComputeEnvironment& e) {
    std::ostringstream out;
    out << "souldiffuser " << SOUL_VERSION << " (" << e.build << ")\n";
    out << "LibTorch " << e.torch_version << ", " << (e.torch_cuda ? "with CUDA" : "CPU only");
    if (e.torch_cuda) out << " (CUDA runtime " << cuda_version_text(e.cuda_runtime) << ", cuDNN " << cudnn_version_text(e.cudnn) << ")";
    out << "\nCPU threads " << e.cpu_threads << "\n";
    if (e.driver_version > 0) out << "CUDA driver " << cuda_version_text(e.driver_version) << "\n";
    if (e.gpus.empty()) out << "GPUs: none (" << e.driver_error << ")\n";
    for (size_t i = 0; i < e.gpus.size(); ++i) {
        const GpuInfo& g = e.gpus[i];
        char line[320];
        std::snprintf(line, sizeof line, "GPU %zu: %s, compute capability %d.%d, %.1f GiB (%.1f GiB free)\n", i, g.name.c_str(), g.compute_major,
                      g.compute_minor, static_cast<double>(g.total_bytes) / (1ull << 30), static_cast<double>(g.free_bytes) / (1ull << 30));
        out << line;
    }
    out << "device " << e.device;
    if (e.device == "cpu" && !e.gpus.empty()) out << " (" << cuda_unavailable_reason() << ")";
    out << "\nLibTorch build configuration:\n" << e.torch_config;
    if (!e.torch_config.empty() && e.torch_config.back() != '\n') out << "\n";
    return out.str();
}

std::string cuda_unavailable_reason() {
    if (torch::cuda::is_available()) return {};
    if (torch_cuda_runtime() > 0) return "this LibTorch has CUDA, but it sees no usable CUDA device (driver, CUDA_VISIBLE_DEVICES, or a GPU too old for this build)";
    return "this build's LibTorch is CPU only (or its CUDA library was not linked: build with tools/build-cuda.sh, which links it with "
           "--no-as-needed)";
}

}  // namespace soul
