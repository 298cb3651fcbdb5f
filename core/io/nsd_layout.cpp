#include "soul/nsd_layout.h"

#include <cstdio>

namespace soul::nsd {

std::string subject_dir(int subject) {
    char text[16];
    std::snprintf(text, sizeof text, "subj%02d", subject);
    return text;
}

std::string betas_file(int subject, int session) {
    char name[64];
    std::snprintf(name, sizeof name, "betas_session%02d.nii.gz", session);
    return "nsddata_betas/ppdata/" + subject_dir(subject) + "/func1pt8mm/betas_fithrf_GLMdenoise_RR/" + name;
}

std::string betas_hdf5_file(int subject, int session) {
    std::string path = betas_file(subject, session);
    return path.substr(0, path.size() - 7) + ".hdf5";
}

std::string roi_file(int subject, const std::string& roi) {
    return "nsddata/ppdata/" + subject_dir(subject) + "/func1pt8mm/roi/" + roi + ".nii.gz";
}

std::string t1_file(int subject) { return "nsddata/ppdata/" + subject_dir(subject) + "/func1pt8mm/T1_to_func1pt8mm.nii.gz"; }
std::string expdesign_file() { return "nsddata/experiments/nsd/nsd_expdesign.mat"; }
std::string stimuli_file() { return "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"; }
std::string stim_info_file() { return "nsddata/experiments/nsd/nsd_stim_info_merged.csv"; }
std::string coco_captions_file(const std::string& split) { return "annotations/captions_" + split + ".json"; }

}  // namespace soul::nsd

#include "soul/phantom_layout.h"

#include <filesystem>

namespace soul::phantom_layout {

std::string file(const std::string& root, const char* relative) { return (std::filesystem::path(root) / relative).string(); }
std::string ground_truth(const std::string& root, const char* name) {
    return (std::filesystem::path(root) / kGroundTruthDir / name).string();
}

}  // namespace soul::phantom_layout
