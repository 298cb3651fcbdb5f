#include "Histogram.h"

#include <algorithm>
#include <cmath>

namespace soului {

Histogram histogram(const soul::Volume& volume, int bins, bool skipZeros) {
    Histogram h;
    const auto range = soul::value_range(volume);
    h.low = range[0];
    h.high = range[1] > range[0] ? range[1] : range[0] + 1;
    h.counts.assign(static_cast<size_t>(std::max(1, bins)), 0.0);
    const double scale = h.counts.size() / (h.high - h.low);
    const size_t n = static_cast<size_t>(volume.frame_size());
    for (size_t i = 0; i < n; ++i) {
        const float v = volume.voxels[i];
        if (!std::isfinite(v) || (skipZeros && v == 0.0f)) continue;
        const auto bin = std::min(h.counts.size() - 1, static_cast<size_t>((v - h.low) * scale));
        h.counts[bin] += 1;
    }
    return h;
}

}  // namespace soului
