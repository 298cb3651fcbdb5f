// BrainScene: the VTK scene of the 3D view — GPU ray-cast volume rendering of the intensity
// volume and one smoothed surface per label, each with its own visibility and opacity.
// Qt-free (VTK and core only), so it can be built and measured without a widget.
#pragma once

#include "soul/labels.h"
#include "soul/volume.h"

#include <vtkSmartPointer.h>

#include <array>
#include <map>
#include <memory>

class vtkActor;
class vtkColorTransferFunction;
class vtkImageData;
class vtkOrientationMarkerWidget;
class vtkPiecewiseFunction;
class vtkRenderer;
class vtkRenderWindowInteractor;
class vtkVolume;
class vtkGPUVolumeRayCastMapper;

namespace soului {

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
    bool labelVisible(int value) const;
    double labelOpacity(int value) const;

    void setBackground(double r, double g, double b);
    void resetCamera();
    // The orientation cube (R/L, A/P, S/I) in a corner, driven by `interactor`.
    void showOrientationMarker(vtkRenderWindowInteractor* interactor);

private:
    struct LabelSurface;
    LabelSurface& surfaceFor(int value);
    void updateTransferFunctions();

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

    soul::Volume m_labels;
    soul::LabelTable m_table;
    std::map<int, std::array<int64_t, 6>> m_labelBoxes;  // i0 i1 j0 j1 k0 k1 per label
    std::map<int, std::unique_ptr<LabelSurface>> m_surfaces;
    std::map<int, bool> m_visible;
    std::map<int, double> m_labelOpacity;
};

}  // namespace soului
