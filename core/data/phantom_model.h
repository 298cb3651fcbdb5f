// Internal parts of the phantom: anatomy on the 1.8 mm grid and the voxel forward model.
#pragma once

#include "soul/labels.h"
#include "soul/phantom.h"
#include "soul/volume.h"

#include <vector>

namespace soul::phantom {

constexpr double kVoxelMm = 1.8;        // NSD's functional resolution
constexpr int kFeatureGrid = 32;        // feature maps are pooled to 32 × 32 cells
constexpr int kFeatureMaps = 5;         // luminance, contrast, edge energy, red−green, blue−yellow

struct Anatomy {
    Volume t1;                          // Colin27, trilinear, on the cropped grid
    Volume aal;                         // AAL codes, nearest neighbour
    Volume streams, visualrois, nsdgeneral;
    std::vector<int64_t> brain;         // voxel indices inside the brain
    std::vector<int64_t> visual;        // voxel indices with a stream code (nsdgeneral == 1)
};

// Reads Colin27 + AAL from `mricron_dir`, resamples to 1.8 mm, crops around visual cortex and
// assigns NSD streams and V1v…hV4 (design.md 4.2).
Anatomy build_anatomy(const std::string& mricron_dir);

// Per-image stimulus features.
struct Features {
    std::vector<float> maps;            // 32 × 32 cells × kFeatureMaps, cell-major
    int category = 0;
    double x = 0, y = 0, size = 0;      // object position and size
    double hue = 0, saturation = 0;     // object colour (radians, 0..1)
    std::array<float, 6> shape{};       // the exemplar's shape code (random projections of the object)
};
Features stimulus_features(const Scene& scene, const std::vector<uint8_t>& rgb, int size, const IdxImages& objects);

// Tuning of every visual voxel (ground truth) and the noiseless response to a stimulus.
struct Tuning {
    // per visual voxel (in Anatomy::visual order)
    std::vector<float> prf_x, prf_y, prf_size;         // field units; prf_size 0: no pRF
    // Each pRF as a sparse, normalised weight list over feature cells: entries
    // [prf_begin[v], prf_begin[v + 1]) of prf_cell / prf_weight.
    std::vector<uint32_t> prf_begin;
    std::vector<uint16_t> prf_cell;
    std::vector<float> prf_weight;
    std::vector<std::array<float, kFeatureMaps>> feature_weight;
    std::vector<float> colour_weight, hue_pref;
    std::vector<std::array<float, kCategories>> category_affinity;
    std::vector<float> category_weight;
    std::vector<float> position_weight, pos_x, pos_y, size_weight;
    std::vector<int> preferred_category;               // −1: none
    std::vector<std::array<float, 6>> shape_weight;    // exemplar-specific (non-category) tuning
    std::vector<float> gain;                           // per-voxel signal gain (SNR = snr × gain)
    // z-scoring of the raw response over the stimulus set
    std::vector<float> mean, scale;
};
Tuning build_tuning(const Anatomy& anatomy, uint64_t seed);

// Raw (unnormalised) response of every visual voxel to one stimulus.
void raw_response(const Tuning& tuning, const Features& f, float* out);

// Smooth random field over the grid (Gaussian-smoothed white noise, unit variance).
std::vector<float> smooth_field(const std::array<int64_t, 3>& dims, double sigma_voxels, uint64_t key);
// In-place separable Gaussian smoothing of a 3-D array.
void gaussian_smooth(std::vector<float>& data, const std::array<int64_t, 3>& dims, double sigma_voxels);

}  // namespace soul::phantom
