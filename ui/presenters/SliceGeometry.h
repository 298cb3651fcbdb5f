// SliceGeometry: how a voxel grid is shown in the three orthogonal slice views, in the
// radiological convention (the subject's right on the screen's left) or the neurological one.
// Qt-free: a presenter, testable without a display.
#pragma once

#include "soul/labels.h"
#include "soul/volume.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace soului {

enum class SliceOrientation { Axial = 0, Coronal = 1, Sagittal = 2 };

struct SliceAxes {
    int normal = 2;             // voxel axis perpendicular to the slice
    int horizontal = 0;         // voxel axis along the screen's x
    int vertical = 1;           // voxel axis along the screen's y
    bool flipHorizontal = false;// voxel index decreases to the screen's right
    bool flipVertical = false;  // voxel index decreases downward
    // Orientation letters at the screen's left, right, top and bottom edges.
    std::string left, right, top, bottom;
};

// The voxel axis that points along each RAS axis (the permutation with the largest direction
// cosines) and its sign: voxelAxisOf[ras] and signOf[ras] (+1 or −1).
struct AxisMap {
    std::array<int, 3> voxelAxisOf{0, 1, 2};
    std::array<int, 3> signOf{1, 1, 1};
};
AxisMap axisMap(const soul::Affine& ijkToRas);

SliceAxes sliceAxes(const soul::Affine& ijkToRas, SliceOrientation orientation, bool radiological = true);

// Screen pixel (column, row) of a slice image ↔ voxel index, for the slice at `cursor`.
std::array<int64_t, 3> voxelAt(const SliceAxes& axes, const std::array<int64_t, 3>& dims,
                               const std::array<int64_t, 3>& cursor, int64_t column, int64_t row);
std::array<int64_t, 2> pixelOf(const SliceAxes& axes, const std::array<int64_t, 3>& dims,
                               const std::array<int64_t, 3>& voxel);

// One colour layer of a slice: a voxel is drawn in colour where value ≥ threshold or value ≤
// negativeThreshold (FSLeyes' positive and negative thresholds: −1e30 and −1e30 show everything),
// blended with `opacity` over what is below it.
struct ColourLayer {
    const soul::Volume* volume = nullptr;   // on the slice's grid
    double windowLow = 0, windowHigh = 1;
    double threshold = -1e30;
    double negativeThreshold = -1e30;
    double opacity = 1;
    std::array<std::array<uint8_t, 3>, 256> colormap{};   // 256-entry lookup table
};

// The layers bottom up: the underlay (grey over its own window, or black), the colour layers,
// the labels.
struct SliceStyle {
    std::vector<ColourLayer> layers;
    double labelOpacity = 0.5;                  // blend of label colours over the image
    const soul::Volume* underlay = nullptr;     // optional, on the grid
    double underlayLow = 0, underlayHigh = 1;
    // Above 1: each voxel side is drawn as this many samples, the colour layers interpolated
    // trilinearly and `fineUnderlay` (any grid, e.g. a 1 mm T1 under 1.8 mm betas) sampled at
    // its own resolution through the affines. Labels stay nearest neighbour.
    int samplesPerVoxel = 1;
    const soul::Volume* fineUnderlay = nullptr;
};

// The value of `volume` at the continuous voxel position (i, j, k): trilinear, or the nearest
// voxel's where a neighbour is not finite; NaN outside the grid (beyond half a voxel).
float sampleLinear(const soul::Volume& volume, double i, double j, double k);

// Renders one slice of `grid` through `cursor` as 0xAARRGGBB pixels (width = dims[horizontal] ×
// samplesPerVoxel, height = dims[vertical] × samplesPerVoxel). Labels (optional, on the grid) are
// blended in where `labelVisible(value)`.
struct SliceImage {
    int width = 0, height = 0;
    std::vector<uint32_t> pixels;
    double pixelWidthMm = 1, pixelHeightMm = 1;
};
template <typename VisibleFn, typename OpacityFn>
SliceImage renderSlice(const soul::Volume& grid, const soul::Volume* labels, const soul::LabelTable& table,
                       const SliceAxes& axes, const std::array<int64_t, 3>& cursor, const SliceStyle& style,
                       VisibleFn labelVisible, OpacityFn labelOpacity);

}  // namespace soului

#include "SliceGeometry.inl"
