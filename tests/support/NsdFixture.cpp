#include "NsdFixture.h"

#include "soul/default_subject.h"
#include "soul/formats.h"
#include "soul/nsd_layout.h"
#include "soul/phantom.h"
#include "soul/prepare.h"
#include "soul/volume.h"

#include <hdf5.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace soultest {

double NsdFixture::beta(int64_t trial, int64_t voxel) {
    return 2.0 * std::sin(0.37 * trial + 1.3 * voxel) + 0.01 * voxel;
}

std::string NsdFixture::caption(int64_t id, int n) { return "image " + std::to_string(id) + " caption " + std::to_string(n); }

int64_t NsdFixture::image_of_trial(int64_t trial) const { return subject_images[static_cast<size_t>(order[static_cast<size_t>(trial)])]; }

void write_hdf5_betas(const std::string& path, const std::vector<int16_t>& values, const std::array<int64_t, 3>& dims) {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t shape[4] = {750, static_cast<hsize_t>(dims[2]), static_cast<hsize_t>(dims[1]), static_cast<hsize_t>(dims[0])};
    const hid_t space = H5Screate_simple(4, shape, nullptr);
    const hid_t set = H5Dcreate2(file, "betas", H5T_NATIVE_INT16, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
}

NsdFixture write_nsd_fixture(const std::string& root, bool hdf5_betas) {
    NsdFixture f;
    f.root = root;
    const int64_t trials = 750LL * f.sessions;
    f.images = f.shared + (trials - 3 * f.shared);
    auto path = [&](const std::string& relative) {
        const fs::path p = fs::path(root) / relative;
        fs::create_directories(p.parent_path());
        return p.string();
    };
    // Grid, ROIs: nsdgeneral = the voxels with i in 1..3, j in 1..2 (a box inside the grid).
    soul::Volume grid;
    grid.dims = f.dims;
    grid.spacing = {1.8, 1.8, 1.8};
    grid.ijk_to_ras.m = {1.8, 0, 0, -4, 0, 1.8, 0, -3, 0, 0, 1.8, -2, 0, 0, 0, 1};
    soul::Volume general = soul::Volume::zeros_like(grid, -1.0f), streams = soul::Volume::zeros_like(grid), rois = general;
    for (int64_t k = 0; k < 3; ++k)
        for (int64_t j = 0; j < 4; ++j)
            for (int64_t i = 0; i < 5; ++i) {
                const size_t n = grid.index(i, j, k);
                if (i >= 1 && i <= 3 && j >= 1 && j <= 2) {
                    general.voxels[n] = 1;
                    streams.voxels[n] = static_cast<float>(1 + (i + k) % 7);
                    rois.voxels[n] = static_cast<float>(j);
                    f.mask.push_back(static_cast<int64_t>(n));
                } else {
                    general.voxels[n] = 0;
                }
            }
    soul::write_nifti(general, path(soul::nsd::roi_file(1, "nsdgeneral")), soul::StoredType::int16);
    soul::write_nifti(streams, path(soul::nsd::roi_file(1, "streams")), soul::StoredType::int16);
    soul::write_nifti(rois, path(soul::nsd::roi_file(1, "prf-visualrois")), soul::StoredType::int16);

    // Design: subject images = ids in reverse order (so positions ≠ ids), shared first.
    for (int64_t p = 0; p < f.images; ++p) f.subject_images.push_back(f.images - 1 - p);
    for (int64_t p = 0; p < f.shared; ++p)
        for (int r = 0; r < 3; ++r) f.order.push_back(p);
    for (int64_t p = f.shared; p < f.images; ++p) f.order.push_back(p);
    // Spread repeats: a fixed interleaving (rotate by a prime stride).
    std::vector<int64_t> spread(f.order.size());
    for (size_t t = 0; t < f.order.size(); ++t) spread[(t * 761) % f.order.size()] = f.order[t];
    f.order = spread;
    soul::MatMatrix master{"masterordering", 1, trials, {}};
    for (int64_t p : f.order) master.values.push_back(static_cast<double>(p + 1));
    soul::MatMatrix subjectim{"subjectim", 8, f.images, std::vector<double>(static_cast<size_t>(8 * f.images))};
    for (int64_t c = 0; c < f.images; ++c)
        for (int r = 0; r < 8; ++r) subjectim.values[static_cast<size_t>(c * 8 + r)] = static_cast<double>(f.subject_images[static_cast<size_t>(c)] + 1);
    soul::MatMatrix sharedix{"sharedix", 1, f.shared, {}};
    for (int64_t p = 0; p < f.shared; ++p) sharedix.values.push_back(static_cast<double>(f.subject_images[static_cast<size_t>(p)] + 1));
    soul::write_mat(path(soul::nsd::expdesign_file()), {master, subjectim, sharedix});

    // Betas: value × 300 as int16, zero outside the mask.
    for (int s = 1; s <= f.sessions; ++s) {
        soul::Volume betas = soul::Volume::zeros_like(grid);
        betas.frames = 750;
        betas.voxels.assign(static_cast<size_t>(betas.frame_size() * 750), 0.0f);
        std::vector<int16_t> raw(betas.voxels.size(), 0);
        for (int64_t t = 0; t < 750; ++t)
            for (int64_t n : f.mask) {
                const int64_t trial = (s - 1) * 750LL + t + 1;
                const float v = static_cast<float>(std::round(NsdFixture::beta(trial, n) * 300));
                betas.voxels[static_cast<size_t>(t * betas.frame_size() + n)] = v;
                raw[static_cast<size_t>(t * betas.frame_size() + n)] = static_cast<int16_t>(v);
            }
        if (hdf5_betas) write_hdf5_betas(path(soul::nsd::betas_hdf5_file(1, s)), raw, f.dims);
        else soul::write_nifti(betas, path(soul::nsd::betas_file(1, s)), soul::StoredType::int16);
    }

    // Stimuli 8×8: image id encoded in the pixels; stim info; captions (3 per image).
    {
        soul::ImageBrickWriter brick(path(soul::nsd::stimuli_file()), "imgBrick", f.images, 8, 8);
        std::vector<uint8_t> pixels(static_cast<size_t>(f.images * 8 * 8 * 3));
        for (int64_t id = 0; id < f.images; ++id)
            for (int p = 0; p < 64 * 3; ++p) pixels[static_cast<size_t>(id * 192 + p)] = static_cast<uint8_t>((id + p) % 251);
        brick.write(0, f.images, pixels.data());
    }
    soul::CsvTable info;
    info.columns = {"", "cocoId", "cocoSplit", "nsdId", "shared1000"};
    nlohmann::json coco[2];
    for (auto& j : coco) j["annotations"] = nlohmann::json::array();
    for (int64_t id = 0; id < f.images; ++id) {
        const bool is_shared = std::find(f.subject_images.begin(), f.subject_images.begin() + f.shared, id) != f.subject_images.begin() + f.shared;
        info.rows.push_back({std::to_string(id), std::to_string(5000 + id), is_shared ? "val2017" : "train2017", std::to_string(id), is_shared ? "True" : "False"});
        for (int n = 0; n < 3; ++n) coco[is_shared]["annotations"].push_back({{"image_id", 5000 + id}, {"caption", NsdFixture::caption(id, n)}});
    }
    soul::write_csv(path(soul::nsd::stim_info_file()), info);
    soul::write_file_atomically(path(soul::nsd::coco_captions_file("train2017")), coco[0].dump());
    soul::write_file_atomically(path(soul::nsd::coco_captions_file("val2017")), coco[1].dump());
    return f;
}

std::string prepared_phantom(const std::string& dir, int sessions, uint64_t seed, int image_size) {
    soul::PhantomOptions p;
    p.out = dir + "/phantom";
    p.sessions = sessions;
    p.seed = seed;
    p.image_size = 64;
    soul::generate_phantom(p);
    soul::PrepareOptions o;
    o.nsd_root = p.out;
    o.out = dir + "/prepared";
    o.image_size = image_size;
    soul::prepare_dataset(o);
    return o.out;
}

namespace {

// dir/name as a link to target, replacing what a previous call left there.
void link_folder(const std::string& target, const std::string& dir, const std::string& name) {
    const fs::path link = fs::path(dir) / name;
    fs::remove_all(link);   // a link is removed, not followed
    fs::create_directory_symlink(target, link);
}

}  // namespace

std::string prepared_default_phantom(const std::string& dir) {
    // Made once per ctest run (about 100 s on 2 cores, which six suites used to spend each).
    const char* shared = std::getenv("SOUL_TEST_DEFAULT_PHANTOM");
    if (shared && *shared) {
        const soul::DefaultSubject made{shared, std::string(shared) + "-prepared-" + std::to_string(soul::kDefaultSubjectImageSize)};
        if (!soul::phantom_complete(made.phantom) || !soul::prepared_complete(made.prepared))
            throw std::runtime_error("SOUL_TEST_DEFAULT_PHANTOM names " + made.phantom + ", which holds no complete default subject");
        fs::create_directories(dir);
        link_folder(made.phantom, dir, "phantom");
        link_folder(made.prepared, dir, "phantom-prepared-64");
        return dir + "/phantom-prepared-64";
    }
    soul::PhantomOptions p;
    p.out = dir + "/phantom";
    soul::generate_phantom(p);
    soul::PrepareOptions o;
    o.nsd_root = p.out;
    o.out = dir + "/phantom-prepared-64";
    o.image_size = 64;
    soul::prepare_dataset(o);
    return o.out;
}

}  // namespace soultest
