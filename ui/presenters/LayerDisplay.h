// LayerDisplay: how one colour layer (the volume or an overlay) is drawn — its colour map, window,
// FSLeyes' positive and negative thresholds, opacity, visibility and unit. One struct for the
// document, the views, the 3D painting and the session file.
#pragma once

#include <QString>

#include <cmath>

namespace soului {

// Thresholds at or beyond this magnitude are off.
constexpr double kThresholdOff = 1e29;

struct LayerDisplay {
    QString colormap = "grey";
    double windowLow = 0, windowHigh = 1;
    // A voxel is drawn where value ≥ threshold or value ≤ negativeThreshold; −1e30 (or −inf) is off.
    double threshold = -1e30, negativeThreshold = -1e30;
    double opacity = 1;
    bool visible = true;
    QString unit;   // what the values are, for colour bars: "z-score", "attribution"; empty when unknown

    bool thresholdOn() const { return std::abs(threshold) < kThresholdOff; }
    bool negativeThresholdOn() const { return std::abs(negativeThreshold) < kThresholdOff; }
    bool shows(double value) const { return std::isfinite(value) && (value >= threshold || value <= negativeThreshold); }
};

}  // namespace soului
