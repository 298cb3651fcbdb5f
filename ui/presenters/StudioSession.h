// StudioSession: everything that reproduces what the studio shows — the data paths, the layers
// and their display settings, the model and the trial, the sampler settings and streams off, the
// cursor, the 3D camera, the view conventions and the tab — as one JSON file (File ▸ Save
// Session). No widget: MainWindow fills it from and applies it to its parts; tests read it.
#pragma once

#include "LayerDisplay.h"
#include "soul/dataset.h"
#include "soul/sampler.h"

#include <QString>
#include <QStringList>

#include <array>
#include <map>
#include <optional>
#include <vector>

namespace soului {

// An overlay above the volume.
struct SessionOverlay {
    QString path;   // a volume the engine made (an attribution) is written beside the session first
    QString name;
    LayerDisplay display;
};

struct CameraPose {
    std::array<double, 3> position{}, focalPoint{}, viewUp{0, 0, 1};
    double viewAngle = 30;
};

// A figure for a paper (File ▸ Export Figure ▸ Lightbox, `souldiffuser-studio --figure`): a grid
// of slices with the colour bar, and below it the 3D view and the trial's reconstruction row, at a
// physical width and resolution.
struct FigureSpec {
    static constexpr double kMinWidthMm = 20, kMaxWidthMm = 1000;
    static constexpr double kMinDpi = 50, kMaxDpi = 1200;
    static constexpr int kMaxSlices = 100;
    double widthMm = 180;   // two journal columns; one is about 88 mm
    double dpi = 300;       // journals ask 300 for colour images
    QString orientation = "axial";   // axial, coronal or sagittal
    int slices = 12;
    int columns = 6;
    bool threeD = true;           // the 3D view below the slices
    bool reconstruction = true;   // the trial's row (stimulus | reconstruction | …) when there is one
    // What is wrong with it ("dpi: must be in [50, 1200], not 2"), or empty.
    QString problem() const;
};

struct StudioSession {
    static constexpr int kVersion = 1;

    // The volume: a file (with the 4D frame), or the selected trial's betas (volumePath empty).
    QString volumePath;
    int frame = 0;
    QString underlayPath;
    bool underlayVisible = true;
    std::optional<std::array<double, 2>> underlayWindow;
    QString labelsPath;
    std::vector<int> visibleLabels;
    std::map<int, double> labelOpacity;
    LayerDisplay display;
    std::vector<SessionOverlay> overlays;   // bottom up
    int selectedLayer = 0;                  // 0: the volume, i: overlay i − 1
    bool interpolation = false;
    std::optional<std::array<int64_t, 3>> cursor;

    // The reconstruction workbench.
    QString modelRun, modelData;
    std::optional<soul::TrialRef> trial;
    soul::SamplerSettings sampler;
    std::vector<std::string> streamsOff;

    bool neurological = false;
    bool colourBars = true;
    bool volumeRendering = true;
    bool surfaceActivity = true;   // the volume painted onto the 3D surfaces
    bool glassBrain = false;       // the 3D surfaces see-through
    std::optional<CameraPose> camera;
    QString tab;   // the dock raised at the bottom: "reconstruction" or "training"
    std::optional<FigureSpec> figure;   // the figure this session was saved beside

    // The files the session names (volume, underlay, overlays, labels, model, data) that do not exist.
    QStringList missingFiles() const;
};

// Writes `session` to `path` as JSON, paths relative to the file's folder where they lie under it
// (a demo folder can move). Throws soul::Error naming the file when it cannot be written.
void saveSession(const StudioSession& session, const QString& path);
// Reads a session file. Throws soul::Error naming the file and, for a wrong value, its key
// ("display.windowLow: must be a number"); unknown keys are refused so that a typo is not ignored.
StudioSession loadSession(const QString& path);

}  // namespace soului
