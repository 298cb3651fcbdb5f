// Benchmark: open one NSD-sized session file (81×104×83×750, int16, gzip NIfTI) and extract its
// 750 volumes as float — SoulDiffuser's reader (its own, through zlib, CRC checked) against Debian's nibabel doing
// the same, and against `gzip -dc` of the same bytes (the decompression floor), in one run.
// Usage: bench_nifti_open [--file PATH] [--frames N] [--python /usr/bin/python3]
#include "soul/volume.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// NSD's grid for subj01 at 1.8 mm and its trials per session.
constexpr int64_t kNx = 81, kNy = 104, kNz = 83;

// Beta-like content: percent signal change × 300 inside an ellipsoid brain, zero outside, so the
// file compresses about as NSD's do.
void write_session(const std::string& path, int64_t frames) {
    soul::Volume v;
    v.dims = {kNx, kNy, kNz};
    v.frames = frames;
    v.spacing = {1.8, 1.8, 1.8};
    v.ijk_to_ras.m = {1.8, 0, 0, -72, 0, 1.8, 0, -108, 0, 0, 1.8, -72, 0, 0, 0, 1};
    v.voxels.assign(static_cast<size_t>(kNx * kNy * kNz * frames), 0.0f);
    std::mt19937 rng(1);
    std::normal_distribution<float> beta(0.0f, 1.2f);
    for (int64_t t = 0; t < frames; ++t)
        for (int64_t k = 0; k < kNz; ++k)
            for (int64_t j = 0; j < kNy; ++j)
                for (int64_t i = 0; i < kNx; ++i) {
                    const double x = (i - 40.0) / 38, y = (j - 52.0) / 50, z = (k - 41.0) / 39;
                    if (x * x + y * y + z * z < 1) v.voxels[v.index(i, j, k, t)] = std::round(beta(rng) * 300.0f);
                }
    soul::write_nifti(v, path, soul::StoredType::int16);
}

}  // namespace

int main(int argc, char** argv) {
    std::string file = "build/bench-data/nsd-session-81x104x83x750.nii.gz";
    std::string python = "/usr/bin/python3";
    int64_t frames = 750;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--file") file = argv[i + 1];
        else if (key == "--frames") frames = std::atoll(argv[i + 1]);
        else if (key == "--python") python = argv[i + 1];
    }
    const fs::path script = fs::path(SOUL_SOURCE_DIR) / "bench" / "nibabel_open.py";
    if (!fs::exists(file)) {
        fs::create_directories(fs::path(file).parent_path());
        std::printf("writing %s (%lldx%lldx%lldx%lld int16) ...\n", file.c_str(), (long long)kNx, (long long)kNy,
                    (long long)kNz, (long long)frames);
        const auto start = Clock::now();
        write_session(file, frames);
        std::printf("  written in %.1f s, %.0f MB\n", seconds_since(start), fs::file_size(file) / 1e6);
    }

    // SoulDiffuser: open (read and decompress through ITK into the on-disk type) and extract.
    auto start = Clock::now();
    soul::NiftiSeries series(file);
    const double open_s = seconds_since(start);
    start = Clock::now();
    double checksum = 0;
    for (int64_t t = 0; t < series.header().frames; ++t) checksum += series.frame(t).at(40, 50, 40);
    const double extract_s = seconds_since(start);

    // gzip -dc: the floor, decompression alone.
    start = Clock::now();
    const std::string gunzip = "gzip -dc '" + file + "' > /dev/null";
    const int gz = std::system(gunzip.c_str());
    const double gzip_s = seconds_since(start);

    // nibabel.
    const std::string command = python + " '" + script.string() + "' '" + file + "'";
    FILE* pipe = popen(command.c_str(), "r");
    char line[4096] = {0};
    std::string out;
    while (pipe && std::fgets(line, sizeof line, pipe)) out += line;
    const int py = pipe ? pclose(pipe) : -1;
    double nib_open = NAN, nib_extract = NAN, nib_checksum = NAN;
    std::sscanf(out.c_str(), "{\"open_s\": %lf, \"extract_s\": %lf, \"frames\": %*d, \"checksum\": %lf", &nib_open,
                &nib_extract, &nib_checksum);

    std::printf("\nfile %s (%.0f MB, %lld volumes)\n", file.c_str(), fs::file_size(file) / 1e6,
                static_cast<long long>(series.header().frames));
    std::printf("%-34s %10s %12s %10s\n", "reader", "open s", "extract s", "total s");
    std::printf("%-34s %10.2f %12.2f %10.2f\n", "souldiffuser (own reader, zlib)", open_s, extract_s, open_s + extract_s);
    if (py == 0)
        std::printf("%-34s %10.2f %12.2f %10.2f\n", "nibabel (python3-nibabel)", nib_open, nib_extract, nib_open + nib_extract);
    else
        std::printf("nibabel failed (exit %d): %s\n", py, out.c_str());
    if (gz == 0) std::printf("%-34s %10.2f %12s %10.2f\n", "gzip -dc > /dev/null (floor)", gzip_s, "-", gzip_s);
    std::printf("checksums: souldiffuser %.1f, nibabel %.1f (must match)\n", checksum, nib_checksum);
    return py == 0 && std::abs(checksum - nib_checksum) < 1e-3 ? 0 : 1;
}
