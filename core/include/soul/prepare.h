// `souldiffuser prepare`: an NSD subject (or the phantom, or a generic dataset) → a prepared
// dataset (design.md 4.3) that training, evaluation and the studio read fast.
//
// Preprocessing as the field does it: betas / 300, voxel-wise z-score per session with statistics
// from that session's training trials only; the volume cropped to the bounding box of nsdgeneral,
// the voxels inside the mask kept with their 3D coordinates and ROI labels; training = single
// trials of non-shared images; test = shared images with their repeats averaged.
#pragma once

#include "soul/progress.h"

#include <cstdint>
#include <string>

namespace soul {

struct PrepareOptions {
    std::string nsd_root;            // NSD root, a phantom folder, or a generic-layout folder
    std::string layout = "auto";     // auto (trials.csv present → generic) | nsd | generic
    int subject = 1;
    std::string out;                 // the prepared dataset folder
    int first_session = 1, last_session = 0;   // 0: every session found
    std::string betas_format = "nifti";        // nifti | hdf5
    int image_size = 256;
    // Test images: "complete" keeps shared images shown all 3 times in the sessions used (NSD's
    // 982 for sessions 1–37), "all" keeps every shared image shown at least once (1000).
    std::string shared = "complete";
    std::string coco_dir;            // COCO caption JSONs; default <nsd_root>/annotations
};

struct PrepareSummary {
    int sessions = 0, sessions_reused = 0;
    int64_t voxels = 0, train_trials = 0, test_images = 0, images = 0;
    double seconds = 0;
    bool already_prepared = false;
};

// Prepares into options.out. Works in <out>.partial and renames at the end, so an interrupted run
// leaves nothing that looks complete; a re-run reuses the sessions already done there (same
// sources and parameters) and redoes the rest. A complete dataset with the same parameters is
// left as it is. Throws soul::Error naming the file and field on bad input; soul::Cancelled when
// progress.cancel is set.
PrepareSummary prepare_dataset(const PrepareOptions& options, const Progress& progress = {});

// `souldiffuser inspect`: what a raw NSD root or a prepared dataset holds, as text.
std::string inspect_dataset(const std::string& path);

}  // namespace soul
