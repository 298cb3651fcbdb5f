#include "DisplayPanel.h"

#include "Colormap.h"
#include "HistogramPlot.h"
#include "VolumeDocument.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>

#include <cmath>
#include <limits>

namespace soului {

DisplayPanel::DisplayPanel(VolumeDocument* document, QWidget* parent) : QWidget(parent), m_document(document) {
    setObjectName("displayPanel");
    auto* form = new QFormLayout(this);
    m_source = new QLabel(tr("No volume"), this);
    m_source->setObjectName("volumeSource");
    m_source->setWordWrap(true);
    form->addRow(m_source);

    m_underlayOn = new QCheckBox(tr("No underlay: File ▸ Open Underlay…"), this);
    m_underlayOn->setObjectName("underlayOn");
    m_underlayOn->setEnabled(false);
    form->addRow(tr("Underlay"), m_underlayOn);

    m_colormap = new QComboBox(this);
    m_colormap->setObjectName("colormap");
    m_colormap->addItems(colormapNames());
    form->addRow(tr("Colour map"), m_colormap);

    auto spin = [this](const char* name) {
        auto* s = new QDoubleSpinBox(this);
        s->setObjectName(name);
        s->setDecimals(3);
        s->setRange(-1e9, 1e9);
        s->setKeyboardTracking(false);
        return s;
    };
    m_low = spin("windowLow");
    m_high = spin("windowHigh");
    form->addRow(tr("Window low"), m_low);
    form->addRow(tr("Window high"), m_high);
    m_thresholdOn = new QCheckBox(tr("Threshold"), this);
    m_thresholdOn->setObjectName("thresholdOn");
    m_threshold = spin("threshold");
    form->addRow(m_thresholdOn, m_threshold);
    m_negativeThresholdOn = new QCheckBox(tr("Negative"), this);
    m_negativeThresholdOn->setObjectName("negativeThresholdOn");
    m_negativeThresholdOn->setToolTip(tr("Also show values at or below this one (signed maps)"));
    m_negativeThreshold = spin("negativeThreshold");
    form->addRow(m_negativeThresholdOn, m_negativeThreshold);
    m_opacity = new QDoubleSpinBox(this);
    m_opacity->setObjectName("opacity");
    m_opacity->setRange(0, 1);
    m_opacity->setSingleStep(0.1);
    m_opacity->setDecimals(2);
    m_opacity->setKeyboardTracking(false);
    form->addRow(tr("Opacity"), m_opacity);

    m_interpolation = new QCheckBox(tr("Interpolate on a finer underlay"), this);
    m_interpolation->setObjectName("interpolation");
    m_interpolation->setToolTip(tr("Draws the colour layers trilinearly at the underlay's resolution (e.g. 1.8 mm betas over a 1 mm T1); "
                                   "without a finer underlay each voxel stays one block"));
    form->addRow(m_interpolation);

    m_frame = new QSpinBox(this);
    m_frame->setObjectName("frameIndex");
    m_frame->setKeyboardTracking(false);
    form->addRow(tr("Volume (4D)"), m_frame);

    form->addRow(new HistogramPlot(m_document, this));

    m_volumeRendering = new QCheckBox(tr("Volume rendering in 3D"), this);
    m_volumeRendering->setObjectName("volumeRendering");
    m_volumeRendering->setChecked(true);
    form->addRow(m_volumeRendering);
    m_surfaceActivity = new QCheckBox(tr("Activity on the 3D surfaces"), this);
    m_surfaceActivity->setObjectName("surfaceActivity");
    m_surfaceActivity->setToolTip(tr("Paints the volume onto the label surfaces with this colour map and these thresholds"));
    m_surfaceActivity->setChecked(true);
    form->addRow(m_surfaceActivity);

    // The controls edit the layer selected in the layer list.
    auto edit = [this](auto change) {
        const int layer = m_document->selectedLayer();
        LayerDisplay d = m_document->layerDisplay(layer);
        change(d);
        m_document->setLayerDisplay(layer, d);
    };
    connect(m_colormap, &QComboBox::currentTextChanged, this, [edit](const QString& name) { edit([&](LayerDisplay& d) { d.colormap = name; }); });
    connect(m_low, &QDoubleSpinBox::valueChanged, this, [this, edit](double v) {
        edit([&](LayerDisplay& d) { d.windowLow = v, d.windowHigh = m_high->value(); });
    });
    connect(m_high, &QDoubleSpinBox::valueChanged, this, [this, edit](double v) {
        edit([&](LayerDisplay& d) { d.windowLow = m_low->value(), d.windowHigh = v; });
    });
    auto applyThreshold = [this, edit] {
        edit([&](LayerDisplay& d) { d.threshold = m_thresholdOn->isChecked() ? m_threshold->value() : -std::numeric_limits<double>::infinity(); });
    };
    connect(m_thresholdOn, &QCheckBox::toggled, this, applyThreshold);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, applyThreshold);
    auto applyNegative = [this, edit] {
        edit([&](LayerDisplay& d) {
            d.negativeThreshold = m_negativeThresholdOn->isChecked() ? m_negativeThreshold->value() : -std::numeric_limits<double>::infinity();
        });
    };
    connect(m_negativeThresholdOn, &QCheckBox::toggled, this, applyNegative);
    connect(m_negativeThreshold, &QDoubleSpinBox::valueChanged, this, applyNegative);
    connect(m_opacity, &QDoubleSpinBox::valueChanged, this, [edit](double v) { edit([&](LayerDisplay& d) { d.opacity = v; }); });
    connect(m_interpolation, &QCheckBox::toggled, m_document, &VolumeDocument::setInterpolation);
    connect(m_underlayOn, &QCheckBox::toggled, m_document, &VolumeDocument::setUnderlayVisible);
    connect(m_document, &VolumeDocument::underlayChanged, this, [this] {
        const QSignalBlocker b(m_underlayOn);
        m_underlayOn->setEnabled(m_document->hasUnderlay());
        m_underlayOn->setChecked(m_document->hasUnderlay() && m_document->underlayVisible());
        m_underlayOn->setText(m_document->hasUnderlay() ? QFileInfo(m_document->underlayPath()).fileName()
                                                        : tr("No underlay: File ▸ Open Underlay…"));
    });
    connect(m_frame, &QSpinBox::valueChanged, this, [this](int index) {
        if (index != m_document->frameIndex() && !m_document->setFrameIndex(index)) Q_EMIT frameRejected(m_document->lastError());
    });
    connect(m_volumeRendering, &QCheckBox::toggled, this, &DisplayPanel::volumeRenderingToggled);
    connect(m_surfaceActivity, &QCheckBox::toggled, this, &DisplayPanel::surfaceActivityToggled);
    connect(m_document, &VolumeDocument::volumeChanged, this, &DisplayPanel::syncFromDocument);
    connect(m_document, &VolumeDocument::displayChanged, this, &DisplayPanel::syncDisplay);
    connect(m_document, &VolumeDocument::selectedLayerChanged, this, &DisplayPanel::syncDisplay);
    syncFromDocument();
}

