// Fuzz target: the NIfTI reader (core/io/nifti_header.cpp, nifti_io.cpp) and volume info. The
// bytes are one .nii (or .nii.gz when they start with gzip's magic), or a .hdr and an .img
// packed as two parts (fuzz_targets.h).
#include "fuzz_targets.h"
#include "soul/info.h"
#include "soul/volume.h"

#include <algorithm>
#include <cstring>

namespace soul::fuzz {

void nifti(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    std::string path;
    if (bytes.find(kPartSeparator) != std::string::npos) {
        const auto parts = split_parts(data, size, 2);
        path = write_scratch("volume.hdr", reinterpret_cast<const uint8_t*>(parts[0].data()), parts[0].size());
        write_scratch("volume.img", reinterpret_cast<const uint8_t*>(parts[1].data()), parts[1].size());
    } else {
        const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
        path = write_scratch(gzip ? "volume.nii.gz" : "volume.nii", data, size);
    }
    expect_clean([&] {
        const VolumeHeader header = read_nifti_header(path);
        const Volume first = read_nifti_frame(path, 0);
        if (first.voxels.size() != static_cast<size_t>(first.frame_size())) std::abort();
        if (header.frames > 1) read_nifti_frame(path, header.frames - 1);
        const Volume all = read_nifti(path);
        if (all.voxels.size() != static_cast<size_t>(all.frame_size() * all.frames)) std::abort();
        (void)info_text(volume_info(path));
    });
}

}  // namespace soul::fuzz
