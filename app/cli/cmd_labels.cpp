// `souldiffuser labels`: the labels of a label volume with names, colours and voxel counts.
#include "commands.h"

#include "soul/labels.h"
#include "soul/volume.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

namespace cli {

namespace {

struct LabelsArgs {
    std::string file, like;
};

void list_labels(const LabelsArgs& a) {
    soul::Volume labels = soul::read_nifti_frame(a.file, 0);
    if (!a.like.empty()) {
        const soul::Volume image = soul::read_nifti_frame(a.like, 0);
        bool resampled = false;
        labels = soul::read_labels_onto(a.file, image, &resampled);
        if (resampled)
            std::cerr << "souldiffuser labels: " << a.file << " is on another grid than " << a.like
                      << ": resampled onto it by nearest neighbour\n";
    }
    const soul::LabelTable table = soul::label_table_for(a.file, labels);
    std::map<int, int64_t> counts;
    for (int64_t n = 0; n < labels.frame_size(); ++n) {
        const int v = static_cast<int>(std::lround(labels.voxels[static_cast<size_t>(n)]));
        if (v > 0) ++counts[v];
    }
    std::printf("%6s  %-28s %8s  %s\n", "value", "name", "voxels", "colour");
    for (const auto& [value, count] : counts) {
        const auto rgb = table.colour_of(value);
        std::printf("%6d  %-28s %8lld  #%02x%02x%02x\n", value, table.name_of(value).c_str(), static_cast<long long>(count), rgb[0],
                    rgb[1], rgb[2]);
    }
}

}  // namespace

Command add_labels(CLI::App& app) {
    auto* command = app.add_subcommand("labels", "List the labels of a label volume with their names, colours and voxel counts");
    auto a = std::make_shared<LabelsArgs>();
    command->add_option("file", a->file, "Label volume (NIfTI)")->required();
    command->add_option("--like", a->like, "Resample onto this image's grid first (nearest neighbour)");
    return {command, [a] { return reporting_errors("labels", false, [&] { list_labels(*a); }); }};
}

}  // namespace cli
