#include "BrainView.h"

#include "BrainScene.h"
#include "Colormap.h"
#include "VolumeDocument.h"

#include <QFileInfo>
#include <QMouseEvent>

#include <vtkCamera.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkRenderer.h>

#include <algorithm>
#include <cmath>

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
        updateSurfacePaint();
        update();
    });
    connect(document, &VolumeDocument::labelsChanged, this, &BrainView::onLabelsChanged);
    connect(document, &VolumeDocument::labelDisplayChanged, this, &BrainView::onLabelDisplayChanged);
    connect(document, &VolumeDocument::cursorChanged, this, &BrainView::updateCursorMarker);
    connect(document, &VolumeDocument::selectedLayerChanged, this, [this] {
        updateSurfacePaint();
        update();
    });
    connect(document, &VolumeDocument::displayChanged, this, [this] {
        m_scene->setWindow(m_document->windowLow(), m_document->windowHigh());
        m_scene->setThreshold(m_document->threshold());
        updateSurfacePaint();
        update();
    });
}

void BrainView::updateCursorMarker() {
    if (!m_document->hasVolume()) return;
    const auto& c = m_document->cursor();
    m_scene->setCursorMarker(m_document->volume().ijk_to_ras.apply(static_cast<double>(c[0]), static_cast<double>(c[1]), static_cast<double>(c[2])));
    update();
}

std::optional<std::array<int64_t, 3>> BrainView::voxelAtPosition(const QPointF& position) const {
    if (!m_document->hasVolume()) return std::nullopt;
    const qreal dpr = devicePixelRatioF();
    const auto hit = m_scene->pick(static_cast<int>(position.x() * dpr), static_cast<int>((height() - position.y()) * dpr - 1));
    if (!hit) return std::nullopt;
    const soul::Volume& v = m_document->volume();
    const auto ijk = v.ijk_to_ras.inverse().apply((*hit)[0], (*hit)[1], (*hit)[2]);
    std::array<int64_t, 3> voxel{};
    for (int a = 0; a < 3; ++a) voxel[static_cast<size_t>(a)] = std::clamp<int64_t>(std::llround(ijk[static_cast<size_t>(a)]), 0, v.dims[static_cast<size_t>(a)] - 1);
    return voxel;
}

void BrainView::mouseDoubleClickEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton)
        if (const auto voxel = voxelAtPosition(event->position())) m_document->setCursor(*voxel);
    event->accept();
}

void BrainView::setGlassBrain(bool on) {
    m_scene->setGlass(on);
    update();
}

bool BrainView::glassBrain() const { return m_scene->glass(); }

void BrainView::viewFrom(ViewSide side) {
    m_scene->viewFrom(side);
    update();
}

void BrainView::setSurfaceActivity(bool on) {
    m_surfaceActivity = on;
    updateSurfacePaint();
    update();
}

void BrainView::updateSurfacePaint() {
    // The selected layer is painted: the volume, or an overlay over it.
    const int layer = m_document->selectedLayer();
    const LayerDisplay& d = m_document->layerDisplay(layer);
    BrainScene::SurfacePaint paint;
    // Without a threshold every vertex would take the colour map (an anatomy painted grey): the
    // surfaces are painted only where a positive or negative threshold picks out activity.
    paint.on = m_surfaceActivity && m_document->hasVolume() && d.visible && (d.thresholdOn() || d.negativeThresholdOn());
    if (paint.on) {
        paint.table = colormap(d.colormap);
        paint.low = d.windowLow;
        paint.high = d.windowHigh;
        paint.threshold = d.threshold;
        paint.negativeThreshold = d.negativeThreshold;
        // The narrow 3D bar names the unit; the slice views' bars carry the full name.
        paint.title = (d.unit.isEmpty() ? m_document->layerName(layer) : d.unit).toStdString();
        if (layer >= 1) paint.values = m_document->overlays()[static_cast<size_t>(layer - 1)].volume;
    }
    m_scene->setSurfacePaint(paint);
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
    updateSurfacePaint();
    updateCursorMarker();
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
