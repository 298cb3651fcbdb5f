// BrainView: the 3D view — the document's volume by GPU ray casting and its labels as surfaces,
// in a VtkGLWidget with trackball rotate (left drag), pan (middle/shift drag), zoom (wheel).
#pragma once

#include "StudioSession.h"
#include "VtkGLWidget.h"

#include <array>
#include <memory>
#include <optional>

namespace soului {

class BrainScene;
class VolumeDocument;
enum class ViewSide;

class BrainView : public VtkGLWidget {
    Q_OBJECT
public:
    explicit BrainView(VolumeDocument* document, QWidget* parent = nullptr);
    ~BrainView() override;

    BrainScene& scene() { return *m_scene; }
    void resetCamera();
    CameraPose camera() const;
    void setCamera(const CameraPose& pose);
    void setVolumeRendering(bool on);
    bool volumeRendering() const { return m_volumeRendering; }
    // The volume painted onto the label surfaces with the slices' colour map and thresholds.
    void setSurfaceActivity(bool on);
    bool surfaceActivity() const { return m_surfaceActivity; }
    void setGlassBrain(bool on);
    bool glassBrain() const;
    void viewFrom(ViewSide side);
    // The voxel of the document's grid under a widget position (the nearest surface hit), or
    // nothing. A double-click moves the cursor there, so the slices follow the 3D view.
    std::optional<std::array<int64_t, 3>> voxelAtPosition(const QPointF& position) const;

protected:
    void mouseDoubleClickEvent(QMouseEvent* event) override;

private:
    void onVolumeChanged();
    void onLabelsChanged();
    void onLabelDisplayChanged(int value);
    void updateSurfacePaint();
    void updateCursorMarker();

    VolumeDocument* m_document;
    std::unique_ptr<BrainScene> m_scene;
    bool m_volumeRendering = true;
    bool m_surfaceActivity = true;
};

}  // namespace soului
