// The NIfTI header read field by field (NIfTI-1's 348 bytes and NIfTI-2's 540, either byte order,
// one file or a .hdr/.img pair), every value checked before anything uses it. Internal to core/io.
#pragma once

#include "soul/error.h"
#include "soul/volume.h"

#include <string>

namespace soul::nifti {

// What the voxel reader needs beyond the public VolumeHeader.
struct Layout {
    VolumeHeader header;
    int datatype = 0;           // NIfTI datatype code (DT_*)
    int bytes_per_voxel = 0;
    bool swapped = false;       // stored in the other byte order
    bool scaled = false;        // scl_slope is neither 0 nor non-finite: value = slope × stored + inter
};

// NIfTI's datatype codes that this reader converts to float.
enum Datatype : int {
    kUint8 = 2, kInt16 = 4, kInt32 = 8, kFloat32 = 16, kFloat64 = 64,
    kInt8 = 256, kUint16 = 512, kUint32 = 768, kInt64 = 1024, kUint64 = 1280,
};

// Reads and checks the header of `path` (a .nii, .nii.gz, .hdr or .img, gzipped or not); throws
// soul::Error naming the file and the field on anything wrong.
Layout read_layout(const std::string& path);

// The one message for a data file shorter than its header promises: `found` voxel bytes after
// the header's offset.
Error truncated_voxels(const VolumeHeader& header, uint64_t found);

// True when the file starts with gzip's magic bytes.
bool is_gzip(const std::string& path);

}  // namespace soul::nifti
