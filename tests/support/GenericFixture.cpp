#include "GenericFixture.h"

#include "soul/volume.h"

#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace soultest {
namespace generic {

const std::array<int64_t, 2> kFrames{8, 6};

double beta(int run, int64_t frame, int64_t voxel) { return std::sin(0.7 * frame + 0.3 * voxel * run) * 2 + 0.1 * voxel + run; }

const std::vector<Row> kRows = {
    {1, 1, "a", "", "a red square | a square"}, {1, 2, "b", "", "b"}, {1, 3, "c", "", "c"}, {1, 4, "t1", "", "t one"},
    {1, 5, "d", "", "d"}, {1, 6, "e", "", "e"}, {1, 7, "t2", "", "t two"}, {1, 8, "t1", "", "t one | another"},
    {2, 1, "f", "", "f"}, {2, 2, "t1", "", ""}, {2, 3, "t2", "", ""}, {2, 4, "g", "", "g"}, {2, 5, "h", "", "h"},
    {2, 6, "t3", "test", "t three"},
};

soul::RgbImage image_for(const std::string& name) {
    soul::RgbImage im;
    im.height = 6 + static_cast<int64_t>(name.size()) * 5;   // sizes differ: resizing is exercised
    im.width = 10;
    const int seed = name[0] * 7 + (name.size() > 1 ? name[1] : 0);
    for (int64_t n = 0; n < im.height * im.width; ++n)  // one flat colour per image
        for (int c = 0; c < 3; ++c) im.pixels.push_back(static_cast<uint8_t>((seed * (c + 1)) % 256));
    return im;
}

void write_table(const std::string& path, const std::vector<Row>& rows) {
    soul::CsvTable t;
    t.columns = {"betas", "volume", "image", "split", "caption"};
    for (const auto& r : rows)
        t.rows.push_back({"betas/run-" + std::to_string(r.run) + ".nii.gz", std::to_string(r.volume), "images/" + r.image + ".png", r.split, r.caption});
    soul::write_csv(path, t);
}

}  // namespace generic

using namespace generic;

std::string write_generic_fixture(const std::string& root) {
    fs::create_directories(fs::path(root) / "betas");
    fs::create_directories(fs::path(root) / "rois");
    fs::create_directories(fs::path(root) / "images");
    soul::Volume mask;
    mask.dims = {kNx, kNy, kNz};
    for (int a = 0; a < 3; ++a) mask.ijk_to_ras(a, a) = 2;
    mask.spacing = {2, 2, 2};
    mask.voxels.assign(kNx * kNy * kNz, 0);
    soul::Volume streams = mask;
    for (int64_t n = 0; n < mask.frame_size(); ++n) {
        mask.voxels[static_cast<size_t>(n)] = n % kNx >= 1 ? 1 : 0;    // x = 0 is outside
        streams.voxels[static_cast<size_t>(n)] = static_cast<float>(n % kNx >= 2 ? 5 : 1);
    }
    soul::write_nifti(mask, root + "/rois/mask.nii.gz", soul::StoredType::uint8);
    soul::write_nifti(streams, root + "/rois/streams.nii.gz", soul::StoredType::uint8);
    for (int run = 1; run <= 2; ++run) {
        soul::Volume b = mask;
        b.frames = kFrames[static_cast<size_t>(run - 1)];
        b.voxels.resize(static_cast<size_t>(b.frames * b.frame_size()));
        for (int64_t f = 0; f < b.frames; ++f)
            for (int64_t n = 0; n < b.frame_size(); ++n) b.voxels[static_cast<size_t>(f * b.frame_size() + n)] = static_cast<float>(beta(run, f, n));
        soul::write_nifti(b, root + "/betas/run-" + std::to_string(run) + ".nii.gz");
    }
    for (const auto& r : kRows) soul::write_png(root + "/images/" + r.image + ".png", image_for(r.image));
    write_table(root + "/trials.csv", kRows);
    return root;
}


}  // namespace soultest
