// NSD metric benchmarks (issue "The field's standard evaluation"): seconds (best of 3) per 100 images for each
// metric network's features (batches of 16, no gradients) and for PixCorr + SSIM, in the engine and,
// in the same run, in torchvision and scikit-image as MindEye2's evaluation runs them
// (bench/metric_nets_torch.py; CLIP has no Python counterpart here: Debian 12 packages neither
// transformers nor OpenAI's clip). Weights are random: speed does not depend on them.
//
// Usage: bench_metric_nets [--images 100] [--python /usr/bin/python3]
#include "metrics/metric_nets.h"
#include "metrics/nsd_metrics.h"
#include "soul/runtime.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

using Clock = std::chrono::steady_clock;
using namespace soul;

namespace {

constexpr int kRepeats = 3;   // the best of three: the machine's cores are shared

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
    std::string python = "/usr/bin/python3";
    int images = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--images") images = std::atoi(argv[i + 1]);
        else if (a == "--python") python = argv[i + 1];
    }
    const int threads = init_compute_threads();
    std::printf("LibTorch %s, %d threads, %d images\n\n", torch_version().c_str(), threads, images);
    // The input size each network's metric resizes to (nsd_metrics.cpp).
    auto input_size = [](metrics::NetId id) -> int64_t {
        switch (id) {
            case metrics::NetId::AlexNet: return 256;
            case metrics::NetId::InceptionV3: return 342;
            case metrics::NetId::EfficientNetB1: return 255;
            case metrics::NetId::SwAV: case metrics::NetId::Clip: return 224;
        }
        return 224;
    };
    std::vector<std::pair<std::string, double>> ours;
    torch::manual_seed(0);
    for (const auto& spec : metrics::net_files()) {
        auto net = metrics::make_network(spec.id);
        const int64_t size = input_size(spec.id);
        const torch::Tensor x = torch::randn({16, 3, size, size});
        torch::NoGradGuard no_grad;
        net->layers(x.narrow(0, 0, 2));
        double best = 1e30;
        for (int r = 0; r < kRepeats; ++r) {
            const auto t0 = Clock::now();
            for (int i = 0; i < images; i += 16) net->layers(x.narrow(0, 0, std::min(16, images - i)));
            best = std::min(best, seconds_since(t0));
        }
        ours.emplace_back(spec.name, best);
    }
    {
        const torch::Tensor a = torch::rand({images, 3, 256, 256}), b = torch::rand({images, 3, 256, 256});
        const auto t0 = Clock::now();
        metrics::pixcorr(a, b);
        metrics::ssim(a, b);
        ours.emplace_back("PixCorr + SSIM", seconds_since(t0));
    }
    const std::string result = "/tmp/bench_metric_nets_torch.json";
    const std::string command = python + " " + SOUL_SOURCE_DIR + "/bench/metric_nets_torch.py " + std::to_string(images) + " " + std::to_string(threads) + " " + result;
    nlohmann::json reference;
    if (std::system(command.c_str()) == 0) reference = nlohmann::json::parse(std::ifstream(result));
    if (reference.contains("threads")) std::printf("Python: torch with %d threads\n\n", reference["threads"].get<int>());
    std::printf("| %d images | engine (s) | torchvision / scikit-image (s) |\n|---|---|---|\n", images);
    for (const auto& [name, seconds] : ours) {
        const bool has = reference.contains("seconds") && reference["seconds"].contains(name);
        std::printf("| %s | %.2f | %s |\n", name.c_str(), seconds, has ? std::to_string(reference["seconds"][name].get<double>()).substr(0, 5).c_str() : "n/a");
    }
    return 0;
}
