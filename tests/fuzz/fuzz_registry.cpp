// The list of fuzz targets (see fuzz_targets.h). Compiled twice: for the readers alone, and with
// SOUL_FUZZ_CHECKPOINT=1 where LibTorch is there for the checkpoint target.
#include "fuzz_targets.h"

namespace soul::fuzz {

const std::vector<Target>& targets() {
    static const std::vector<Target> all = {
        {"nifti", nifti, "NIfTI-1/2 headers, affines and voxels: .nii, .nii.gz, .hdr/.img pairs; volume info"},
        {"mat", mat, "MATLAB .mat files through matio (NSD's nsd_expdesign.mat)"},
        {"hdf5", hdf5, "HDF5 image bricks and betas through the HDF5 C library (nsd_stimuli.hdf5, betas_session*.hdf5)"},
        {"tables", tables, "CSV tables, label tables (.txt, .lut), COCO caption JSON, IDX images and labels"},
        {"image", image, "PNG and JPEG stimuli through libpng and libjpeg"},
        {"weights", weights, "metric networks' weight files: PyTorch state dicts (zip and legacy pickles) and safetensors"},
        {"prepared", prepared, "a prepared dataset: manifest.json checked against data.bin, every section read"},
#if SOUL_FUZZ_CHECKPOINT
        {"checkpoint", checkpoint, "stage checkpoints and exported weights (LibTorch archives) loaded into a module with AdamW, then used"},
#endif
    };
    return all;
}

const Target* find_target(const std::string& name) {
    for (const Target& t : targets())
        if (name == t.name) return &t;
    return nullptr;
}

}  // namespace soul::fuzz
