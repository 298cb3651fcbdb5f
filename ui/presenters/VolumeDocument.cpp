#include "VolumeDocument.h"

#include "soul/error.h"

#include <QFileInfo>

#include <algorithm>
#include <cmath>
#include <vector>

namespace soului {
namespace {

// The initial window: 1st to 99.5th percentile of the non-zero voxels, robust to outliers.
std::array<double, 2> robustWindow(const soul::Volume& v) {
    std::vector<float> values;
    values.reserve(v.voxels.size() / 4);
    const size_t step = std::max<size_t>(1, v.voxels.size() / 200000);
    for (size_t i = 0; i < v.voxels.size(); i += step)
        if (std::isfinite(v.voxels[i]) && v.voxels[i] != 0) values.push_back(v.voxels[i]);
    if (values.empty()) return {0, 1};
    std::sort(values.begin(), values.end());
    const double lo = values[static_cast<size_t>(0.01 * (values.size() - 1))];
    const double hi = values[static_cast<size_t>(0.995 * (values.size() - 1))];
    return {std::min(lo, 0.0), hi > lo ? hi : lo + 1};
}

}  // namespace

VolumeDocument::VolumeDocument(QObject* parent) : QObject(parent) {}

LoadedVolume VolumeDocument::loadVolume(const QString& path, const soul::Progress& progress) {
    LoadedVolume out;
    out.path = path;
    try {
        out.series = std::make_shared<soul::NiftiSeries>(path.toStdString(), progress);
        out.frame = out.series->frame(0);
    } catch (const soul::Cancelled&) {
        throw;
    } catch (const soul::Error& e) {
        out.error = QString::fromStdString(e.what());
        out.series.reset();
    } catch (const std::exception& e) {
        out.error = path + ": " + QString::fromStdString(e.what());
        out.series.reset();
    }
    return out;
}

LoadedLabels VolumeDocument::loadLabels(const QString& path, const soul::Volume& onto) {
    LoadedLabels out;
    out.path = path;
    try {
        out.labels = soul::read_labels_onto(path.toStdString(), onto, &out.resampled);
        out.table = soul::label_table_for(path.toStdString(), out.labels);
    } catch (const soul::Error& e) {
        out.error = QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        out.error = path + ": " + QString::fromStdString(e.what());
    }
    return out;
}

LoadedVolume VolumeDocument::inMemory(const soul::Volume& volume, const QString& name) {
    LoadedVolume out;
    out.path = name;
    out.frame = volume;
    if (volume.voxels.empty() || static_cast<int64_t>(volume.voxels.size()) != volume.frame_size())
        out.error = name + ": an empty volume or one whose voxels do not fill its grid";
    return out;
}

bool VolumeDocument::setVolume(const LoadedVolume& loaded) {
    if (!loaded.error.isEmpty() || loaded.frame.voxels.empty()) {
        m_lastError = loaded.error.isEmpty() ? loaded.path + ": could not be read" : loaded.error;
        return false;
    }
    m_series = loaded.series;
    m_frame = loaded.frame;
    m_volumePath = loaded.path;
    m_frameIndex = 0;
    m_labels.reset();
    m_labelsPath.clear();
    m_table = {};
    m_labelCounts.clear();
    const auto w = robustWindow(m_frame);
    const QString colormap = m_display.colormap;
    m_display = LayerDisplay{};
    m_display.colormap = colormap;
    m_display.windowLow = w[0];
    m_display.windowHigh = w[1];
    m_lastNotice.clear();
    if (m_underlay && !soul::same_grid(*m_underlay, m_frame)) {
        m_lastNotice = m_underlayPath + ": the underlay was on another grid than " + loaded.path + "; open it again";
        m_underlay.reset();
        m_underlayNative.reset();
        m_underlayPath.clear();
    }
    // Overlays on the same grid stay (a trial's attribution over the next trial's betas is named
    // by its trial); on another grid they cannot be shown.
    const size_t overlaysBefore = m_overlays.size();
    m_overlays.erase(std::remove_if(m_overlays.begin(), m_overlays.end(),
                                    [this](const Overlay& o) { return !soul::same_grid(*o.volume, m_frame); }),
                     m_overlays.end());
    if (m_overlays.size() != overlaysBefore)
        m_lastNotice += QString(m_lastNotice.isEmpty() ? "" : "; ") +
                        QString("%1 overlay(s) on another grid than %2 were closed").arg(overlaysBefore - m_overlays.size()).arg(loaded.path);
    m_selected = 0;
    m_cursor = {m_frame.dims[0] / 2, m_frame.dims[1] / 2, m_frame.dims[2] / 2};
    m_lastError.clear();
    Q_EMIT underlayChanged();
    Q_EMIT layersChanged();
    Q_EMIT selectedLayerChanged();
    Q_EMIT volumeChanged();
    Q_EMIT labelsChanged();
    Q_EMIT cursorChanged();
    return true;
}

bool VolumeDocument::setLabels(const LoadedLabels& loaded) {
    if (!loaded.error.isEmpty()) {
        m_lastError = loaded.error;
        return false;
    }
    if (!hasVolume() || !soul::same_grid(loaded.labels, m_frame)) {
        m_lastError = loaded.path + ": was loaded for another image; open it again";
        return false;
    }
    m_labels = loaded.labels;
    m_table = loaded.table;
    m_labelsPath = loaded.path;
    m_labelCounts.clear();
    for (float v : m_labels->voxels) {
        const int label = static_cast<int>(std::lround(v));
        if (label > 0) ++m_labelCounts[label];
    }
    m_visible.clear();
    m_labelOpacity.clear();
    for (const auto& [value, count] : m_labelCounts)
        m_visible[value] = loaded.initiallyVisible.empty() || loaded.initiallyVisible.count(value) > 0;
    m_lastNotice = loaded.resampled ? loaded.path + " is on another grid than the image: resampled onto it (nearest neighbour)"
                                    : QString();
    m_lastError.clear();
    Q_EMIT labelsChanged();
    return true;
}

bool VolumeDocument::openVolume(const QString& path) { return setVolume(loadVolume(path)); }

bool VolumeDocument::openLabels(const QString& path) {
    if (!hasVolume()) {
        m_lastError = path + ": open an image volume first; labels are shown over it";
        return false;
    }
    return setLabels(loadLabels(path, m_frame));
}

std::optional<soul::Volume> VolumeDocument::onVolumeGrid(const LoadedVolume& loaded, const QString& role, QString* notice) {
    if (!loaded.error.isEmpty() || loaded.frame.voxels.empty()) {
        m_lastError = loaded.error.isEmpty() ? loaded.path + ": could not be read" : loaded.error;
        return std::nullopt;
    }
    if (!hasVolume()) {
        m_lastError = loaded.path + ": open a volume first; the " + role + " is shown with it";
        return std::nullopt;
    }
    if (soul::same_grid(loaded.frame, m_frame)) return loaded.frame;
    const auto nonZero = [](const soul::Volume& v) { return std::any_of(v.voxels.begin(), v.voxels.end(), [](float x) { return x != 0; }); };
    soul::Volume resampled = soul::resample_nearest(loaded.frame, m_frame);
    if (nonZero(loaded.frame) && !nonZero(resampled)) {
        m_lastError = loaded.path + ": does not overlap " + m_volumePath +
                      " in scanner space (its affine puts it elsewhere); an " + role + " must cover the same head";
        return std::nullopt;
    }
    *notice = loaded.path + " is on another grid than the volume: resampled onto it (nearest neighbour)";
    return resampled;
}

bool VolumeDocument::setUnderlay(const LoadedVolume& loaded) {
    QString notice;
    std::optional<soul::Volume> underlay = onVolumeGrid(loaded, "underlay", &notice);
    if (!underlay) return false;
    m_underlay = std::move(underlay);
    if (notice.isEmpty()) m_underlayNative.reset();
    else m_underlayNative = loaded.frame;
    m_underlayPath = loaded.path;
    const auto w = robustWindow(*m_underlay);
    m_underlayLow = w[0];
    m_underlayHigh = w[1];
    m_underlayVisible = true;
    m_lastNotice = notice;
    m_lastError.clear();
    Q_EMIT underlayChanged();
    return true;
}

bool VolumeDocument::openUnderlay(const QString& path) { return setUnderlay(loadVolume(path)); }

void VolumeDocument::clearUnderlay() {
    m_underlay.reset();
    m_underlayNative.reset();
    m_underlayPath.clear();
    Q_EMIT underlayChanged();
}

void VolumeDocument::setUnderlayWindow(double low, double high) {
    m_underlayLow = low;
    m_underlayHigh = std::max(high, low + 1e-6);
    Q_EMIT underlayChanged();
}

void VolumeDocument::setUnderlayVisible(bool visible) {
    m_underlayVisible = visible;
    Q_EMIT underlayChanged();
}

int64_t VolumeDocument::frameCount() const { return m_series ? m_series->header().frames : (hasVolume() ? 1 : 0); }

bool VolumeDocument::setFrameIndex(int64_t index) {
    if (!m_series) return hasVolume() && index == 0;
    try {
        m_frame = m_series->frame(index);
    } catch (const soul::Error& e) {
        m_lastError = QString::fromStdString(e.what());
        return false;
    }
    m_frameIndex = index;
    Q_EMIT frameChanged();
    return true;
}

void VolumeDocument::setCursor(const std::array<int64_t, 3>& voxel) {
    if (!hasVolume() || !m_frame.contains(voxel[0], voxel[1], voxel[2]) || voxel == m_cursor) return;
    m_cursor = voxel;
    Q_EMIT cursorChanged();
}

void VolumeDocument::setWindow(double low, double high) {
    m_display.windowLow = low;
    m_display.windowHigh = std::max(high, low + 1e-6);
    Q_EMIT displayChanged();
}

void VolumeDocument::setThreshold(double threshold) {
    m_display.threshold = threshold;
    Q_EMIT displayChanged();
}

void VolumeDocument::setNegativeThreshold(double threshold) {
    m_display.negativeThreshold = threshold;
    Q_EMIT displayChanged();
}

void VolumeDocument::setSymmetricThreshold(double threshold) {
    m_display.threshold = std::abs(threshold);
    m_display.negativeThreshold = -std::abs(threshold);
    Q_EMIT displayChanged();
}

void VolumeDocument::setOpacity(double opacity) {
    m_display.opacity = std::clamp(opacity, 0.0, 1.0);
    Q_EMIT displayChanged();
}

void VolumeDocument::setValueUnit(const QString& unit) {
    m_display.unit = unit;
    Q_EMIT displayChanged();
}

void VolumeDocument::setColormapName(const QString& name) {
    m_display.colormap = name;
    Q_EMIT displayChanged();
}

const soul::Volume& VolumeDocument::layerVolume(int layer) const {
    return layer >= 1 && layer <= static_cast<int>(m_overlays.size()) ? *m_overlays[static_cast<size_t>(layer - 1)].volume : m_frame;
}

const LayerDisplay& VolumeDocument::layerDisplay(int layer) const {
    return layer >= 1 && layer <= static_cast<int>(m_overlays.size()) ? m_overlays[static_cast<size_t>(layer - 1)].display : m_display;
}

LayerDisplay& VolumeDocument::displayOf(int layer) {
    return layer >= 1 && layer <= static_cast<int>(m_overlays.size()) ? m_overlays[static_cast<size_t>(layer - 1)].display : m_display;
}

QString VolumeDocument::layerName(int layer) const {
    if (layer >= 1 && layer <= static_cast<int>(m_overlays.size())) return m_overlays[static_cast<size_t>(layer - 1)].name;
    return QFileInfo(m_volumePath).fileName();
}

void VolumeDocument::setLayerDisplay(int layer, const LayerDisplay& display) {
    if (layer < 0 || layer >= layerCount()) return;
    LayerDisplay d = display;
    d.windowHigh = std::max(d.windowHigh, d.windowLow + 1e-6);
    d.opacity = std::clamp(d.opacity, 0.0, 1.0);
    if (layer == 0) d.visible = true;   // the volume sets the grid; its opacity hides it
    displayOf(layer) = d;
    Q_EMIT displayChanged();
}

bool VolumeDocument::addOverlay(const LoadedVolume& loaded, const QString& name, const QString& unit) {
    QString notice;
    std::optional<soul::Volume> volume = onVolumeGrid(loaded, "overlay", &notice);
    if (!volume) return false;
    Overlay overlay;
    overlay.name = name.isEmpty() ? QFileInfo(loaded.path).fileName() : name;
    overlay.path = loaded.series ? loaded.path : QString();
    const auto w = robustWindow(*volume);
    overlay.display.unit = unit;
    if (w[0] < 0) {
        // Signed data: a diverging map centred at zero, shown where |value| stands out.
        const double extent = std::max(std::abs(w[0]), std::abs(w[1]));
        overlay.display.colormap = "coolwarm";
        overlay.display.windowLow = -extent;
        overlay.display.windowHigh = extent;
        overlay.display.threshold = kSignedThresholdShare * extent;
        overlay.display.negativeThreshold = -kSignedThresholdShare * extent;
    } else {
        overlay.display.colormap = "hot";
        overlay.display.windowLow = w[0];
        overlay.display.windowHigh = w[1];
        overlay.display.threshold = w[0] + kSignedThresholdShare * (w[1] - w[0]);
    }
    overlay.volume = std::make_shared<const soul::Volume>(std::move(*volume));
    m_overlays.push_back(std::move(overlay));
    m_selected = static_cast<int>(m_overlays.size());
    m_lastNotice = notice;
    m_lastError.clear();
    Q_EMIT layersChanged();
    Q_EMIT selectedLayerChanged();
    Q_EMIT displayChanged();
    return true;
}

bool VolumeDocument::openOverlay(const QString& path) { return addOverlay(loadVolume(path)); }

void VolumeDocument::removeLayer(int layer) {
    if (layer < 1 || layer > static_cast<int>(m_overlays.size())) return;
    m_overlays.erase(m_overlays.begin() + (layer - 1));
    if (m_selected >= layer) m_selected = std::max(0, m_selected - 1);
    Q_EMIT layersChanged();
    Q_EMIT selectedLayerChanged();
    Q_EMIT displayChanged();
}

bool VolumeDocument::moveLayer(int layer, int delta) {
    const int to = layer + delta;
    const int n = static_cast<int>(m_overlays.size());
    if (layer < 1 || layer > n || to < 1 || to > n || delta == 0) return false;
    std::swap(m_overlays[static_cast<size_t>(layer - 1)], m_overlays[static_cast<size_t>(to - 1)]);
    if (m_selected == layer) m_selected = to;
    else if (m_selected == to) m_selected = layer;
    Q_EMIT layersChanged();
    Q_EMIT selectedLayerChanged();
    Q_EMIT displayChanged();
    return true;
}

void VolumeDocument::setSelectedLayer(int layer) {
    layer = std::clamp(layer, 0, std::max(0, layerCount() - 1));
    if (layer == m_selected) return;
    m_selected = layer;
    Q_EMIT selectedLayerChanged();
}

void VolumeDocument::setInterpolation(bool on) {
    if (on == m_interpolation) return;
    m_interpolation = on;
    Q_EMIT displayChanged();
}

int VolumeDocument::samplesPerVoxel() const {
    const soul::Volume* fine = underlayNative();
    if (!m_interpolation || !fine || !hasVolume()) return 1;
    double ratio = 1e9;
    for (int a = 0; a < 3; ++a) ratio = std::min(ratio, m_frame.spacing[static_cast<size_t>(a)] / fine->spacing[static_cast<size_t>(a)]);
    return std::clamp(static_cast<int>(std::lround(ratio)), 1, kMaxSamplesPerVoxel);
}

bool VolumeDocument::labelVisible(int value) const {
    auto it = m_visible.find(value);
    return it != m_visible.end() && it->second;
}

double VolumeDocument::labelOpacity(int value) const {
    auto it = m_labelOpacity.find(value);
    return it == m_labelOpacity.end() ? 1.0 : it->second;
}

void VolumeDocument::setLabelVisible(int value, bool visible) {
    if (labelVisible(value) == visible) return;
    m_visible[value] = visible;
    Q_EMIT labelDisplayChanged(value);
}

void VolumeDocument::setLabelOpacity(int value, double opacity) {
    m_labelOpacity[value] = std::clamp(opacity, 0.0, 1.0);
    Q_EMIT labelDisplayChanged(value);
}

QString VolumeDocument::describeVoxel(const std::array<int64_t, 3>& v) const {
    if (!hasVolume() || !m_frame.contains(v[0], v[1], v[2])) return {};
    const auto ras = m_frame.ijk_to_ras.apply(static_cast<double>(v[0]), static_cast<double>(v[1]), static_cast<double>(v[2]));
    QString text = QString("IJK %1 %2 %3   RAS %4 %5 %6 mm   value %7")
                       .arg(v[0]).arg(v[1]).arg(v[2])
                       .arg(ras[0], 0, 'f', 1).arg(ras[1], 0, 'f', 1).arg(ras[2], 0, 'f', 1)
                       .arg(static_cast<double>(m_frame.at(v[0], v[1], v[2])), 0, 'g', 6);
    if (!m_display.unit.isEmpty()) text += " " + m_display.unit;
    for (const Overlay& o : m_overlays) {
        text += QString("   %1 %2").arg(o.name).arg(static_cast<double>(o.volume->at(v[0], v[1], v[2])), 0, 'g', 6);
        if (!o.display.unit.isEmpty()) text += " " + o.display.unit;
    }
    if (m_underlay) text += QString("   underlay %1").arg(static_cast<double>(m_underlay->at(v[0], v[1], v[2])), 0, 'g', 6);
    if (m_labels) {
        const int label = static_cast<int>(std::lround(m_labels->at(v[0], v[1], v[2])));
        text += "   label " + (label > 0 ? QString::fromStdString(m_table.name_of(label)) : QString("-"));
    }
    return text;
}

}  // namespace soului
