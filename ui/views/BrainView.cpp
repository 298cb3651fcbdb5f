#include "BrainView.h"

#include "BrainScene.h"
#include "VolumeDocument.h"

#include <vtkCamera.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkRenderer.h>

namespace soului {

BrainView::BrainView(VolumeDocument* document, QWidget* parent)
    : VtkGLWidget(parent), m_document(document), m_scene(std::make_unique<BrainScene>()) {
    setObjectName("brainView3d");
    setMinimumSize(200, 200);
    renderWindow()->AddRenderer(m_scene->renderer());
    m_scene->showOrientationMarker(interactor());
    connect(document, &VolumeDocument::volumeChanged, this, &BrainView::onVolumeChanged);
    connect(document, &VolumeDocument::frameChanged, this, [this] {
        m_scene->setVolume(m_document->volume());
        update();
    });
    connect(document, &VolumeDocument::labelsChanged, this, &BrainView::onLabelsChanged);
    connect(document, &VolumeDocument::labelDisplayChanged, this, &BrainView::onLabelDisplayChanged);
    connect(document, &VolumeDocument::displayChanged, this, [this] {
        m_scene->setWindow(m_document->windowLow(), m_document->windowHigh());
        m_scene->setThreshold(m_document->threshold());
        update();
    });
}

BrainView::~BrainView() = default;

void BrainView::resetCamera() {
    m_scene->resetCamera();
    update();
}

CameraPose BrainView::camera() const {
    vtkCamera* c = m_scene->renderer()->GetActiveCamera();
    CameraPose pose;
    c->GetPosition(pose.position.data());
    c->GetFocalPoint(pose.focalPoint.data());
    c->GetViewUp(pose.viewUp.data());
    pose.viewAngle = c->GetViewAngle();
    return pose;
}

void BrainView::setCamera(const CameraPose& pose) {
    vtkCamera* c = m_scene->renderer()->GetActiveCamera();
    c->SetPosition(pose.position.data());
    c->SetFocalPoint(pose.focalPoint.data());
    c->SetViewUp(pose.viewUp.data());
    c->SetViewAngle(pose.viewAngle);
    c->OrthogonalizeViewUp();
    m_scene->renderer()->ResetCameraClippingRange();
    update();
}

void BrainView::setVolumeRendering(bool on) {
    m_volumeRendering = on;
    m_scene->setVolumeVisible(on);
    update();
}

void BrainView::onVolumeChanged() {
    if (!m_document->hasVolume()) return;
    m_scene->setVolume(m_document->volume());
    m_scene->setWindow(m_document->windowLow(), m_document->windowHigh());
    m_scene->setThreshold(m_document->threshold());
    m_scene->setVolumeVisible(m_volumeRendering);
    m_scene->resetCamera();
    update();
}

void BrainView::onLabelsChanged() {
    if (const soul::Volume* labels = m_document->labels()) {
        m_scene->setLabels(*labels, m_document->labelTable());
        for (const auto& [value, count] : m_document->labelVoxelCounts()) {
            m_scene->setLabelOpacity(value, m_document->labelOpacity(value));
            m_scene->setLabelVisible(value, m_document->labelVisible(value));
        }
    } else {
        m_scene->setLabels(soul::Volume{}, soul::LabelTable{});
    }
    update();
}

void BrainView::onLabelDisplayChanged(int value) {
    m_scene->setLabelOpacity(value, m_document->labelOpacity(value));
    m_scene->setLabelVisible(value, m_document->labelVisible(value));
    update();
}

}  // namespace soului
