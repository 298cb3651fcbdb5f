// Reconstruction speed with the shipped model: one trial end to end (SSMNet, SemBERT,
// EdgeColorNet, 25 DDIM steps with guidance and both adapters, decode), the way the studio asks
// for it, and the whole test set in batches, the way `souldiffuser reconstruct --test` runs it.
// Usage: bench_reconstruct --data PREPARED_DEFAULT_PHANTOM [--model DIR] [--trials N] [--device cpu|cuda]
#include "soul/reconstruct.h"
#include "soul/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::string data, model = SOUL_SOURCE_DIR "/models/phantom-small", device = "auto";
    int64_t trials = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!std::strcmp(argv[i], "--trials")) trials = std::stoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--device")) device = argv[i + 1];
    }
    if (data.empty()) {
        std::fprintf(stderr, "usage: bench_reconstruct --data PREPARED [--model DIR] [--trials N] [--device cpu|cuda]\n");
        return 2;
    }
    using clock = std::chrono::steady_clock;
    auto seconds = [](clock::time_point a) { return std::chrono::duration<double>(clock::now() - a).count(); };
    const auto opened = clock::now();
    soul::ReconstructionEngine engine(model, data, device);
    std::printf("device %s, %d CPU threads; engine opened in %.2f s\n", engine.device().c_str(), soul::init_compute_threads(), seconds(opened));
    soul::ReconstructionSettings settings;   // 25 steps, guidance 3, strength 0.75, both adapters
    engine.reconstruct({{soul::Split::Test, 0}}, settings);   // warm-up
    std::vector<double> single;
    for (int64_t r = 0; r < trials; ++r) {
        const auto start = clock::now();
        engine.reconstruct({{soul::Split::Test, r}}, settings);
        single.push_back(seconds(start));
    }
    std::sort(single.begin(), single.end());
    std::printf("one trial end to end: median %.3f s, min %.3f s, max %.3f s (%lld trials)\n", single[single.size() / 2], single.front(), single.back(),
                static_cast<long long>(trials));
    std::vector<soul::TrialRef> all;
    for (int64_t r = 0; r < engine.dataset().size(soul::Split::Test); ++r) all.push_back({soul::Split::Test, r});
    const auto start = clock::now();
    engine.reconstruct(all, settings);
    const double total = seconds(start);
    std::printf("whole test set batched: %zu trials in %.1f s, %.3f s per trial\n", all.size(), total, total / static_cast<double>(all.size()));
    return 0;
}
