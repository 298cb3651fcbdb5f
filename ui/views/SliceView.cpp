#include "SliceView.h"

#include "LayerImage.h"
#include "VolumeDocument.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

namespace soului {

SliceView::SliceView(VolumeDocument* document, SliceOrientation orientation, QWidget* parent)
    : QWidget(parent), m_document(document), m_orientation(orientation) {
    static const char* names[3] = {"axialView", "coronalView", "sagittalView"};
    setObjectName(names[static_cast<int>(orientation)]);
    setMouseTracking(true);
    setFocusPolicy(Qt::ClickFocus);
    setMinimumSize(160, 160);
    setAttribute(Qt::WA_OpaquePaintEvent);
    for (auto signal : {&VolumeDocument::volumeChanged, &VolumeDocument::frameChanged, &VolumeDocument::labelsChanged,
                        &VolumeDocument::cursorChanged, &VolumeDocument::displayChanged, &VolumeDocument::underlayChanged})
        connect(document, signal, this, &SliceView::rebuild);
    connect(document, &VolumeDocument::labelDisplayChanged, this, &SliceView::rebuild);
    connect(document, &VolumeDocument::layersChanged, this, &SliceView::rebuild);
    rebuild();
}

void SliceView::setRadiological(bool radiological) {
    m_radiological = radiological;
    rebuild();
}

void SliceView::setColourBarVisible(bool visible) {
    m_colourBar = visible;
    update();
}

SliceAxes SliceView::axes() const { return sliceAxes(m_document->volume().ijk_to_ras, m_orientation, m_radiological); }

void SliceView::rebuild() {
    if (!m_document->hasVolume()) {
        m_slice = QImage();
        update();
        return;
    }
    const LayerSlice slice = renderLayers(*m_document, axes(), m_document->cursor());
    m_slice = slice.image;
    m_aspect = slice.aspect;
    update();
}

QRectF SliceView::sliceAreaIn(const QRectF& area) const {
    if (!m_colourBar || m_slice.isNull()) return area;
    const auto bars = static_cast<double>(std::max<size_t>(1, colourBarsOf(*m_document).size()));
    return area.adjusted(0, 0, -colourBarStripWidth(area.height()) * bars, 0);
}

QRectF SliceView::imageRectIn(const QRectF& fullArea) const {
    if (m_slice.isNull()) return {};
    const QRectF area = sliceAreaIn(fullArea);
    const double w = m_slice.width(), h = m_slice.height() * m_aspect;
    const double s = std::min(area.width() / w, area.height() / h);
    return QRectF(area.x() + (area.width() - w * s) / 2, area.y() + (area.height() - h * s) / 2, w * s, h * s);
}

QRectF SliceView::imageRect() const { return imageRectIn(QRectF(rect())); }

std::optional<std::array<int64_t, 3>> SliceView::voxelAtPosition(const QPointF& position) const {
    const QRectF r = imageRect();
    if (r.isEmpty() || !r.contains(position)) return std::nullopt;
    // In voxels, whatever the samples per voxel of the image.
    const SliceAxes a = axes();
    const auto& dims = m_document->volume().dims;
    const int64_t columns = dims[a.horizontal], rows = dims[a.vertical];
    const auto column = static_cast<int64_t>((position.x() - r.x()) / r.width() * static_cast<double>(columns));
    const auto row = static_cast<int64_t>((position.y() - r.y()) / r.height() * static_cast<double>(rows));
    return voxelAt(a, dims, m_document->cursor(), std::min<int64_t>(column, columns - 1), std::min<int64_t>(row, rows - 1));
}

void SliceView::paintInto(QPainter& painter, const QRectF& fullArea, bool transparent) const {
    painter.fillRect(fullArea, transparent ? QColor(0, 0, 0, 0) : QColor(0, 0, 0));
    const QRectF area = sliceAreaIn(fullArea);
    if (m_slice.isNull()) {
        painter.setPen(QColor(150, 150, 150));
        painter.drawText(area, Qt::AlignCenter, tr("No volume"));
        return;
    }
    const QRectF r = imageRectIn(area);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(r, m_slice);

    // Crosshair through the cursor voxel's centre.
    const SliceAxes a = axes();
    const auto& dims = m_document->volume().dims;
    const auto p = pixelOf(a, dims, m_document->cursor());
    const double x = r.x() + (p[0] + 0.5) / static_cast<double>(dims[a.horizontal]) * r.width();
    const double y = r.y() + (p[1] + 0.5) / static_cast<double>(dims[a.vertical]) * r.height();
    painter.setPen(QPen(QColor(60, 220, 255, 200), 1));
    painter.drawLine(QPointF(r.left(), y), QPointF(r.right(), y));
    painter.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()));

    // Orientation letters.
    QFont font = painter.font();
    font.setBold(true);
    font.setPixelSize(std::max(12, static_cast<int>(area.height() / 22)));
    painter.setFont(font);
    painter.setPen(QColor(255, 210, 80));
    const double m = 4;
    painter.drawText(area.adjusted(m, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter, QString::fromStdString(a.left));
    painter.drawText(area.adjusted(0, 0, -m, 0), Qt::AlignRight | Qt::AlignVCenter, QString::fromStdString(a.right));
    painter.drawText(area.adjusted(0, m, 0, 0), Qt::AlignTop | Qt::AlignHCenter, QString::fromStdString(a.top));
    painter.drawText(area.adjusted(0, 0, 0, -m), Qt::AlignBottom | Qt::AlignHCenter, QString::fromStdString(a.bottom));
    static const char* titles[3] = {"Axial", "Coronal", "Sagittal"};
    font.setBold(false);
    font.setPixelSize(std::max(11, static_cast<int>(area.height() / 28)));
    painter.setFont(font);
    painter.setPen(QColor(200, 200, 200));
    painter.drawText(area.adjusted(m, m, 0, 0), Qt::AlignLeft | Qt::AlignTop,
                     QString("%1 %2").arg(titles[static_cast<int>(m_orientation)]).arg(m_document->cursor()[a.normal]));

    if (m_colourBar) {
        paintColourBars(painter, QRectF(area.right(), fullArea.top() + m, fullArea.right() - area.right(), fullArea.height() - 2 * m),
                        colourBarsOf(*m_document));
    }
}

