// VolumeDocument: what the viewer shows, as layers from the bottom up, as FSLeyes stacks them — an
// optional anatomical underlay (grey, its own window), the volume (3D or a 4D series, one frame at a
// time; it sets the grid), any number of overlays on its grid (an attribution volume, a ground-truth
// map), each colour layer with its LayerDisplay, and an optional label volume with its table,
// per-label visibility and opacity; the cursor voxel; the layer the display controls edit. Views
// observe it through signals; it owns no widget.
#pragma once

#include "LayerDisplay.h"
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
#include <vector>

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

// A colour layer above the volume, on its grid.
struct Overlay {
    QString name;   // shown in the layer list and the colour bar
    QString path;   // the file; empty for a volume the engine made
    std::shared_ptr<const soul::Volume> volume;
    LayerDisplay display;
};

// Over an underlay, signed values are shown where |value| is at least this share of the window's
// extent, so that the anatomy shows where the activity is weak (FSLeyes' habit of thresholding).
constexpr double kSignedThresholdShare = 0.4;

// The most samples per voxel side when the overlays are interpolated onto a finer underlay.
constexpr int kMaxSamplesPerVoxel = 4;

class VolumeDocument : public QObject {
    Q_OBJECT
public:
    explicit VolumeDocument(QObject* parent = nullptr);

    // Thread-safe loaders (no document state touched). loadVolume reports the megabytes read to
    // `progress` and throws soul::Cancelled when its token is cancelled; every other failure is
    // in the result's error.
    static LoadedVolume loadVolume(const QString& path, const soul::Progress& progress = {});
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
    // On the volume's grid (nearest neighbour).
    const soul::Volume* underlay() const { return m_underlay && m_underlayVisible ? &*m_underlay : nullptr; }
    // On its own grid, as read: where it is finer than the volume the slices sample it there.
    const soul::Volume* underlayNative() const { return m_underlayNative && m_underlayVisible ? &*m_underlayNative : nullptr; }
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

    // The volume's display (layer 0).
    const LayerDisplay& display() const { return m_display; }
    double windowLow() const { return m_display.windowLow; }
    double windowHigh() const { return m_display.windowHigh; }
    double threshold() const { return m_display.threshold; }
    double negativeThreshold() const { return m_display.negativeThreshold; }
    // Whether a threshold is set: off, they sit at ±1e30 (or ±inf).
    bool thresholdOn() const { return m_display.thresholdOn(); }
    bool negativeThresholdOn() const { return m_display.negativeThresholdOn(); }
    double opacity() const { return m_display.opacity; }
    QString colormapName() const { return m_display.colormap; }
    // What the values are, for colour bars: "z-score", "attribution"; empty when unknown.
    QString valueUnit() const { return m_display.unit; }
    void setWindow(double low, double high);
    void setThreshold(double threshold);
    void setNegativeThreshold(double threshold);
    // Shows |value| ≥ threshold of signed data: threshold and −threshold.
    void setSymmetricThreshold(double threshold);
    void setOpacity(double opacity);
    void setColormapName(const QString& name);
    void setValueUnit(const QString& unit);

    // The colour layers, bottom up: layer 0 is the volume, layer i ≥ 1 the overlay i − 1.
    int layerCount() const { return hasVolume() ? 1 + static_cast<int>(m_overlays.size()) : 0; }
    const std::vector<Overlay>& overlays() const { return m_overlays; }
    const soul::Volume& layerVolume(int layer) const;
    const LayerDisplay& layerDisplay(int layer) const;
    QString layerName(int layer) const;
    void setLayerDisplay(int layer, const LayerDisplay& display);
    // Adds an overlay on top: on another grid it is resampled onto the volume's (nearest
    // neighbour), refused when it does not overlap it. Signed data comes up in a diverging map,
    // symmetric about zero; other data in "hot". Selects it. False (lastError()) when refused.
    bool addOverlay(const LoadedVolume& loaded, const QString& name = {}, const QString& unit = {});
    bool openOverlay(const QString& path);
    void removeLayer(int layer);   // an overlay; the volume stays
    // Moves an overlay up (+1) or down (−1) among the overlays; false at either end.
    bool moveLayer(int layer, int delta);
    // The layer the display controls, the histogram and the 3D painting show.
    int selectedLayer() const { return m_selected; }
    void setSelectedLayer(int layer);

    // Overlays drawn with trilinear interpolation at the finer underlay's resolution (FSLeyes'
    // "linear interpolation"); off, every volume voxel is one block.
    bool interpolation() const { return m_interpolation; }
    void setInterpolation(bool on);
    // Slice samples per volume voxel side: the volume's voxel size over the underlay's (rounded,
    // at most kMaxSamplesPerVoxel) while interpolating over a finer underlay, else 1.
    int samplesPerVoxel() const;

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
    void layersChanged();          // overlays added, removed or reordered
    void selectedLayerChanged();

private:
    LayerDisplay& displayOf(int layer);
    // `loaded` on the volume's grid (resampled, notice set), or nothing (lastError set).
    std::optional<soul::Volume> onVolumeGrid(const LoadedVolume& loaded, const QString& role, QString* notice);

    std::shared_ptr<soul::NiftiSeries> m_series;
    soul::Volume m_frame;
    std::optional<soul::Volume> m_labels;
    soul::LabelTable m_table;
    std::map<int, int64_t> m_labelCounts;
    std::map<int, bool> m_visible;
    std::map<int, double> m_labelOpacity;
    std::optional<soul::Volume> m_underlay;
    std::optional<soul::Volume> m_underlayNative;   // set only when its grid differs from the volume's
    QString m_underlayPath;
    double m_underlayLow = 0, m_underlayHigh = 1;
    bool m_underlayVisible = true;
    QString m_volumePath, m_labelsPath, m_lastError, m_lastNotice;
    int64_t m_frameIndex = 0;
    std::array<int64_t, 3> m_cursor{0, 0, 0};
    LayerDisplay m_display;
    std::vector<Overlay> m_overlays;
    int m_selected = 0;
    bool m_interpolation = false;
};

}  // namespace soului
