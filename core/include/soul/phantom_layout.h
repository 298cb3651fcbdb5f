// Where the phantom subject keeps what NSD does not have: its model, its scenes and its ground
// truth, relative to the phantom's root (docs/phantom.md). Like nsd_layout.h, both the writer (the
// phantom generator) and the readers (training, the studio, the figures) name each file here.
#pragma once

#include <string>

namespace soul::phantom_layout {

inline constexpr const char* kModelFile = "phantom/phantom.json";     // the generative model's parameters
inline constexpr const char* kScenesFile = "phantom/scenes.csv";      // per image: nsdId, category, x, y, ...
inline constexpr const char* kGroundTruthDir = "phantom/groundtruth"; // what each voxel is tuned to

// The ground-truth volumes in kGroundTruthDir (1.8 mm functional grid).
inline constexpr const char* kPrfX = "prf_x.nii.gz";                  // pRF centre, x (image half-widths)
inline constexpr const char* kPrfY = "prf_y.nii.gz";                  // pRF centre, y
inline constexpr const char* kPrfSize = "prf_size.nii.gz";            // pRF size
inline constexpr const char* kPreferredCategory = "preferred_category.nii.gz";   // int16, −1: none
inline constexpr const char* kPositionX = "position_x.nii.gz";        // tuning to the object's x
inline constexpr const char* kPositionY = "position_y.nii.gz";        // tuning to the object's y
inline constexpr const char* kStream = "stream.nii.gz";               // uint8, NSD's stream codes

// root/relative, and root/kGroundTruthDir/name.
std::string file(const std::string& root, const char* relative);
std::string ground_truth(const std::string& root, const char* name);

}  // namespace soul::phantom_layout
