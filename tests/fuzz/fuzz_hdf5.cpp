// Fuzz target: the HDF5 readers (core/io/hdf5_io.cpp): an image brick's shape and first images,
// and NSD betas on a 2×2×2 ROI grid of 750 trials, from the same file. libhdf5 runs in a child
// process (core/io/isolated.h), so its own crashes come back as messages.
#include "fuzz_targets.h"
#include "soul/formats.h"

#include <algorithm>

namespace soul::fuzz {

namespace {
constexpr int64_t kFuzzTrials = 750;   // NSD's trials per session
}

void hdf5(const uint8_t* data, size_t size) {
    const std::string path = write_scratch("nsd_stimuli.hdf5", data, size);
    expect_clean([&] {
        const ImageBrickShape shape = image_brick_shape(path);
        const int64_t n = std::min<int64_t>(shape.count, 2);
        if (read_image_brick(path, 0, n).size() != static_cast<size_t>(n * shape.height * shape.width * 3)) std::abort();
    });
    expect_clean([&] { (void)read_hdf5_betas(path, {2, 2, 2}, kFuzzTrials, {0, 3, 7}); });
}

}  // namespace soul::fuzz
