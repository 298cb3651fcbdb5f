// ColourBar: a vertical colour bar with its window's ends, zero where the window spans it, the
// thresholds marked, and a title (the layer's name and unit), painted with QPainter so that the
// views and every image exported from them carry it.
#pragma once

#include "Colormap.h"

#include <QRectF>
#include <QString>

#include <vector>

class QPainter;

namespace soului {

struct ColourBarSpec {
    ColormapTable colormap{};
    double low = 0, high = 1;
    double threshold = -1e30, negativeThreshold = -1e30;   // marked when inside the window
    QString title;          // e.g. "trial-test-3 (z-score)"
    QString shortTitle;     // the unit, or the name where there is none: "z-score"
};

// The strip a bar and its numbers take at the right of a view `viewHeight` pixels tall.
double colourBarStripWidth(double viewHeight);
// Paints the bar into `strip` (as wide as colourBarStripWidth); its title may reach `titleReach`
// strip widths to the left, into the view.
void paintColourBar(QPainter& painter, const QRectF& strip, const ColourBarSpec& spec, double titleReach = 3.5);
// Paints several bars side by side, each in an equal share of `area`, the first at the left, each
// titled by its short title within its own strip.
void paintColourBars(QPainter& painter, const QRectF& area, const std::vector<ColourBarSpec>& specs);

}  // namespace soului
