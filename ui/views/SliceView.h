// SliceView: one orthogonal slice (axial, coronal or sagittal) of the document's layers (underlay,
// thresholded volume, labels), a crosshair at the cursor, the orientation letters at the edges and
// the volume's colour bar at the right.
// Click or drag to move the cursor; the wheel (or Page Up/Down) steps through slices.
#pragma once

#include "SliceGeometry.h"

#include <QImage>
#include <QWidget>

#include <array>
#include <optional>

namespace soului {

class VolumeDocument;

class SliceView : public QWidget {
    Q_OBJECT
public:
    SliceView(VolumeDocument* document, SliceOrientation orientation, QWidget* parent = nullptr);

    SliceOrientation orientation() const { return m_orientation; }
    void setRadiological(bool radiological);
    bool radiological() const { return m_radiological; }
    void setColourBarVisible(bool visible);
    bool colourBarVisible() const { return m_colourBar; }
    SliceAxes axes() const;

    // The view as an image of `scale` × its size; transparent background when asked.
    QImage renderImage(int scale = 1, bool transparent = false) const;
    // The rendered slice itself (voxel resolution), for tests.
    QImage sliceImage() const { return m_slice; }
    // The widget rectangle the slice image is drawn into.
    QRectF imageRect() const;
    // Voxel under a widget position, or nullopt outside the slice.
    std::optional<std::array<int64_t, 3>> voxelAtPosition(const QPointF& position) const;

Q_SIGNALS:
    void hovered(const QString& description);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    void rebuild();
    void paintInto(QPainter& painter, const QRectF& area, bool transparent) const;
    QRectF imageRectIn(const QRectF& area) const;
    // `area` less the colour bar's strip when it is shown.
    QRectF sliceAreaIn(const QRectF& area) const;
    void stepSlice(int delta);

    VolumeDocument* m_document;
    SliceOrientation m_orientation;
    bool m_radiological = true;
    bool m_colourBar = true;
    QImage m_slice;
    double m_aspect = 1;   // pixel height / pixel width in mm
};

}  // namespace soului
