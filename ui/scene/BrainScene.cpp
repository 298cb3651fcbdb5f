#include "BrainScene.h"

#include <vtkActor.h>
#include <vtkAnnotatedCubeActor.h>
#include <vtkCellPicker.h>
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
#include <vtkPolyData.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkRenderer.h>
#include <vtkTextProperty.h>
#include <vtkScalarBarActor.h>
#include <vtkLookupTable.h>
#include <vtkSphereSource.h>
#include <vtkUnsignedCharArray.h>
#include <vtkVolume.h>
#include <vtkVolumeProperty.h>
#include <vtkWindowedSincPolyDataFilter.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

namespace soului {
namespace {

// Volume rendering opacity at the top of the window, per unit distance: low so that label
// surfaces inside the brain stay visible through it.
constexpr double kVolumePeakOpacity = 0.08;
// Smoothing of the label surfaces (windowed sinc); 20 iterations remove the voxel staircase.
constexpr int kSmoothingIterations = 20;
// A glass brain's surfaces: opaque enough to show the shape, clear enough to see two layers deep.
constexpr double kGlassOpacity = 0.3;
// A painted surface below threshold: this share of its label's colour, the rest this grey.
constexpr double kPaintedLabelShare = 0.35;
constexpr double kPaintedGrey = 175;

vtkSmartPointer<vtkMatrix4x4> toMatrix(const soul::Affine& a) {
    auto m = vtkSmartPointer<vtkMatrix4x4>::New();
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) m->SetElement(r, c, a(r, c));
    return m;
}

}  // namespace

struct BrainScene::LabelSurface {
    vtkSmartPointer<vtkActor> actor;
    vtkSmartPointer<vtkPolyData> mesh;   // in voxel indices; the actor's matrix places it in RAS
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
    m_values = volume;
    updateTransferFunctions();
    for (auto& [value, surface] : m_surfaces) {
        surface->actor->SetUserMatrix(toMatrix(m_ijkToRas));
        paintSurface(value, *surface);
    }
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
        normals->Update();
        surface->mesh = vtkSmartPointer<vtkPolyData>::New();
        surface->mesh->ShallowCopy(normals->GetOutput());
        vtkNew<vtkPolyDataMapper> mapper;
        mapper->SetInputData(surface->mesh);
        mapper->ScalarVisibilityOff();
        mapper->SetColorModeToDirectScalars();
        mapper->SetScalarModeToUsePointData();
        surface->actor->SetMapper(mapper);
    }
    const auto rgb = m_table.colour_of(value);
    surface->actor->GetProperty()->SetColor(rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
    surface->actor->GetProperty()->SetSpecular(0.2);
    surface->actor->GetProperty()->SetOpacity(shownOpacity(value));
    surface->actor->SetUserMatrix(toMatrix(m_ijkToRas));
    surface->actor->SetVisibility(false);
    m_renderer->AddActor(surface->actor);
    paintSurface(value, *surface);
    auto& ref = *surface;
    m_surfaces[value] = std::move(surface);
    return ref;
}

void BrainScene::setLabelVisible(int value, bool visible) {
    m_visible[value] = visible;
    if (!visible && !m_surfaces.count(value)) return;
    surfaceFor(value).actor->SetVisibility(visible);
    updateColourBar();
}

void BrainScene::setLabelOpacity(int value, double opacity) {
    m_labelOpacity[value] = std::clamp(opacity, 0.0, 1.0);
    if (m_surfaces.count(value)) m_surfaces[value]->actor->GetProperty()->SetOpacity(shownOpacity(value));
}

double BrainScene::shownOpacity(int value) const { return labelOpacity(value) * (m_glass ? kGlassOpacity : 1.0); }

void BrainScene::setGlass(bool on) {
    m_glass = on;
    for (auto& [value, surface] : m_surfaces) surface->actor->GetProperty()->SetOpacity(shownOpacity(value));
}

bool BrainScene::labelVisible(int value) const {
    auto it = m_visible.find(value);
    return it != m_visible.end() && it->second;
}

double BrainScene::labelOpacity(int value) const {
    auto it = m_labelOpacity.find(value);
    return it == m_labelOpacity.end() ? 1.0 : it->second;
}

void BrainScene::setSurfacePaint(const SurfacePaint& paint) {
    m_paint = paint;
    updateColourBar();
    for (auto& [value, surface] : m_surfaces) paintSurface(value, *surface);
}

