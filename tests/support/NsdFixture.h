// A tiny subject in NSD's exact layout, with known values, for the preparation tests: a 5×4×3
// grid, 2 sessions of 750 trials, 4 shared images shown 3 times, 8×8 stimuli, captions.
// Every beta is a known function of (trial, voxel), so tests can recompute what prepare must give.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace soultest {

struct NsdFixture {
    std::string root;
    std::array<int64_t, 3> dims{5, 4, 3};
    int sessions = 2;
    int64_t shared = 4;
    int64_t images = 0;                       // 73k ids 0 .. images−1 (this subject sees all)
    std::vector<int64_t> subject_images;      // subjectim row (0-based ids), shared first
    std::vector<int64_t> order;               // masterordering (0-based positions)
    std::vector<int64_t> mask;                // voxel indices inside nsdgeneral (x fastest)
    // The beta (percent signal change) of a 1-based trial at a voxel index.
    static double beta(int64_t trial, int64_t voxel);
    static std::string caption(int64_t id, int n);
    // 73k id of a 0-based trial.
    int64_t image_of_trial(int64_t trial) const;
};

NsdFixture write_nsd_fixture(const std::string& root, bool hdf5_betas = false);

// Writes NSD's HDF5 betas variant: dataset `betas`, 750 × Z × Y × X int16.
void write_hdf5_betas(const std::string& path, const std::vector<int16_t>& values, const std::array<int64_t, 3>& dims);

// The phantom subject (64-px stimuli) written to DIR/phantom and prepared into DIR/prepared with
// images of `image_size` px: the training suites' dataset. Returns the prepared folder.
std::string prepared_phantom(const std::string& dir, int sessions, uint64_t seed, int image_size);
// The default phantom subject (`souldiffuser phantom` with no options: the shipped model's data)
// in dir/phantom, prepared at 64 px into dir/phantom-prepared-64 (as tools/studio.sh does); returns
// the prepared folder. Under ctest both are links to the copy the default_subject fixture made once
// for every suite ($SOUL_TEST_DEFAULT_PHANTOM, tests/CMakeLists.txt): the suites only read it.
std::string prepared_default_phantom(const std::string& dir);

}  // namespace soultest
