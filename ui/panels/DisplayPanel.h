// DisplayPanel: the underlay's visibility; the selected layer's (the volume's or an overlay's)
// colour map, window (low/high), positive and negative thresholds and opacity; interpolation on a
// finer underlay; the volume index of a 4D series; whether the 3D view renders the volume and
// paints the surfaces.
#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;

namespace soului {

class VolumeDocument;

class DisplayPanel : public QWidget {
    Q_OBJECT
public:
    explicit DisplayPanel(VolumeDocument* document, QWidget* parent = nullptr);
    void setVolumeRendering(bool on);
    void setSurfaceActivity(bool on);

Q_SIGNALS:
    void volumeRenderingToggled(bool on);
    void surfaceActivityToggled(bool on);
    void frameRejected(const QString& message);

private:
    void syncFromDocument();
    void syncDisplay();

    VolumeDocument* m_document;
    QLabel* m_source;
    QComboBox* m_colormap;
    QDoubleSpinBox* m_low;
    QDoubleSpinBox* m_high;
    QDoubleSpinBox* m_threshold;
    QCheckBox* m_thresholdOn;
    QDoubleSpinBox* m_negativeThreshold;
    QCheckBox* m_negativeThresholdOn;
    QDoubleSpinBox* m_opacity;
    QCheckBox* m_underlayOn;
    QCheckBox* m_interpolation;
    QSpinBox* m_frame;
    QCheckBox* m_volumeRendering;
    QCheckBox* m_surfaceActivity;
};

}  // namespace soului
