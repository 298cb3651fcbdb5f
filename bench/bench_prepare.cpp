// Benchmark: `prepare` on one subject against reading the same raw files with nibabel (betas)
// and h5py (stimuli) in one run, and against `gzip -dc` of the betas (the decompression floor);
// then the loader's samples/s on the prepared dataset.
// Usage: bench_prepare ROOT [--out DIR] [--image-size N]  (ROOT: an NSD root or a phantom folder)
#include "soul/dataset.h"
#include "soul/nsd_layout.h"
#include "soul/prepare.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <sys/resource.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_prepare ROOT [--out DIR] [--image-size N]\n");
        return 2;
    }
    soul::PrepareOptions o;
    o.nsd_root = argv[1];
    o.out = "build/bench-data/prepared";
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--out") o.out = argv[i + 1];
        if (key == "--image-size") o.image_size = std::atoi(argv[i + 1]);
    }
    fs::remove_all(o.out);
    fs::remove_all(o.out + ".partial");
    auto start = Clock::now();
    const soul::PrepareSummary s = soul::prepare_dataset(o);
    const double prepare_s = std::chrono::duration<double>(Clock::now() - start).count();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);

    std::string files, stimuli = (fs::path(o.nsd_root) / soul::nsd::stimuli_file()).string();
    double bytes = 0;
    for (int session = 1; session <= s.sessions; ++session) {
        const std::string f = (fs::path(o.nsd_root) / soul::nsd::betas_file(1, session)).string();
        files += " '" + f + "'";
        bytes += static_cast<double>(fs::file_size(f));
    }
    start = Clock::now();
    const int gz = std::system(("gzip -dc" + files + " > /dev/null").c_str());
    const double gzip_s = std::chrono::duration<double>(Clock::now() - start).count();
    const std::string command = "/usr/bin/python3 '" + (fs::path(SOUL_SOURCE_DIR) / "bench/read_betas.py").string() + "' '" + stimuli + "'" + files;
    FILE* pipe = popen(command.c_str(), "r");
    char line[1024] = {0};
    std::string out;
    while (pipe && std::fgets(line, sizeof line, pipe)) out += line;
    const int py = pipe ? pclose(pipe) : -1;
    double nib_betas = NAN, h5_images = NAN;
    std::sscanf(out.c_str(), "{\"betas_s\": %lf, \"images_s\": %lf", &nib_betas, &h5_images);

    std::printf("subject %s: %d sessions (%.0f MB of gzip NIfTI betas), %lld voxels, %lld train trials, %lld test images, %lld images\n",
                o.nsd_root.c_str(), s.sessions, bytes / 1e6, static_cast<long long>(s.voxels), static_cast<long long>(s.train_trials),
                static_cast<long long>(s.test_images), static_cast<long long>(s.images));
    std::printf("%-52s %8.2f s  (peak memory %.0f MB)\n", "souldiffuser prepare (read, z-score, split, images)", prepare_s,
                usage.ru_maxrss / 1024.0);
    if (py == 0) {
        std::printf("%-52s %8.2f s\n", "nibabel: read the betas sessions", nib_betas);
        std::printf("%-52s %8.2f s\n", "h5py: read the stimuli", h5_images);
    } else {
        std::printf("python reader failed: %s\n", out.c_str());
    }
    if (gz == 0) std::printf("%-52s %8.2f s\n", "gzip -dc of the betas (floor)", gzip_s);

    // Loader: batches of 64 with images, 2 worker threads, one epoch after a warm-up batch.
    soul::PreparedDataset dataset(o.out);
    soul::BatchLoader loader(dataset, soul::Split::Train, 64, true, 1, 2, 4, true);
    loader.next();
    start = Clock::now();
    int64_t samples = 0;
    for (int64_t b = 1; b < loader.batches_per_epoch(); ++b) samples += static_cast<int64_t>(loader.next().rows.size());
    const double loader_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("%-52s %8.0f samples/s (%lld voxels + %lldx%lld image each)\n", "loader: shuffled batches of 64, 2 workers",
                samples / loader_s, static_cast<long long>(dataset.voxels()), static_cast<long long>(dataset.manifest().image_size),
                static_cast<long long>(dataset.manifest().image_size));
    return 0;
}
