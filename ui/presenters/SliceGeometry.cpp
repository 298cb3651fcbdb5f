#include "SliceGeometry.h"

#include <algorithm>
#include <cmath>

namespace soului {

AxisMap axisMap(const soul::Affine& a) {
    // Try the six permutations; keep the one whose direction cosines are largest, so that an
    // oblique acquisition is shown along its nearest anatomical axes (as ITK-SNAP does).
    std::array<int, 3> perm{0, 1, 2}, best = perm;
    double bestScore = -1;
    do {
        double score = 0;
        for (int ras = 0; ras < 3; ++ras) {
            const int axis = perm[ras];
            const double norm = std::sqrt(a(0, axis) * a(0, axis) + a(1, axis) * a(1, axis) + a(2, axis) * a(2, axis));
            score += norm > 0 ? std::abs(a(ras, axis)) / norm : 0;
        }
        if (score > bestScore) {
            bestScore = score;
            best = perm;
        }
    } while (std::next_permutation(perm.begin(), perm.end()));
    AxisMap map;
    map.voxelAxisOf = best;
    for (int ras = 0; ras < 3; ++ras) map.signOf[ras] = a(ras, best[ras]) >= 0 ? 1 : -1;
    return map;
}

SliceAxes sliceAxes(const soul::Affine& ijkToRas, SliceOrientation orientation, bool radiological) {
    static const char* positive[3] = {"R", "A", "S"};
    static const char* negative[3] = {"L", "P", "I"};
    const AxisMap map = axisMap(ijkToRas);
    // Per view: the RAS axis across the screen and whether the screen's right points to its
    // positive end; the RAS axis up the screen (its positive end is always up: A or S).
    int normalRas = 2, horizontalRas = 0, verticalRas = 1;
    bool rightIsPositive = !radiological;
    switch (orientation) {
        case SliceOrientation::Axial: normalRas = 2; horizontalRas = 0; verticalRas = 1; break;
        case SliceOrientation::Coronal: normalRas = 1; horizontalRas = 0; verticalRas = 2; break;
        case SliceOrientation::Sagittal:
            normalRas = 0; horizontalRas = 1; verticalRas = 2;
            rightIsPositive = false;  // anterior on the left, as in most viewers
            break;
    }
    SliceAxes axes;
    axes.normal = map.voxelAxisOf[normalRas];
    axes.horizontal = map.voxelAxisOf[horizontalRas];
    axes.vertical = map.voxelAxisOf[verticalRas];
    axes.flipHorizontal = rightIsPositive != (map.signOf[horizontalRas] > 0);
    axes.flipVertical = map.signOf[verticalRas] > 0;  // index grows upward when the axis points up
    axes.right = rightIsPositive ? positive[horizontalRas] : negative[horizontalRas];
    axes.left = rightIsPositive ? negative[horizontalRas] : positive[horizontalRas];
    axes.top = positive[verticalRas];
    axes.bottom = negative[verticalRas];
    return axes;
}

std::array<int64_t, 3> voxelAt(const SliceAxes& axes, const std::array<int64_t, 3>& dims,
                               const std::array<int64_t, 3>& cursor, int64_t column, int64_t row) {
    std::array<int64_t, 3> v = cursor;
    v[axes.horizontal] = axes.flipHorizontal ? dims[axes.horizontal] - 1 - column : column;
    v[axes.vertical] = axes.flipVertical ? dims[axes.vertical] - 1 - row : row;
    return v;
}

std::array<int64_t, 2> pixelOf(const SliceAxes& axes, const std::array<int64_t, 3>& dims,
                               const std::array<int64_t, 3>& voxel) {
    const int64_t h = voxel[axes.horizontal], v = voxel[axes.vertical];
    return {axes.flipHorizontal ? dims[axes.horizontal] - 1 - h : h,
            axes.flipVertical ? dims[axes.vertical] - 1 - v : v};
}

}  // namespace soului

namespace soului {

float sampleLinear(const soul::Volume& volume, double i, double j, double k) {
    const std::array<double, 3> p{i, j, k};
    std::array<int64_t, 3> base{};
    std::array<double, 3> t{};
    for (int a = 0; a < 3; ++a) {
        const double size = static_cast<double>(volume.dims[static_cast<size_t>(a)]);
        if (!(p[a] >= -0.5 && p[a] <= size - 0.5)) return NAN;
        const double c = std::clamp(p[a], 0.0, size - 1);
        base[a] = std::min<int64_t>(static_cast<int64_t>(std::floor(c)), std::max<int64_t>(0, volume.dims[static_cast<size_t>(a)] - 2));
        t[a] = volume.dims[static_cast<size_t>(a)] > 1 ? c - static_cast<double>(base[a]) : 0.0;
    }
    double sum = 0;
    for (int corner = 0; corner < 8; ++corner) {
        double weight = 1;
        std::array<int64_t, 3> q = base;
        for (int a = 0; a < 3; ++a) {
            const bool upper = (corner >> a) & 1;
            if (upper) q[a] = std::min(q[a] + 1, volume.dims[static_cast<size_t>(a)] - 1);
            weight *= upper ? t[a] : 1 - t[a];
        }
        if (weight == 0) continue;
        const float value = volume.at(q[0], q[1], q[2]);
        if (!std::isfinite(value))   // a hole (a masked voxel): no blending across it
            return volume.at(std::llround(std::clamp(p[0], 0.0, volume.dims[0] - 1.0)), std::llround(std::clamp(p[1], 0.0, volume.dims[1] - 1.0)),
                             std::llround(std::clamp(p[2], 0.0, volume.dims[2] - 1.0)));
        sum += weight * value;
    }
    return static_cast<float>(sum);
}

}  // namespace soului