void BrainScene::updateColourBar() {
    const bool shown = m_paint.on && !m_surfaces.empty();
    if (!shown) {
        if (m_colourBar) m_colourBar->SetVisibility(false);
        return;
    }
    if (!m_colourBar) {
        m_colourBar = vtkSmartPointer<vtkScalarBarActor>::New();
        m_colourBar->SetNumberOfLabels(3);
        m_colourBar->SetLabelFormat("%.4g");
        m_colourBar->SetPosition(0.84, 0.1);
        m_colourBar->SetWidth(0.14);
        m_colourBar->SetHeight(0.8);
        m_colourBar->SetBarRatio(0.35);
        m_colourBar->UnconstrainedFontSizeOn();
        m_colourBar->GetLabelTextProperty()->SetFontSize(11);
        m_colourBar->GetLabelTextProperty()->ShadowOff();
        m_colourBar->GetLabelTextProperty()->ItalicOff();
        m_colourBar->GetTitleTextProperty()->SetFontSize(11);
        m_colourBar->GetTitleTextProperty()->ShadowOff();
        m_colourBar->GetTitleTextProperty()->ItalicOff();
        m_colourBar->GetTitleTextProperty()->BoldOff();
        m_renderer->AddActor2D(m_colourBar);
    }
    vtkNew<vtkLookupTable> table;
    table->SetNumberOfTableValues(256);
    table->SetRange(m_paint.low, m_paint.high);
    for (int i = 0; i < 256; ++i) {
        const auto& c = m_paint.table[static_cast<size_t>(i)];
        table->SetTableValue(i, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0, 1.0);
    }
    table->Build();
    m_colourBar->SetLookupTable(table);
    m_colourBar->SetTitle(m_paint.title.c_str());
    m_colourBar->SetVisibility(true);
}

bool BrainScene::colourBarShown() const { return m_colourBar && m_colourBar->GetVisibility(); }

std::optional<float> BrainScene::labelValueNear(int value, const double* xyz) const {
    const soul::Volume& values = m_paint.values ? *m_paint.values : m_values;
    if (values.dims != m_labels.dims) return std::nullopt;
    // The label's voxels within two voxels, nearest first: a smoothed surface lies within about
    // one voxel of the voxels it encloses.
    constexpr int kSearchRadius = 2;
    const int64_t ci = std::lround(xyz[0]), cj = std::lround(xyz[1]), ck = std::lround(xyz[2]);
    double best = std::numeric_limits<double>::infinity();
    std::optional<float> found;
    for (int64_t k = ck - kSearchRadius; k <= ck + kSearchRadius; ++k)
        for (int64_t j = cj - kSearchRadius; j <= cj + kSearchRadius; ++j)
            for (int64_t i = ci - kSearchRadius; i <= ci + kSearchRadius; ++i) {
                if (!m_labels.contains(i, j, k) || std::lround(m_labels.at(i, j, k)) != value) continue;
                const double d = (i - xyz[0]) * (i - xyz[0]) + (j - xyz[1]) * (j - xyz[1]) + (k - xyz[2]) * (k - xyz[2]);
                if (d < best) {
                    best = d;
                    found = values.at(i, j, k);
                }
            }
    return found;
}

void BrainScene::paintSurface(int value, LabelSurface& surface) {
    if (!surface.mesh) return;
    auto* mapper = vtkPolyDataMapper::SafeDownCast(surface.actor->GetMapper());
    if (!m_paint.on || !m_hasVolume) {
        mapper->ScalarVisibilityOff();
        return;
    }
    // Below threshold the surface is a pale shade of its label's colour, so that the painted
    // activity stands out and the streams can still be told apart.
    const auto label = m_table.colour_of(value);
    std::array<uint8_t, 3> base;
    for (int c = 0; c < 3; ++c)
        base[c] = static_cast<uint8_t>(std::lround(kPaintedLabelShare * label[c] + (1 - kPaintedLabelShare) * kPaintedGrey));
    vtkPoints* points = surface.mesh->GetPoints();
    vtkNew<vtkUnsignedCharArray> colours;
    colours->SetName("activity");
    colours->SetNumberOfComponents(3);
    colours->SetNumberOfTuples(points->GetNumberOfPoints());
    const double span = m_paint.high > m_paint.low ? m_paint.high - m_paint.low : 1;
    for (vtkIdType p = 0; p < points->GetNumberOfPoints(); ++p) {
        double xyz[3];
        points->GetPoint(p, xyz);
        std::array<uint8_t, 3> rgb = base;
        const std::optional<float> v = labelValueNear(value, xyz);
        if (v && std::isfinite(*v) && (*v >= m_paint.threshold || *v <= m_paint.negativeThreshold)) {
            const double t = std::clamp((*v - m_paint.low) / span, 0.0, 1.0);
            rgb = m_paint.table[static_cast<size_t>(std::lround(t * 255))];
        }
        const unsigned char c[3] = {rgb[0], rgb[1], rgb[2]};
        colours->SetTypedTuple(p, c);
    }
    surface.mesh->GetPointData()->SetScalars(colours);
    mapper->ScalarVisibilityOn();
    mapper->Modified();
}