void SliceView::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    paintInto(painter, QRectF(rect()), false);
}

QImage SliceView::renderImage(int scale, bool transparent) const {
    scale = std::clamp(scale, 1, 8);
    QImage out(size() * scale, QImage::Format_ARGB32_Premultiplied);
    out.fill(Qt::transparent);
    QPainter painter(&out);
    painter.scale(scale, scale);
    paintInto(painter, QRectF(rect()), transparent);
    painter.end();
    return transparent ? out : out.convertToFormat(QImage::Format_RGB888);
}

void SliceView::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton)
        if (auto v = voxelAtPosition(event->position())) m_document->setCursor(*v);
}

void SliceView::mouseMoveEvent(QMouseEvent* event) {
    const auto v = voxelAtPosition(event->position());
    if (v && (event->buttons() & Qt::LeftButton)) m_document->setCursor(*v);
    Q_EMIT hovered(v ? m_document->describeVoxel(*v) : QString());
}

void SliceView::stepSlice(int delta) {
    if (!m_document->hasVolume()) return;
    auto c = m_document->cursor();
    const int normal = axes().normal;
    c[normal] = std::clamp<int64_t>(c[normal] + delta, 0, m_document->volume().dims[normal] - 1);
    m_document->setCursor(c);
}

void SliceView::wheelEvent(QWheelEvent* event) { stepSlice(event->angleDelta().y() > 0 ? 1 : -1); }

void SliceView::keyPressEvent(QKeyEvent* event) {
    if (event->key() == Qt::Key_PageUp || event->key() == Qt::Key_Up) stepSlice(1);
    else if (event->key() == Qt::Key_PageDown || event->key() == Qt::Key_Down) stepSlice(-1);
    else QWidget::keyPressEvent(event);
}

}  // namespace soului
