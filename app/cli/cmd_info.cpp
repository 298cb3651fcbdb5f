// `souldiffuser info`: dimensions, voxel size, data type, value range and affine of NIfTI volumes.
#include "commands.h"

#include "soul/error.h"
#include "soul/info.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace cli {

namespace {

struct InfoArgs {
    std::vector<std::string> files;
    bool json = false;
};

int run_info(const InfoArgs& a) {
    int failures = 0;
    nlohmann::json all = nlohmann::json::array();
    for (const auto& file : a.files) {
        failures += reporting_errors("info", false, [&] {
            const soul::VolumeInfo info = soul::volume_info(file);
            if (a.json)
                all.push_back(nlohmann::json::parse(soul::info_json(info)));
            else
                std::cout << soul::info_text(info) << (a.files.size() > 1 ? "\n" : "");
        });
    }
    if (a.json) std::cout << (a.files.size() == 1 && all.size() == 1 ? all[0] : all).dump(2) << "\n";
    return failures ? 1 : 0;
}

}  // namespace

Command add_info(CLI::App& app) {
    auto* command = app.add_subcommand("info", "Print dimensions, voxel size, data type, value range and IJK->RAS affine of NIfTI volumes");
    auto a = std::make_shared<InfoArgs>();
    command->add_option("files", a->files, "NIfTI files (.nii, .nii.gz)")->required();
    command->add_flag("--json", a->json, "Print JSON instead of text");
    return {command, [a] { return run_info(*a); }};
}

}  // namespace cli
