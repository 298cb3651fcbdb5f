// TuningMaps: the phantom's ground truth beside the learned attributions (teaching mode). The
// phantom generator writes what each voxel is tuned to (phantom/groundtruth/*.nii.gz, see
// core/data/phantom_tuning.cpp): a population receptive field (early and midventral cortex), a
// preferred category (patches in ventral and lateral cortex) or object position (lateral and
// parietal cortex). For each attributed output this names the voxels that by construction carry
// it, measures how much of the learned attribution falls in them, and draws both as projections
// along the axial axis, side by side (Qt-free presenter).
#pragma once

#include "soul/formats.h"
#include "soul/volume.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace soului {

class TuningMaps {
public:
    // Whether `root` (a raw phantom subject) has its ground truth.
    static bool available(const std::string& root);
    // Reads <root>/phantom/groundtruth; throws soul::Error naming the file that is missing or bad.
    explicit TuningMaps(const std::string& root);

    // Whether the ground truth says which voxels carry `output` ("palette", "position", ...).
    bool covers(const std::string& output) const;
    // "voxels with a population receptive field (early, midventral)" and the like.
    std::string description(const std::string& output) const;
    // The share of |attribution| inside the voxels tuned to what `output` carries, and those
    // voxels' share of the visual voxels (the share a stream-blind attribution would give).
    // Throws soul::Error when the attribution is on another grid.
    std::pair<double, double> share(const std::string& output, const soul::Volume& attribution) const;
    // Projections along the axial axis, anterior up, on a grey silhouette of the visual voxels:
    // the fraction of tuned voxels per column, and the attribution's |value| (its largest per column).
    soul::RgbImage truthProjection(const std::string& output) const;
    soul::RgbImage attributionProjection(const soul::Volume& attribution) const;
    // The voxels tuned to what `output` carries as a volume on the grid of `like` (an attribution
    // volume): 1 tuned, 0 not; to show as an overlay over the trial. Throws soul::Error when
    // `like` is on another grid.
    soul::Volume truthVolume(const std::string& output, const soul::Volume& like) const;

private:
    const std::vector<uint8_t>& maskOf(const std::string& output) const;
    soul::RgbImage project(const std::vector<float>& value) const;   // values in [0, 1] per voxel

    std::array<int64_t, 3> m_dims{0, 0, 0};
    std::vector<uint8_t> m_visual, m_receptiveField, m_category, m_position;
};

}  // namespace soului
