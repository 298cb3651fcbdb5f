// Template part of SliceGeometry.h.
#pragma once

#include <algorithm>
#include <cmath>

namespace soului {

template <typename VisibleFn, typename OpacityFn>
SliceImage renderSlice(const soul::Volume& grid, const soul::Volume* labels, const soul::LabelTable& table,
                       const SliceAxes& axes, const std::array<int64_t, 3>& cursor, const SliceStyle& style,
                       VisibleFn labelVisible, OpacityFn labelOpacity) {
    const int n = std::max(1, style.samplesPerVoxel);
    const bool fine = n > 1;
    const int64_t columns = grid.dims[axes.horizontal], rows = grid.dims[axes.vertical];
    SliceImage out;
    out.width = static_cast<int>(columns * n);
    out.height = static_cast<int>(rows * n);
    out.pixelWidthMm = grid.spacing[axes.horizontal] / n;
    out.pixelHeightMm = grid.spacing[axes.vertical] / n;
    out.pixels.assign(static_cast<size_t>(out.width) * out.height, 0xff000000u);
    const double underlaySpan = style.underlayHigh > style.underlayLow ? style.underlayHigh - style.underlayLow : 1.0;
    // The grid's voxel positions to the fine underlay's (grid IJK → RAS → underlay IJK).
    const soul::Affine toUnderlay = fine && style.fineUnderlay ? style.fineUnderlay->ijk_to_ras.inverse() * grid.ijk_to_ras : soul::Affine{};
    for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x) {
            const int64_t column = x / n, row = y / n;
            const auto v = voxelAt(axes, grid.dims, cursor, column, row);
            // The sample's continuous position in the grid: the voxel's centre, moved within it.
            std::array<double, 3> p{static_cast<double>(v[0]), static_cast<double>(v[1]), static_cast<double>(v[2])};
            if (fine) {
                const double dx = (x % n + 0.5) / n - 0.5, dy = (y % n + 0.5) / n - 0.5;
                p[axes.horizontal] += axes.flipHorizontal ? -dx : dx;
                p[axes.vertical] += axes.flipVertical ? -dy : dy;
            }
            double r = 0, g = 0, b = 0;
            float u = NAN;
            if (fine && style.fineUnderlay) {
                const auto q = toUnderlay.apply(p[0], p[1], p[2]);
                u = sampleLinear(*style.fineUnderlay, q[0], q[1], q[2]);
            } else if (style.underlay) {
                u = style.underlay->at(v[0], v[1], v[2]);
            }
            if (std::isfinite(u)) r = g = b = std::clamp((u - style.underlayLow) / underlaySpan, 0.0, 1.0) * 255.0;
            for (const ColourLayer& layer : style.layers) {
                const float value = fine ? sampleLinear(*layer.volume, p[0], p[1], p[2]) : layer.volume->at(v[0], v[1], v[2]);
                if (!std::isfinite(value) || !(value >= layer.threshold || value <= layer.negativeThreshold)) continue;
                const double span = layer.windowHigh > layer.windowLow ? layer.windowHigh - layer.windowLow : 1.0;
                const int index = static_cast<int>(std::clamp((value - layer.windowLow) / span, 0.0, 1.0) * 255.0 + 0.5);
                const auto& c = layer.colormap[static_cast<size_t>(index)];
                const double a = std::clamp(layer.opacity, 0.0, 1.0);
                r = r * (1 - a) + c[0] * a;
                g = g * (1 - a) + c[1] * a;
                b = b * (1 - a) + c[2] * a;
            }
            if (labels) {
                const int label = static_cast<int>(std::lround(labels->at(v[0], v[1], v[2])));
                if (label > 0 && labelVisible(label)) {
                    const auto rgb = table.colour_of(label);
                    const double a = style.labelOpacity * labelOpacity(label);
                    r = r * (1 - a) + rgb[0] * a;
                    g = g * (1 - a) + rgb[1] * a;
                    b = b * (1 - a) + rgb[2] * a;
                }
            }
            out.pixels[static_cast<size_t>(y) * out.width + x] =
                0xff000000u | (static_cast<uint32_t>(r + 0.5) << 16) | (static_cast<uint32_t>(g + 0.5) << 8) |
                static_cast<uint32_t>(b + 0.5);
        }
    return out;
}

}  // namespace soului
