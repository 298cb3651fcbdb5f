// LayerImage: the document's layers (underlay, thresholded volume and overlays, labels) as one slice image and
// its colour bar, drawn the same way in the slice views and in the figures made from them.
#pragma once

#include "ColourBar.h"
#include "SliceGeometry.h"

#include <QImage>

#include <array>
#include <vector>

namespace soului {

class VolumeDocument;

struct LayerSlice {
    QImage image;       // samplesPerVoxel² pixels per voxel
    double aspect = 1;  // pixel height / pixel width in millimetres
};

// The slice of `document` through `cursor` seen along `axes`.
LayerSlice renderLayers(const VolumeDocument& document, const SliceAxes& axes, const std::array<int64_t, 3>& cursor);
// The colour bar of one colour layer (0: the volume): its colour map, window, thresholds, name and unit.
ColourBarSpec colourBarOf(const VolumeDocument& document, int layer = 0);
// The colour bars of the visible colour layers, top layer first (as the layer list reads).
std::vector<ColourBarSpec> colourBarsOf(const VolumeDocument& document);

}  // namespace soului