std::optional<std::array<uint8_t, 3>> BrainScene::surfaceColourNear(int value, const std::array<double, 3>& ijk) {
    if (!m_labelBoxes.count(value)) return std::nullopt;
    LabelSurface& surface = surfaceFor(value);
    vtkPoints* points = surface.mesh ? surface.mesh->GetPoints() : nullptr;
    if (!points || points->GetNumberOfPoints() == 0) return std::nullopt;
    vtkIdType nearest = 0;
    double best = std::numeric_limits<double>::infinity();
    for (vtkIdType p = 0; p < points->GetNumberOfPoints(); ++p) {
        double xyz[3];
        points->GetPoint(p, xyz);
        const double d = (xyz[0] - ijk[0]) * (xyz[0] - ijk[0]) + (xyz[1] - ijk[1]) * (xyz[1] - ijk[1]) + (xyz[2] - ijk[2]) * (xyz[2] - ijk[2]);
        if (d < best) {
            best = d;
            nearest = p;
        }
    }
    auto* colours = vtkUnsignedCharArray::SafeDownCast(surface.mesh->GetPointData()->GetScalars());
    auto* mapper = surface.actor->GetMapper();
    if (!colours || !mapper->GetScalarVisibility()) return m_table.colour_of(value);
    unsigned char c[3];
    colours->GetTypedTuple(nearest, c);
    return std::array<uint8_t, 3>{c[0], c[1], c[2]};
}

void BrainScene::setCursorMarker(const std::array<double, 3>& ras) {
    if (!m_cursorMarker) {
        // A sphere about a voxel across: visible through the glass brain, not hiding the cortex.
        constexpr double kMarkerRadiusMm = 2.5;
        vtkNew<vtkSphereSource> sphere;
        sphere->SetRadius(kMarkerRadiusMm);
        sphere->SetThetaResolution(16);
        sphere->SetPhiResolution(12);
        vtkNew<vtkPolyDataMapper> mapper;
        mapper->SetInputConnection(sphere->GetOutputPort());
        m_cursorMarker = vtkSmartPointer<vtkActor>::New();
        m_cursorMarker->SetMapper(mapper);
        m_cursorMarker->GetProperty()->SetColor(60 / 255.0, 220 / 255.0, 1.0);   // the slice crosshair's colour
        m_cursorMarker->PickableOff();
        m_renderer->AddActor(m_cursorMarker);
    }
    m_cursorMarker->SetPosition(ras[0], ras[1], ras[2]);
}

std::optional<std::array<double, 3>> BrainScene::cursorMarker() const {
    if (!m_cursorMarker) return std::nullopt;
    const double* p = m_cursorMarker->GetPosition();
    return std::array<double, 3>{p[0], p[1], p[2]};
}

std::optional<std::array<double, 3>> BrainScene::pick(int x, int y) const {
    vtkNew<vtkCellPicker> picker;
    picker->SetTolerance(0.0005);
    if (!picker->Pick(x, y, 0, m_renderer)) return std::nullopt;
    const double* p = picker->GetPickPosition();
    return std::array<double, 3>{p[0], p[1], p[2]};
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

void BrainScene::viewFrom(ViewSide side) {
    // Direction from the head's centre to the camera, in RAS, and the screen's up.
    static const std::map<ViewSide, std::pair<std::array<double, 3>, std::array<double, 3>>> kViews{
        {ViewSide::Left, {{-1, 0, 0}, {0, 0, 1}}},      {ViewSide::Right, {{1, 0, 0}, {0, 0, 1}}},
        {ViewSide::Anterior, {{0, 1, 0}, {0, 0, 1}}},   {ViewSide::Posterior, {{0, -1, 0}, {0, 0, 1}}},
        {ViewSide::Superior, {{0, 0, 1}, {0, 1, 0}}},   {ViewSide::Inferior, {{0, 0, -1}, {0, 1, 0}}}};
    const auto& [direction, up] = kViews.at(side);
    double bounds[6];
    m_renderer->ComputeVisiblePropBounds(bounds);
    const bool empty = bounds[0] > bounds[1];
    const double centre[3] = {empty ? 0 : (bounds[0] + bounds[1]) / 2, empty ? 0 : (bounds[2] + bounds[3]) / 2,
                              empty ? 0 : (bounds[4] + bounds[5]) / 2};
    vtkCamera* camera = m_renderer->GetActiveCamera();
    camera->SetFocalPoint(centre);
    camera->SetPosition(centre[0] + direction[0], centre[1] + direction[1], centre[2] + direction[2]);
    camera->SetViewUp(up.data());
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
