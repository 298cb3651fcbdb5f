// BrainScene: the VTK scene of the 3D view — GPU ray-cast volume rendering of the intensity
// volume and one smoothed surface per label, each with its own visibility and opacity, and the
// activity painted onto those surfaces (each vertex coloured by the volume's value there, with
// the slices' colour map and thresholds).
// Qt-free (VTK and core only), so it can be built and measured without a widget.
#pragma once

#include "soul/labels.h"
#include "soul/volume.h"

#include <vtkSmartPointer.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

class vtkActor;
class vtkColorTransferFunction;
class vtkImageData;
class vtkOrientationMarkerWidget;
class vtkPiecewiseFunction;
class vtkRenderer;
class vtkRenderWindowInteractor;
class vtkScalarBarActor;
class vtkVolume;
class vtkGPUVolumeRayCastMapper;

namespace soului {

// The sides of the head (RAS) a 3D view can look from.
enum class ViewSide { Left, Right, Anterior, Posterior, Superior, Inferior };

class BrainScene {
public:
    BrainScene();
    ~BrainScene();

    vtkRenderer* renderer() const;

    // Shows `volume` (one 3D frame) by volume rendering, intensities mapped over [low, high].
    void setVolume(const soul::Volume& volume);
    void setWindow(double low, double high);
    void setVolumeVisible(bool visible);
    // Voxels below `threshold` are fully transparent in the rendering.
    void setThreshold(double threshold);

    // Label volume on the same grid as the volume. Surfaces are built the first time a label is
    // shown; all start hidden.
    void setLabels(const soul::Volume& labels, const soul::LabelTable& table);
    void setLabelVisible(int value, bool visible);
    void setLabelOpacity(int value, double opacity);
    // Glass brain: every surface drawn at kGlassOpacity of its opacity, so what lies behind or
    // inside it shows through.
    void setGlass(bool on);
    bool glass() const { return m_glass; }
    bool labelVisible(int value) const;
    double labelOpacity(int value) const;

    // Paints the volume's values onto the label surfaces: a vertex takes the value of the nearest
    // voxel of its own label (the surface runs between voxels, so the nearest voxel may be
    // outside it), coloured by `table` over [low, high] where value ≥ threshold or ≤
    // negativeThreshold, and keeps the label's colour elsewhere. Off: plain label colours.
    struct SurfacePaint {
        bool on = false;
        std::array<std::array<uint8_t, 3>, 256> table{};
        double low = 0, high = 1;
        double threshold = -1e30, negativeThreshold = -1e30;
        std::string title;   // the colour bar's: the unit (or the volume's name when it has none)
        // The values painted, on the volume's grid: an overlay's; null paints the volume itself.
        std::shared_ptr<const soul::Volume> values;
    };
    // While painting, a colour bar of the colour map over [low, high] stands at the right.
    void setSurfacePaint(const SurfacePaint& paint);
    bool colourBarShown() const;
    // The colour of the painted surface of `value` at the vertex nearest to voxel (i, j, k), or
    // nothing when the label has no surface. For tests and the figure checks.
    std::optional<std::array<uint8_t, 3>> surfaceColourNear(int value, const std::array<double, 3>& ijk);

    // The slice views' cursor in 3D: a small sphere at `ras` (millimetres), in the crosshair's colour.
    void setCursorMarker(const std::array<double, 3>& ras);
    std::optional<std::array<double, 3>> cursorMarker() const;
    // The RAS point of the nearest visible surface (or volume) under the display pixel (x, y),
    // VTK's pixel coordinates (y up); nothing when the ray hits nothing.
    std::optional<std::array<double, 3>> pick(int x, int y) const;

    void setBackground(double r, double g, double b);
    void resetCamera();
    // The camera looking at the scene from one side of the head: the standard views of a
    // cortical figure.
    void viewFrom(ViewSide side);
    // The orientation cube (R/L, A/P, S/I) in a corner, driven by `interactor`.
    void showOrientationMarker(vtkRenderWindowInteractor* interactor);

private:
    struct LabelSurface;
    LabelSurface& surfaceFor(int value);
    void updateTransferFunctions();
    void paintSurface(int value, LabelSurface& surface);
    void updateColourBar();
    // The volume's value at the voxel of label `value` nearest to (x, y, z), in voxel indices.
    std::optional<float> labelValueNear(int value, const double* xyz) const;

    vtkSmartPointer<vtkRenderer> m_renderer;
    vtkSmartPointer<vtkImageData> m_image;
    vtkSmartPointer<vtkVolume> m_volume;
    vtkSmartPointer<vtkGPUVolumeRayCastMapper> m_mapper;
    vtkSmartPointer<vtkColorTransferFunction> m_colour;
    vtkSmartPointer<vtkPiecewiseFunction> m_opacity;
    vtkSmartPointer<vtkOrientationMarkerWidget> m_marker;
    soul::Affine m_ijkToRas;
    double m_low = 0, m_high = 1, m_threshold = -1e30;
    bool m_hasVolume = false;
    soul::Volume m_values;   // the shown frame, for painting
    SurfacePaint m_paint;
    bool m_glass = false;
    vtkSmartPointer<vtkActor> m_cursorMarker;
    vtkSmartPointer<vtkScalarBarActor> m_colourBar;
    double shownOpacity(int value) const;

    soul::Volume m_labels;
    soul::LabelTable m_table;
    std::map<int, std::array<int64_t, 6>> m_labelBoxes;  // i0 i1 j0 j1 k0 k1 per label
    std::map<int, std::unique_ptr<LabelSurface>> m_surfaces;
    std::map<int, bool> m_visible;
    std::map<int, double> m_labelOpacity;
};

}  // namespace soului
