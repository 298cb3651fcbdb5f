#include "HistogramPlot.h"

#include "Histogram.h"
#include "VolumeDocument.h"

#include <QVBoxLayout>
#include <qcustomplot.h>

#include <cmath>

namespace soului {
namespace {
constexpr int kBins = 128;
}

HistogramPlot::HistogramPlot(VolumeDocument* document, QWidget* parent) : QWidget(parent), m_document(document) {
    setObjectName("histogram");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName("histogramPlot");
    m_plot->setMinimumHeight(110);
    m_plot->addGraph();
    m_plot->graph(0)->setLineStyle(QCPGraph::lsStepCenter);
    m_plot->graph(0)->setPen(QPen(QColor(70, 110, 170)));
    m_plot->graph(0)->setBrush(QColor(70, 110, 170, 90));
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_plot->yAxis->setTickLabels(false);
    m_plot->xAxis->setLabel(tr("intensity (drag to set the window)"));
    auto line = [this](QColor colour, Qt::PenStyle style) {
        auto* item = new QCPItemStraightLine(m_plot);
        item->setPen(QPen(colour, 1.5, style));
        return item;
    };
    m_low = line(QColor(230, 120, 20), Qt::SolidLine);
    m_high = line(QColor(230, 120, 20), Qt::SolidLine);
    m_threshold = line(QColor(200, 40, 40), Qt::DashLine);
    layout->addWidget(m_plot);

    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (e->button() != Qt::LeftButton) return;
        m_dragStart = m_plot->xAxis->pixelToCoord(e->position().x());
        m_dragging = true;
    });
    connect(m_plot, &QCustomPlot::mouseRelease, this, [this](QMouseEvent* e) {
        if (!m_dragging) return;
        m_dragging = false;
        const double end = m_plot->xAxis->pixelToCoord(e->position().x());
        if (std::abs(end - m_dragStart) <= 1e-9) return;
        LayerDisplay d = m_document->layerDisplay(m_document->selectedLayer());
        d.windowLow = std::min(m_dragStart, end);
        d.windowHigh = std::max(m_dragStart, end);
        m_document->setLayerDisplay(m_document->selectedLayer(), d);
    });
    connect(m_document, &VolumeDocument::volumeChanged, this, &HistogramPlot::rebuild);
    connect(m_document, &VolumeDocument::frameChanged, this, &HistogramPlot::rebuild);
    connect(m_document, &VolumeDocument::selectedLayerChanged, this, &HistogramPlot::rebuild);
    connect(m_document, &VolumeDocument::displayChanged, this, &HistogramPlot::updateMarkers);
    rebuild();
}

int HistogramPlot::binCount() const { return m_plot->graph(0)->data()->size(); }

void HistogramPlot::rebuild() {
    QVector<double> x, y;
    if (m_document->hasVolume()) {
        const Histogram h = histogram(m_document->layerVolume(m_document->selectedLayer()), kBins);
        for (size_t b = 0; b < h.counts.size(); ++b) {
            x << h.low + (b + 0.5) * h.binWidth();
            y << std::max(0.8, h.counts[b]);  // log axis: empty bins sit just below one voxel
        }
        m_plot->xAxis->setRange(h.low, h.high);
        m_plot->yAxis->setRange(0.8, std::max(10.0, *std::max_element(y.begin(), y.end()) * 1.5));
    }
    m_plot->graph(0)->setData(x, y);
    updateMarkers();
}

void HistogramPlot::updateMarkers() {
    auto place = [](QCPItemStraightLine* item, double x, bool visible) {
        item->point1->setCoords(x, 1);
        item->point2->setCoords(x, 10);
        item->setVisible(visible);
    };
    const LayerDisplay& d = m_document->layerDisplay(m_document->selectedLayer());
    place(m_low, d.windowLow, true);
    place(m_high, d.windowHigh, true);
    place(m_threshold, d.threshold, d.thresholdOn());
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace soului
