#include "VolumeDocument.h"

#include "soul/error.h"

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

LoadedVolume VolumeDocument::loadVolume(const QString& path) {
    LoadedVolume out;
    out.path = path;
    try {
        out.series = std::make_shared<soul::NiftiSeries>(path.toStdString());
        out.frame = out.series->frame(0);
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
    m_windowLow = w[0];
    m_windowHigh = w[1];
    m_threshold = -1e30;
    m_negativeThreshold = -1e30;
    m_opacity = 1;
    m_valueUnit.clear();
    m_lastNotice.clear();
    if (m_underlay && !soul::same_grid(*m_underlay, m_frame)) {
        m_lastNotice = m_underlayPath + ": the underlay was on another grid than " + loaded.path + "; open it again";
        m_underlay.reset();
        m_underlayPath.clear();
    }
    m_cursor = {m_frame.dims[0] / 2, m_frame.dims[1] / 2, m_frame.dims[2] / 2};
    m_lastError.clear();
    Q_EMIT underlayChanged();
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

bool VolumeDocument::setUnderlay(const LoadedVolume& loaded) {
    if (!loaded.error.isEmpty() || loaded.frame.voxels.empty()) {
        m_lastError = loaded.error.isEmpty() ? loaded.path + ": could not be read" : loaded.error;
        return false;
    }
    if (!hasVolume()) {
        m_lastError = loaded.path + ": open a volume first; the underlay is shown under it";
        return false;
    }
    soul::Volume underlay = loaded.frame;
    QString notice;
    if (!soul::same_grid(underlay, m_frame)) {
        const bool hasValues = std::any_of(underlay.voxels.begin(), underlay.voxels.end(), [](float v) { return v != 0; });
        underlay = soul::resample_nearest(loaded.frame, m_frame);
        const bool overlaps = std::any_of(underlay.voxels.begin(), underlay.voxels.end(), [](float v) { return v != 0; });
        if (hasValues && !overlaps) {
            m_lastError = loaded.path + ": does not overlap " + m_volumePath +
                          " in scanner space (its affine puts it elsewhere); an underlay must cover the same head";
            return false;
        }
        notice = loaded.path + " is on another grid than the volume: resampled onto it (nearest neighbour)";
    }
    m_underlay = std::move(underlay);
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
    m_windowLow = low;
    m_windowHigh = std::max(high, low + 1e-6);
    Q_EMIT displayChanged();
}

void VolumeDocument::setThreshold(double threshold) {
    m_threshold = threshold;
    Q_EMIT displayChanged();
}

void VolumeDocument::setNegativeThreshold(double threshold) {
    m_negativeThreshold = threshold;
    Q_EMIT displayChanged();
}

void VolumeDocument::setSymmetricThreshold(double threshold) {
    m_threshold = std::abs(threshold);
    m_negativeThreshold = -std::abs(threshold);
    Q_EMIT displayChanged();
}

void VolumeDocument::setOpacity(double opacity) {
    m_opacity = std::clamp(opacity, 0.0, 1.0);
    Q_EMIT displayChanged();
}

void VolumeDocument::setValueUnit(const QString& unit) {
    m_valueUnit = unit;
    Q_EMIT displayChanged();
}

void VolumeDocument::setColormapName(const QString& name) {
    m_colormap = name;
    Q_EMIT displayChanged();
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
    if (!m_valueUnit.isEmpty()) text += " " + m_valueUnit;
    if (m_underlay) text += QString("   underlay %1").arg(static_cast<double>(m_underlay->at(v[0], v[1], v[2])), 0, 'g', 6);
    if (m_labels) {
        const int label = static_cast<int>(std::lround(m_labels->at(v[0], v[1], v[2])));
        text += "   label " + (label > 0 ? QString::fromStdString(m_table.name_of(label)) : QString("-"));
    }
    return text;
}

}  // namespace soului
