// Where NSD keeps its files, relative to the NSD root (design.md 4.1). The phantom writes exactly
// this layout and the readers read it, so both sides name each file in one place.
#pragma once

#include <string>

namespace soul::nsd {

std::string subject_dir(int subject);                     // "subj01"
std::string betas_file(int subject, int session);         // .../betas_sessionNN.nii.gz
std::string betas_hdf5_file(int subject, int session);    // .../betas_sessionNN.hdf5
std::string roi_file(int subject, const std::string& roi);// .../roi/<roi>.nii.gz
std::string t1_file(int subject);                         // .../T1_to_func1pt8mm.nii.gz
std::string expdesign_file();                             // nsddata/experiments/nsd/nsd_expdesign.mat
std::string stimuli_file();                               // nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5
std::string stim_info_file();                             // nsddata/experiments/nsd/nsd_stim_info_merged.csv
std::string coco_captions_file(const std::string& split); // annotations/captions_<split>.json

// NSD: 750 trials a session; the stream codes of streams.nii.gz.
constexpr int kTrialsPerSession = 750;
enum Stream { kUnknown = 0, kEarly = 1, kMidventral = 2, kMidlateral = 3, kMidparietal = 4, kVentral = 5, kLateral = 6, kParietal = 7 };
// Each code's name, as NSD's streams label table writes it (kStreamNames[kVentral] == "ventral").
inline constexpr const char* kStreamNames[] = {"unlabelled", "early", "midventral", "midlateral", "midparietal", "ventral", "lateral", "parietal"};

// The stream groups the engine ablates, the dissociation switches off and the studio toggles:
// early alone, then each pathway with its mid-level part (Ungerleider & Mishkin 1982; Haxby et al.
// 1991: ventral "what", dorsal "where"; NSD's lateral stream sits between them).
inline constexpr const char* kEarlyGroup = "early";           // the early stream itself (V1–V3)
inline constexpr const char* kVentralGroup = "ventral-all";   // midventral + ventral: the "what" pathway
inline constexpr const char* kLateralGroup = "lateral-all";   // midlateral + lateral
inline constexpr const char* kDorsalGroup = "dorsal";         // midparietal + parietal: the "where" pathway
struct PathwayGroup {
    const char* name;
    Stream mid, high;
};
inline constexpr PathwayGroup kPathwayGroups[] = {
    {kVentralGroup, kMidventral, kVentral}, {kLateralGroup, kMidlateral, kLateral}, {kDorsalGroup, kMidparietal, kParietal}};
// Every group, in the order the studio and the dissociation list them.
inline constexpr const char* kStreamGroups[] = {kEarlyGroup, kVentralGroup, kLateralGroup, kDorsalGroup};
// prf-visualrois codes.
enum VisualRoi { kV1v = 1, kV1d = 2, kV2v = 3, kV2d = 4, kV3v = 5, kV3d = 6, kHV4 = 7 };

}  // namespace soul::nsd
