// StudioFigure: a figure for a paper from what the studio shows — a lightbox (a grid of slices of
// the document's layers: underlay, thresholded volume, labels) with the volume's colour bar, and
// below it the 3D view and the trial's reconstruction row — at a physical width (mm) and a
// resolution (DPI). PNG records its DPI; in SVG and PDF the text, ticks and frames stay vector
// and the slices are images at the figure's resolution.
// Layout is in 1/96-inch units (Qt's logical pixel), scaled to the DPI when painted, so type
// and lines keep their printed size whatever the resolution.
#pragma once

#include "SliceGeometry.h"
#include "StudioSession.h"

#include <QImage>
#include <QSize>
#include <QString>

#include <vector>

namespace soului {

class VolumeDocument;

struct FigureContent {
    const VolumeDocument* document = nullptr;   // must have a volume
    QImage view3d;           // empty: no 3D panel
    QImage reconstruction;   // empty: no reconstruction row
    bool radiological = true;   // the slices' left–right convention, as in the views
};

// The voxel indices along the slice normal that a lightbox of `slices` shows: evenly spaced
// over the axis, the first and last half a step in from its ends.
std::vector<int64_t> lightboxSlices(int64_t axisLength, int slices);
// The figure's size in pixels at spec.dpi.
QSize figurePixelSize(const FigureSpec& spec, const FigureContent& content);
// Writes the figure as PNG, SVG or PDF (by the file's suffix), atomically. False with `error`
// naming the file and the problem when the spec or the content cannot make a figure or the file
// cannot be written.
bool writeFigure(const QString& path, const FigureSpec& spec, const FigureContent& content, QString* error);

}  // namespace soului
