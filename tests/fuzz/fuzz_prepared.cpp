// Fuzz target: a prepared dataset (core/data/dataset.cpp, soul/dataset.h): manifest.json,
// data.bin and captions.json packed as three parts (fuzz_targets.h). What opens is read everywhere a user can reach:
// rows of both splits, their images and captions, the voxel tables, the volumes rows map back to,
// and a trial list.
#include "fuzz_targets.h"
#include "soul/dataset.h"

#include <algorithm>

namespace soul::fuzz {

namespace {
constexpr int64_t kRowsTouched = 3;   // per split: the first rows and the last
}

void prepared(const uint8_t* data, size_t size) {
    const auto parts = split_parts(data, size, 3);
    const std::string manifest = write_scratch("prepared/manifest.json", reinterpret_cast<const uint8_t*>(parts[0].data()), parts[0].size());
    write_scratch("prepared/data.bin", reinterpret_cast<const uint8_t*>(parts[1].data()), parts[1].size());
    write_scratch("prepared/captions.json", reinterpret_cast<const uint8_t*>(parts[2].data()), parts[2].size());
    const std::string folder = manifest.substr(0, manifest.size() - std::string("/manifest.json").size());
    expect_clean([&] {
        const PreparedDataset d(folder);
        const int64_t V = d.voxels();
        volatile float sink = 0;
        for (const Split split : {Split::Train, Split::Test}) {
            const int64_t rows = d.size(split);
            for (int64_t r : {int64_t{0}, std::min(kRowsTouched, rows) - 1, rows - 1}) {
                if (r < 0) continue;
                const float* betas = d.betas(split, r);
                for (int64_t v = 0; v < V; ++v) sink = sink + betas[v];
                const int32_t image = d.image_of(split, r);
                sink = sink + static_cast<float>(d.image(image)[0] + d.nsd_id(image) + d.captions(image).size());
                if (split == Split::Test) sink = sink + static_cast<float>(d.repeats(r));
                if (r == 0) {
                    sink = sink + d.to_crop_volume(betas).back();
                    sink = sink + static_cast<float>(d.to_source_volume(betas).voxels.size());
                }
            }
        }
        for (int64_t v = 0; v < V; ++v) sink = sink + static_cast<float>(d.voxel_ijk()[v * 3] + d.voxel_stream()[v] + d.voxel_visualroi()[v]);
        if (d.size(Split::Test) > 0 && d.size(Split::Train) > 0) (void)parse_trials("0, train:0", d);
    });
}

}  // namespace soul::fuzz
