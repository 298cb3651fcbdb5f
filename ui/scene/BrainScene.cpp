#include "BrainScene.h"

#include <vtkActor.h>
#include <vtkAnnotatedCubeActor.h>
#include <vtkCamera.h>
#include <vtkColorTransferFunction.h>
#include <vtkFlyingEdges3D.h>
#include <vtkFloatArray.h>
#include <vtkGPUVolumeRayCastMapper.h>
#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkNew.h>
#include <vtkOrientationMarkerWidget.h>
#include <vtkPiecewiseFunction.h>
#include <vtkPointData.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkRenderer.h>
#include <vtkUnsignedCharArray.h>
#include <vtkVolume.h>
#include <vtkVolumeProperty.h>
#include <vtkWindowedSincPolyDataFilter.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace soului {
namespace {

// Volume rendering opacity at the top of the window, per unit distance: low so that label
// surfaces inside the brain stay visible through it.
constexpr double kVolumePeakOpacity = 0.08;
// Smoothing of the label surfaces (windowed sinc); 20 iterations remove the voxel staircase.
constexpr int kSmoothingIterations = 20;

vtkSmartPointer<vtkMatrix4x4> toMatrix(const soul::Affine& a) {
    auto m = vtkSmartPointer<vtkMatrix4x4>::New();
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) m->SetElement(r, c, a(r, c));
    return m;
}

}  // namespace

struct BrainScene::LabelSurface {
    vtkSmartPointer<vtkActor> actor;
};

BrainScene::BrainScene() {
    m_renderer = vtkSmartPointer<vtkRenderer>::New();
    m_renderer->SetBackground(0.08, 0.09, 0.12);
    m_renderer->SetUseDepthPeeling(true);
    m_renderer->SetUseDepthPeelingForVolumes(true);
    m_renderer->SetMaximumNumberOfPeels(8);
    m_colour = vtkSmartPointer<vtkColorTransferFunction>::New();
    m_opacity = vtkSmartPointer<vtkPiecewiseFunction>::New();
}

BrainScene::~BrainScene() = default;

vtkRenderer* BrainScene::renderer() const { return m_renderer; }

void BrainScene::setVolume(const soul::Volume& volume) {
    m_ijkToRas = volume.ijk_to_ras;
    m_image = vtkSmartPointer<vtkImageData>::New();
    m_image->SetDimensions(static_cast<int>(volume.dims[0]), static_cast<int>(volume.dims[1]),
                           static_cast<int>(volume.dims[2]));
    m_image->SetOrigin(0, 0, 0);
    m_image->SetSpacing(1, 1, 1);
    vtkNew<vtkFloatArray> scalars;
    scalars->SetNumberOfComponents(1);
    scalars->SetNumberOfTuples(volume.frame_size());
    std::memcpy(scalars->GetPointer(0), volume.voxels.data(), sizeof(float) * static_cast<size_t>(volume.frame_size()));
    m_image->GetPointData()->SetScalars(scalars);

    if (!m_mapper) {
        m_mapper = vtkSmartPointer<vtkGPUVolumeRayCastMapper>::New();
        m_mapper->SetBlendModeToComposite();
        m_mapper->SetAutoAdjustSampleDistances(true);
        m_volume = vtkSmartPointer<vtkVolume>::New();
        vtkNew<vtkVolumeProperty> property;
        property->SetColor(m_colour);
        property->SetScalarOpacity(m_opacity);
        property->SetInterpolationTypeToLinear();
        property->ShadeOff();
        m_volume->SetProperty(property);
        m_volume->SetMapper(m_mapper);
        m_renderer->AddVolume(m_volume);
    }
    m_mapper->SetInputData(m_image);
    m_volume->SetUserMatrix(toMatrix(m_ijkToRas));
    // Opacity per millimetre rather than per voxel, so voxel size does not change the look.
    m_volume->GetProperty()->SetScalarOpacityUnitDistance(std::max({volume.spacing[0], volume.spacing[1], volume.spacing[2]}));
    m_hasVolume = true;
    updateTransferFunctions();
    for (auto& [value, surface] : m_surfaces) surface->actor->SetUserMatrix(toMatrix(m_ijkToRas));
}

void BrainScene::setWindow(double low, double high) {
    m_low = low;
    m_high = high > low ? high : low + 1e-6;
    updateTransferFunctions();
}