void DisplayPanel::syncDisplay() {
    const QSignalBlocker b1(m_low), b2(m_high), b3(m_colormap), b4(m_threshold), b5(m_thresholdOn),
        b6(m_negativeThreshold), b7(m_negativeThresholdOn), b8(m_opacity), b9(m_interpolation);
    const int layer = m_document->selectedLayer();
    const LayerDisplay& d = m_document->layerDisplay(layer);
    m_source->setText(m_document->hasVolume() ? (layer == 0 ? tr("Volume: %1") : tr("Overlay: %1")).arg(m_document->layerName(layer))
                                              : tr("No volume: File ▸ Open Volume…"));
    m_colormap->setCurrentText(d.colormap);
    m_low->setValue(d.windowLow);
    m_high->setValue(d.windowHigh);
    m_thresholdOn->setChecked(d.thresholdOn());
    if (d.thresholdOn()) m_threshold->setValue(d.threshold);
    m_negativeThresholdOn->setChecked(d.negativeThresholdOn());
    if (d.negativeThresholdOn()) m_negativeThreshold->setValue(d.negativeThreshold);
    m_opacity->setValue(d.opacity);
    m_interpolation->setChecked(m_document->interpolation());
}

void DisplayPanel::setVolumeRendering(bool on) { m_volumeRendering->setChecked(on); }

void DisplayPanel::setSurfaceActivity(bool on) { m_surfaceActivity->setChecked(on); }

void DisplayPanel::syncFromDocument() {
    const QSignalBlocker b1(m_low), b2(m_high), b3(m_frame), b4(m_threshold);
    m_low->setValue(m_document->windowLow());
    m_high->setValue(m_document->windowHigh());
    m_threshold->setValue(m_document->windowLow());
    m_negativeThreshold->setValue(m_document->windowLow());
    syncDisplay();
    m_frame->setRange(0, static_cast<int>(std::max<int64_t>(0, m_document->frameCount() - 1)));
    m_frame->setValue(static_cast<int>(m_document->frameIndex()));
    m_frame->setEnabled(m_document->frameCount() > 1);
}

}  // namespace soului
