// souldiffuser — the command line of SoulDiffuser Studio.
// Every subcommand prints bad-input problems as one line on stderr, naming the file and what is
// wrong, and exits non-zero.
#include "soul/error.h"
#include "soul/info.h"
#include "soul/labels.h"
#include "soul/runtime.h"
#include "soul/version.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace {

int run_info(const std::vector<std::string>& files, bool json) {
    int failures = 0;
    nlohmann::json all = nlohmann::json::array();
    for (const auto& file : files) {
        try {
            const soul::VolumeInfo info = soul::volume_info(file);
            if (json)
                all.push_back(nlohmann::json::parse(soul::info_json(info)));
            else
                std::cout << soul::info_text(info) << (files.size() > 1 ? "\n" : "");
        } catch (const soul::Error& e) {
            std::cerr << "souldiffuser info: " << e.what() << "\n";
            ++failures;
        }
    }
    if (json) std::cout << (files.size() == 1 && all.size() == 1 ? all[0] : all).dump(2) << "\n";
    return failures ? 1 : 0;
}

int run_labels(const std::string& file, const std::string& like) {
    try {
        soul::Volume labels = soul::read_nifti_frame(file, 0);
        if (!like.empty()) {
            const soul::Volume image = soul::read_nifti_frame(like, 0);
            bool resampled = false;
            labels = soul::read_labels_onto(file, image, &resampled);
            if (resampled)
                std::cerr << "souldiffuser labels: " << file << " is on another grid than " << like
                          << ": resampled onto it by nearest neighbour\n";
        }
        const soul::LabelTable table = soul::label_table_for(file, labels);
        std::map<int, int64_t> counts;
        for (int64_t n = 0; n < labels.frame_size(); ++n) {
            const int v = static_cast<int>(std::lround(labels.voxels[static_cast<size_t>(n)]));
            if (v > 0) ++counts[v];
        }
        std::printf("%6s  %-28s %8s  %s\n", "value", "name", "voxels", "colour");
        for (const auto& [value, count] : counts) {
            const auto rgb = table.colour_of(value);
            std::printf("%6d  %-28s %8lld  #%02x%02x%02x\n", value, table.name_of(value).c_str(),
                        static_cast<long long>(count), rgb[0], rgb[1], rgb[2]);
        }
        return 0;
    } catch (const soul::Error& e) {
        std::cerr << "souldiffuser labels: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"SoulDiffuser Studio command line: reconstruct seen images from 3D fMRI volumes"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("souldiffuser ") + SOUL_VERSION);

    auto* info = app.add_subcommand("info", "Print dimensions, voxel size, data type, value range and IJK->RAS affine of NIfTI volumes");
    std::vector<std::string> info_files;
    bool info_json = false;
    info->add_option("files", info_files, "NIfTI files (.nii, .nii.gz)")->required();
    info->add_flag("--json", info_json, "Print JSON instead of text");

    auto* labels = app.add_subcommand("labels", "List the labels of a label volume with their names, colours and voxel counts");
    std::string labels_file, labels_like;
    labels->add_option("file", labels_file, "Label volume (NIfTI)")->required();
    labels->add_option("--like", labels_like, "Resample onto this image's grid first (nearest neighbour)");

    auto* env = app.add_subcommand("env", "Print the compute environment (LibTorch version, threads, device)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (*info) return run_info(info_files, info_json);
    if (*labels) return run_labels(labels_file, labels_like);
    if (*env) {
        const int threads = soul::init_compute_threads();
        std::cout << "souldiffuser " << SOUL_VERSION << "\nLibTorch " << soul::torch_version()
                  << "\nCPU threads " << threads << "\ndevice " << soul::default_device_name() << "\n";
        return 0;
    }
    return 0;
}