void BrainScene::setThreshold(double threshold) {
    m_threshold = threshold;
    updateTransferFunctions();
}

void BrainScene::updateTransferFunctions() {
    m_colour->RemoveAllPoints();
    m_colour->AddRGBPoint(m_low, 0, 0, 0);
    m_colour->AddRGBPoint(m_high, 1, 1, 1);
    m_opacity->RemoveAllPoints();
    // The threshold's step is one thousandth of the window wide: a narrower one makes VTK ask
    // for an opacity lookup texture larger than OpenGL allows.
    const double step = (m_high - m_low) * 1e-3;
    const double start = std::clamp(m_threshold, m_low, m_high - step);
    if (start > m_low) {
        m_opacity->AddPoint(m_low, 0.0);
        m_opacity->AddPoint(start, 0.0);
        m_opacity->AddPoint(start + step, kVolumePeakOpacity * (start + step - m_low) / (m_high - m_low));
    } else {
        m_opacity->AddPoint(m_low, 0.0);
    }
    m_opacity->AddPoint(m_high, kVolumePeakOpacity);
}

void BrainScene::setVolumeVisible(bool visible) {
    if (m_volume) m_volume->SetVisibility(visible);
}

void BrainScene::setLabels(const soul::Volume& labels, const soul::LabelTable& table) {
    for (auto& [value, surface] : m_surfaces) m_renderer->RemoveActor(surface->actor);
    m_surfaces.clear();
    m_visible.clear();
    m_labelOpacity.clear();
    m_labelBoxes.clear();
    m_labels = labels;
    m_table = table;
    const auto& d = labels.dims;
    for (int64_t k = 0; k < d[2]; ++k)
        for (int64_t j = 0; j < d[1]; ++j)
            for (int64_t i = 0; i < d[0]; ++i) {
                const int v = static_cast<int>(std::lround(labels.at(i, j, k)));
                if (v <= 0) continue;
                auto it = m_labelBoxes.find(v);
                if (it == m_labelBoxes.end()) {
                    m_labelBoxes[v] = {i, i, j, j, k, k};
                    continue;
                }
                auto& b = it->second;
                b = {std::min(b[0], i), std::max(b[1], i), std::min(b[2], j), std::max(b[3], j),
                     std::min(b[4], k), std::max(b[5], k)};
            }
}

