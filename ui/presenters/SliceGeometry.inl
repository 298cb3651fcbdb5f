// Template part of SliceGeometry.h.
#pragma once

#include <algorithm>
#include <cmath>

namespace soului {

template <typename VisibleFn, typename OpacityFn>
SliceImage renderSlice(const soul::Volume& volume, const soul::Volume* labels, const soul::LabelTable& table,
                       const SliceAxes& axes, const std::array<int64_t, 3>& cursor, const SliceStyle& style,
                       VisibleFn labelVisible, OpacityFn labelOpacity) {
    SliceImage out;
    out.width = static_cast<int>(volume.dims[axes.horizontal]);
    out.height = static_cast<int>(volume.dims[axes.vertical]);
    out.pixelWidthMm = volume.spacing[axes.horizontal];
    out.pixelHeightMm = volume.spacing[axes.vertical];
    out.pixels.assign(static_cast<size_t>(out.width) * out.height, 0xff000000u);
    const double span = style.windowHigh > style.windowLow ? style.windowHigh - style.windowLow : 1.0;
    const double underlaySpan = style.underlayHigh > style.underlayLow ? style.underlayHigh - style.underlayLow : 1.0;
    for (int row = 0; row < out.height; ++row)
        for (int column = 0; column < out.width; ++column) {
            const auto v = voxelAt(axes, volume.dims, cursor, column, row);
            const float value = volume.at(v[0], v[1], v[2]);
            double r = 0, g = 0, b = 0;
            if (style.underlay) {
                const float u = style.underlay->at(v[0], v[1], v[2]);
                if (std::isfinite(u)) r = g = b = std::clamp((u - style.underlayLow) / underlaySpan, 0.0, 1.0) * 255.0;
            }
            if (std::isfinite(value) && (value >= style.threshold || value <= style.negativeThreshold)) {
                const int index = static_cast<int>(std::clamp((value - style.windowLow) / span, 0.0, 1.0) * 255.0 + 0.5);
                const auto& c = style.colormap[static_cast<size_t>(index)];
                const double a = std::clamp(style.opacity, 0.0, 1.0);
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
            out.pixels[static_cast<size_t>(row) * out.width + column] =
                0xff000000u | (static_cast<uint32_t>(r + 0.5) << 16) | (static_cast<uint32_t>(g + 0.5) << 8) |
                static_cast<uint32_t>(b + 0.5);
        }
    return out;
}

}  // namespace soului
