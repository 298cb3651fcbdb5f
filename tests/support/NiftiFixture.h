// Test fixtures written byte by byte: NIfTI-1 files with exactly the qform/sform settings a test
// asks for (ITK's writer always sets both), truncated and malformed files, a small synthetic
// brain with NSD stream labels. Tests only.
#pragma once

#include "soul/volume.h"

#include <array>
#include <string>
#include <vector>

namespace soultest {

struct NiftiSpec {
    std::array<int, 4> dims{4, 5, 6, 1};        // nx ny nz nt
    std::array<float, 3> pixdim{1, 1, 1};
    int datatype = 16;                          // NIfTI DT_FLOAT32; 4 = int16, 2 = uint8
    float scl_slope = 0, scl_inter = 0;         // 0 slope: no scaling
    int qform_code = 0, sform_code = 0;
    float quatern_b = 0, quatern_c = 0, quatern_d = 0, qfac = 1;
    float qoffset_x = 0, qoffset_y = 0, qoffset_z = 0;
    std::array<std::array<float, 4>, 3> srow{{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}};
    int sizeof_hdr = 348;                       // 540 writes a NIfTI-2 header
};

// Writes `values` (x fastest) in the spec's datatype; ".gz" in the name compresses.
void writeNifti(const std::string& path, const NiftiSpec& spec, const std::vector<float>& values);

// values[n] = n (so that every voxel says where it is).
std::vector<float> ramp(const NiftiSpec& spec);

// Copies `source` to `target` keeping only the first `fraction` of its bytes.
void truncateCopy(const std::string& source, const std::string& target, double fraction);

// A synthetic "brain": an ellipsoid of intensity ~100 on a 1.8 mm grid (RAS, origin centred), and
// a label volume with NSD's streams codes: early (1) at the back, ventral (5) below, parietal (7)
// above. Written as brain.nii.gz and streams.nii.gz into `folder`.
struct SyntheticBrain {
    std::string volume, labels;
};
SyntheticBrain writeSyntheticBrain(const std::string& folder);

std::string tempFolder(const std::string& name);

}  // namespace soultest
