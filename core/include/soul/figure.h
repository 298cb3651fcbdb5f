// Figures for papers, the same from the studio and from the command line: a saved view
// description (JSON) names the run, the dataset, the trials, the settings and the figure's kind;
// `souldiffuser export` renders it headless with the engine, and the studio writes the description
// beside every figure it exports, so the figure can be made again exactly.
//   comparison: one row per trial — stimulus | reconstruction sample(s) | low-level | palette | edges
//     (a grid of trials, like the method's own figure, when several trials are named);
//   denoising: the first trial's predicted clean image (top row) and decoded noisy latent (bottom
//     row) at every denoising step;
//   dissociation: one row per trial — stimulus | all streams | each pathway off
//     (dissociation_pathways), the double dissociation as images.
// No Qt, no LibTorch: compositing is plain RGB.
#pragma once

#include "soul/formats.h"
#include "soul/generate.h"
#include "soul/progress.h"
#include "soul/reconstruct.h"

#include <string>
#include <vector>

namespace soul {

struct ViewDescription {
    std::string run, data;
    std::string kind = "comparison";   // comparison | denoising | dissociation
    std::vector<TrialRef> trials;
    ReconstructionSettings settings;
    int scale = 1;                     // 1–4: each 64-px image drawn scale × 2 px wide
};

// Throws soul::Error naming the file and the key on a bad description.
ViewDescription read_view_description(const std::string& path);
void write_view_description(const ViewDescription& view, const std::string& path);

// The figures from reconstructions already made (the studio has them on screen).
RgbImage compose_comparison(const std::vector<Reconstruction>& rows, int scale);
RgbImage compose_denoising(const std::vector<DenoisePreview>& frames, int scale);
// `columns[c][t]`: trial t with pathway c off (column 0: all streams on); the stimulus comes first.
RgbImage compose_dissociation(const std::vector<std::vector<Reconstruction>>& columns, int scale);

// Runs the engine for the view and writes the PNG; returns its path.
std::string export_figure(const ViewDescription& view, const std::string& png, const Progress& progress = {});

}  // namespace soul
