// VolumeDocument: what the viewer shows, as layers from the bottom up — an optional anatomical
// underlay (grey, its own window), the intensity volume (3D or a 4D series, one frame at a time)
// with its colour map, window, positive and negative thresholds and opacity, and an optional label
// volume with its table, per-label visibility and opacity; the cursor voxel. Views observe it
// through signals; it owns no widget.
#pragma once

#include "soul/labels.h"
#include "soul/volume.h"

#include <QObject>
#include <QString>

#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace soului {

// The result of loading files, made off the GUI thread.
struct LoadedVolume {
    QString path;                  // the file, or the name of a volume made in memory
    std::shared_ptr<soul::NiftiSeries> series;   // null for a volume made in memory (one frame)
    soul::Volume frame;            // frame 0
    QString error;                 // non-empty: loading failed, with a message naming the file
};
struct LoadedLabels {
    QString path;
    soul::Volume labels;           // on the image's grid
    soul::LabelTable table;
    bool resampled = false;
    std::set<int> initiallyVisible;  // empty: all labels start visible
    QString error;
};

// Thresholds at or beyond this magnitude are off.
constexpr double kThresholdOff = 1e29;

class VolumeDocument : public QObject {
    Q_OBJECT
public:
    explicit VolumeDocument(QObject* parent = nullptr);

    // Thread-safe loaders (no document state touched).
    static LoadedVolume loadVolume(const QString& path);
    // A volume the engine made (a trial's betas, an attribution map), shown without a file.
    static LoadedVolume inMemory(const soul::Volume& volume, const QString& name);
    static LoadedLabels loadLabels(const QString& path, const soul::Volume& onto);

    // Apply loaded data on the GUI thread. Return false (and leave the document as it was) when
    // the load failed; `lastError()` then says why.
    bool setVolume(const LoadedVolume& loaded);
    bool setLabels(const LoadedLabels& loaded);
    // Convenience: load and apply synchronously.
    bool openVolume(const QString& path);
    bool openLabels(const QString& path);

    // The underlay: any volume; on another grid it is resampled onto the volume's (nearest
    // neighbour, lastNotice() says so), refused when it does not overlap it. It stays when the
    // volume changes to one on the same grid.
    bool setUnderlay(const LoadedVolume& loaded);
    bool openUnderlay(const QString& path);
    void clearUnderlay();
    bool hasUnderlay() const { return m_underlay.has_value(); }
    const soul::Volume* underlay() const { return m_underlay && m_underlayVisible ? &*m_underlay : nullptr; }
    QString underlayPath() const { return m_underlayPath; }
    double underlayLow() const { return m_underlayLow; }
    double underlayHigh() const { return m_underlayHigh; }
    void setUnderlayWindow(double low, double high);
    bool underlayVisible() const { return m_underlayVisible; }
    void setUnderlayVisible(bool visible);

    bool hasVolume() const { return !m_frame.voxels.empty(); }
    bool hasLabels() const { return m_labels.has_value(); }
    const soul::Volume& volume() const { return m_frame; }
    const soul::Volume* labels() const { return m_labels ? &*m_labels : nullptr; }
    const soul::LabelTable& labelTable() const { return m_table; }
    QString volumePath() const { return m_volumePath; }
    QString labelsPath() const { return m_labelsPath; }
    QString lastError() const { return m_lastError; }
    QString lastNotice() const { return m_lastNotice; }

    int64_t frameCount() const;
    int64_t frameIndex() const { return m_frameIndex; }
    bool setFrameIndex(int64_t index);

    std::array<int64_t, 3> cursor() const { return m_cursor; }
    void setCursor(const std::array<int64_t, 3>& voxel);

    double windowLow() const { return m_windowLow; }
    double windowHigh() const { return m_windowHigh; }
    double threshold() const { return m_threshold; }
    double negativeThreshold() const { return m_negativeThreshold; }
    // Whether a threshold is set: off, they sit at ±1e30 (or ±inf).
    bool thresholdOn() const { return std::abs(m_threshold) < kThresholdOff; }
    bool negativeThresholdOn() const { return std::abs(m_negativeThreshold) < kThresholdOff; }
    double opacity() const { return m_opacity; }
    QString colormapName() const { return m_colormap; }
    // What the values are, for colour bars: "z-score", "attribution"; empty when unknown.
    QString valueUnit() const { return m_valueUnit; }
    void setWindow(double low, double high);
    void setThreshold(double threshold);
    void setNegativeThreshold(double threshold);
    // Shows |value| ≥ threshold of signed data: threshold and −threshold.
    void setSymmetricThreshold(double threshold);
    void setOpacity(double opacity);
    void setColormapName(const QString& name);
    void setValueUnit(const QString& unit);

    bool labelVisible(int value) const;
    double labelOpacity(int value) const;
    void setLabelVisible(int value, bool visible);
    void setLabelOpacity(int value, double opacity);
    std::map<int, int64_t> labelVoxelCounts() const { return m_labelCounts; }

    // The text the status bar shows for a voxel: IJK, RAS mm, value, label name.
    QString describeVoxel(const std::array<int64_t, 3>& voxel) const;

Q_SIGNALS:
    void volumeChanged();
    void frameChanged();
    void labelsChanged();
    void labelDisplayChanged(int value);
    void cursorChanged();
    void displayChanged();
    void underlayChanged();

private:
    std::shared_ptr<soul::NiftiSeries> m_series;
    soul::Volume m_frame;
    std::optional<soul::Volume> m_labels;
    soul::LabelTable m_table;
    std::map<int, int64_t> m_labelCounts;
    std::map<int, bool> m_visible;
    std::map<int, double> m_labelOpacity;
    std::optional<soul::Volume> m_underlay;
    QString m_underlayPath;
    double m_underlayLow = 0, m_underlayHigh = 1;
    bool m_underlayVisible = true;
    QString m_volumePath, m_labelsPath, m_lastError, m_lastNotice;
    int64_t m_frameIndex = 0;
    std::array<int64_t, 3> m_cursor{0, 0, 0};
    double m_windowLow = 0, m_windowHigh = 1, m_threshold = -1e30, m_negativeThreshold = -1e30, m_opacity = 1;
    QString m_colormap = "grey";
    QString m_valueUnit;
};

}  // namespace soului
