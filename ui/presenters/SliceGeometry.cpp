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
