#include "soul/info.h"

#include "soul/json_text.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace soul {

VolumeInfo volume_info(const std::string& path) {
    NiftiSeries series(path);
    VolumeInfo info;
    info.header = series.header();
    info.orientation = orientation_code(info.header.ijk_to_ras);
    float lo = 0, hi = 0;
    for (int64_t t = 0; t < info.header.frames; ++t) {
        const auto r = value_range(series.frame(t));
        if (t == 0 || r[0] < lo) lo = r[0];
        if (t == 0 || r[1] > hi) hi = r[1];
    }
    info.range = {lo, hi};
    return info;
}

std::string info_text(const VolumeInfo& info) {
    const VolumeHeader& h = info.header;
    std::ostringstream out;
    char line[256];
    out << "file         " << h.path << "\n";
    out << "format       NIfTI-" << h.nifti_version << (h.pair ? " pair (.hdr + .img)" : "") << "\n";
    std::snprintf(line, sizeof line, "dims         %lld x %lld x %lld x %lld\n", static_cast<long long>(h.dims[0]),
                  static_cast<long long>(h.dims[1]), static_cast<long long>(h.dims[2]), static_cast<long long>(h.frames));
    out << line;
    std::snprintf(line, sizeof line, "voxel size   %.4g x %.4g x %.4g mm\n", h.spacing[0], h.spacing[1], h.spacing[2]);
    out << line;
    out << "data type    " << h.datatype << "\n";
    if (h.scl_slope != 0 && (h.scl_slope != 1 || h.scl_inter != 0)) {
        std::snprintf(line, sizeof line, "scaling      value = %.6g * stored + %.6g\n", h.scl_slope, h.scl_inter);
        out << line;
    }
    std::snprintf(line, sizeof line, "value range  %.6g .. %.6g\n", info.range[0], info.range[1]);
    out << line;
    out << "orientation  " << info.orientation << "  (qform_code " << h.qform_code << ", sform_code "
        << h.sform_code << ", affine from " << (h.sform_code > 0 ? "sform" : h.qform_code > 0 ? "qform" : "pixdim")
        << ")\n";
    out << "ijk->ras\n";
    for (int r = 0; r < 4; ++r) {
        std::snprintf(line, sizeof line, "  %10.4f %10.4f %10.4f %10.4f\n", h.ijk_to_ras(r, 0), h.ijk_to_ras(r, 1),
                      h.ijk_to_ras(r, 2), h.ijk_to_ras(r, 3));
        out << line;
    }
    return out.str();
}

std::string info_json(const VolumeInfo& info) {
    const VolumeHeader& h = info.header;
    nlohmann::json j;
    j["file"] = h.path;
    j["nifti_version"] = h.nifti_version;
    j["pair"] = h.pair;
    j["dims"] = {h.dims[0], h.dims[1], h.dims[2], h.frames};
    j["voxel_size_mm"] = {h.spacing[0], h.spacing[1], h.spacing[2]};
    j["datatype"] = h.datatype;
    j["scl_slope"] = h.scl_slope;
    j["scl_inter"] = h.scl_inter;
    j["range"] = {info.range[0], info.range[1]};
    j["orientation"] = info.orientation;
    j["qform_code"] = h.qform_code;
    j["sform_code"] = h.sform_code;
    nlohmann::json rows = nlohmann::json::array();
    for (int r = 0; r < 4; ++r) rows.push_back({h.ijk_to_ras(r, 0), h.ijk_to_ras(r, 1), h.ijk_to_ras(r, 2), h.ijk_to_ras(r, 3)});
    j["ijk_to_ras"] = rows;
    return json_text(j);
}

}  // namespace soul
