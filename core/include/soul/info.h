// `souldiffuser info`: what fslinfo / nib-ls tell about a volume, as text and as JSON.
#pragma once

#include "soul/volume.h"

#include <string>

namespace soul {

struct VolumeInfo {
    VolumeHeader header;
    std::array<float, 2> range{0, 0};   // scaled values, over all frames
    std::string orientation;            // e.g. "RAS"
};

// Reads the file (all frames, for the value range). Throws soul::Error on bad input.
VolumeInfo volume_info(const std::string& path);

std::string info_text(const VolumeInfo& info);
std::string info_json(const VolumeInfo& info);   // one JSON object

}  // namespace soul
