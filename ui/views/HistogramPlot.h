// HistogramPlot: the selected layer's intensity histogram (QCustomPlot) with its display window and
// threshold drawn over it. Drag with the left button across the plot to set a new window.
#pragma once

#include <QWidget>

class QCustomPlot;
class QCPItemStraightLine;

namespace soului {

class VolumeDocument;

class HistogramPlot : public QWidget {
    Q_OBJECT
public:
    explicit HistogramPlot(VolumeDocument* document, QWidget* parent = nullptr);
    QCustomPlot* plot() const { return m_plot; }
    int binCount() const;

private:
    void rebuild();
    void updateMarkers();

    VolumeDocument* m_document;
    QCustomPlot* m_plot;
    QCPItemStraightLine* m_low;
    QCPItemStraightLine* m_high;
    QCPItemStraightLine* m_threshold;
    double m_dragStart = 0;
    bool m_dragging = false;
};

}  // namespace soului