BrainScene::LabelSurface& BrainScene::surfaceFor(int value) {
    auto found = m_surfaces.find(value);
    if (found != m_surfaces.end()) return *found->second;
    auto surface = std::make_unique<LabelSurface>();
    surface->actor = vtkSmartPointer<vtkActor>::New();
    const auto box = m_labelBoxes.count(value) ? m_labelBoxes[value] : std::array<int64_t, 6>{0, 0, 0, 0, 0, 0};
    if (m_labelBoxes.count(value)) {
        // A binary mask of the label's bounding box, padded by one voxel so the surface closes.
        const int64_t i0 = box[0] - 1, j0 = box[2] - 1, k0 = box[4] - 1;
        const int nx = static_cast<int>(box[1] - box[0] + 3), ny = static_cast<int>(box[3] - box[2] + 3),
                  nz = static_cast<int>(box[5] - box[4] + 3);
        vtkNew<vtkImageData> mask;
        mask->SetDimensions(nx, ny, nz);
        mask->SetOrigin(static_cast<double>(i0), static_cast<double>(j0), static_cast<double>(k0));
        mask->SetSpacing(1, 1, 1);
        mask->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
        auto* m = static_cast<unsigned char*>(mask->GetScalarPointer());
        for (int z = 0; z < nz; ++z)
            for (int y = 0; y < ny; ++y)
                for (int x = 0; x < nx; ++x) {
                    const int64_t i = i0 + x, j = j0 + y, k = k0 + z;
                    const bool inside = m_labels.contains(i, j, k) && std::lround(m_labels.at(i, j, k)) == value;
                    m[(static_cast<size_t>(z) * ny + y) * nx + x] = inside ? 255 : 0;
                }
        vtkNew<vtkFlyingEdges3D> contour;
        contour->SetInputData(mask);
        contour->SetValue(0, 127.5);
        contour->ComputeNormalsOff();
        vtkNew<vtkWindowedSincPolyDataFilter> smooth;
        smooth->SetInputConnection(contour->GetOutputPort());
        smooth->SetNumberOfIterations(kSmoothingIterations);
        smooth->SetPassBand(0.05);
        smooth->NonManifoldSmoothingOn();
        smooth->NormalizeCoordinatesOn();
        vtkNew<vtkPolyDataNormals> normals;
        normals->SetInputConnection(smooth->GetOutputPort());
        normals->SetFeatureAngle(60);
        vtkNew<vtkPolyDataMapper> mapper;
        mapper->SetInputConnection(normals->GetOutputPort());
        mapper->ScalarVisibilityOff();
        mapper->Update();
        surface->actor->SetMapper(mapper);
    }
    const auto rgb = m_table.colour_of(value);
    surface->actor->GetProperty()->SetColor(rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
    surface->actor->GetProperty()->SetSpecular(0.2);
    surface->actor->GetProperty()->SetOpacity(labelOpacity(value));
    surface->actor->SetUserMatrix(toMatrix(m_ijkToRas));
    surface->actor->SetVisibility(false);
    m_renderer->AddActor(surface->actor);
    auto& ref = *surface;
    m_surfaces[value] = std::move(surface);
    return ref;
}

void BrainScene::setLabelVisible(int value, bool visible) {
    m_visible[value] = visible;
    if (!visible && !m_surfaces.count(value)) return;
    surfaceFor(value).actor->SetVisibility(visible);
}

void BrainScene::setLabelOpacity(int value, double opacity) {
    m_labelOpacity[value] = std::clamp(opacity, 0.0, 1.0);
    if (m_surfaces.count(value)) m_surfaces[value]->actor->GetProperty()->SetOpacity(m_labelOpacity[value]);
}

bool BrainScene::labelVisible(int value) const {
    auto it = m_visible.find(value);
    return it != m_visible.end() && it->second;
}

double BrainScene::labelOpacity(int value) const {
    auto it = m_labelOpacity.find(value);
    return it == m_labelOpacity.end() ? 1.0 : it->second;
}

void BrainScene::setBackground(double r, double g, double b) { m_renderer->SetBackground(r, g, b); }

void BrainScene::resetCamera() {
    // A view from the left-posterior-superior side: the occipital and parietal visual cortex
    // faces the viewer.
    vtkCamera* camera = m_renderer->GetActiveCamera();
    camera->SetFocalPoint(0, 0, 0);
    camera->SetPosition(-1.0, -1.6, 0.9);
    camera->SetViewUp(0, 0, 1);
    m_renderer->ResetCamera();
    camera->Zoom(1.3);
}

void BrainScene::showOrientationMarker(vtkRenderWindowInteractor* interactor) {
    if (m_marker) return;
    vtkNew<vtkAnnotatedCubeActor> cube;
    // The scene is in RAS millimetres: the +x face is the subject's right side, and so on.
    cube->SetXPlusFaceText("R");
    cube->SetXMinusFaceText("L");
    cube->SetYPlusFaceText("A");
    cube->SetYMinusFaceText("P");
    cube->SetZPlusFaceText("S");
    cube->SetZMinusFaceText("I");
    cube->SetXFaceTextRotation(90);
    cube->SetZFaceTextRotation(0);
    cube->GetCubeProperty()->SetColor(0.35, 0.38, 0.45);
    cube->GetTextEdgesProperty()->SetColor(0.9, 0.9, 0.9);
    cube->GetXPlusFaceProperty()->SetColor(1, 0.55, 0.55);
    cube->GetXMinusFaceProperty()->SetColor(1, 0.55, 0.55);
    cube->GetYPlusFaceProperty()->SetColor(0.55, 1, 0.55);
    cube->GetYMinusFaceProperty()->SetColor(0.55, 1, 0.55);
    cube->GetZPlusFaceProperty()->SetColor(0.55, 0.7, 1);
    cube->GetZMinusFaceProperty()->SetColor(0.55, 0.7, 1);
    m_marker = vtkSmartPointer<vtkOrientationMarkerWidget>::New();
    m_marker->SetOrientationMarker(cube);
    m_marker->SetInteractor(interactor);
    m_marker->SetDefaultRenderer(m_renderer);
    m_marker->SetViewport(0.0, 0.0, 0.18, 0.18);
    m_marker->SetEnabled(1);
    m_marker->InteractiveOff();
}

}  // namespace soului
