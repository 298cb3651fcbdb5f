// Intensity histogram of a volume (Qt-free presenter for the display panel's plot).
#pragma once

#include "soul/volume.h"

#include <vector>

namespace soului {

struct Histogram {
    double low = 0, high = 1;        // value range covered
    std::vector<double> counts;      // voxels per bin
    double binWidth() const { return counts.empty() ? 1 : (high - low) / counts.size(); }
};

// `bins` equal bins over the finite range of the volume; with `skipZeros`, voxels equal to 0
// (background outside the brain) are not counted, so they do not flatten the plot.
Histogram histogram(const soul::Volume& volume, int bins, bool skipZeros = true);

}  // namespace soului
