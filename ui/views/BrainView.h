// BrainView: the 3D view — the document's volume by GPU ray casting and its labels as surfaces,
// in a VtkGLWidget with trackball rotate (left drag), pan (middle/shift drag), zoom (wheel).
#pragma once

#include "StudioSession.h"
#include "VtkGLWidget.h"

#include <memory>

namespace soului {

class BrainScene;
class VolumeDocument;

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

private:
    void onVolumeChanged();
    void onLabelsChanged();
    void onLabelDisplayChanged(int value);

    VolumeDocument* m_document;
    std::unique_ptr<BrainScene> m_scene;
    bool m_volumeRendering = true;
};

}  // namespace soului
