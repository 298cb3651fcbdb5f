// `souldiffuser inspect`: what a raw NSD root (or phantom), a generic-layout folder or a prepared
// dataset holds.
#include "prepare_source.h"
#include "soul/dataset.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/labels.h"
#include "soul/nsd_layout.h"
#include "soul/prepare.h"
#include "soul/printable.h"
#include "soul/volume.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace soul {
namespace {

// A field of the manifest by its path of keys, or nullptr where a key is missing or a level is not
// an object: the parts of the manifest that only describe (how it was made) are not checked on
// open, so inspect reads them without trusting their shape.
const nlohmann::json* field(const nlohmann::json& j, std::initializer_list<const char*> keys) {
    const nlohmann::json* at = &j;
    for (const char* key : keys) {
        if (!at->is_object()) return nullptr;
        const auto it = at->find(key);
        if (it == at->end()) return nullptr;
        at = &*it;
    }
    return at;
}

// The field as text (strings without quotes), or "?" where it is missing.
std::string field_text(const nlohmann::json& j, std::initializer_list<const char*> keys) {
    const nlohmann::json* v = field(j, keys);
    if (!v) return "?";
    return printable(v->is_string() ? v->get<std::string>() : v->dump());
}

std::string inspect_prepared(const std::string& path) {
    PreparedDataset d(path);
    const auto& m = d.manifest();
    const std::string manifest_path = (fs::path(path) / "manifest.json").string();
    std::ifstream in(manifest_path);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) throw Error(manifest_path, "changed while it was read (it is no longer JSON)");
    std::ostringstream out;
    out << "prepared dataset " << path << "\n";
    const nlohmann::json* layout = field(j, {"layout"});
    const nlohmann::json* sessions = field(j, {"parameters", "sessions"});
    const bool session_range = sessions && sessions->is_array() && sessions->size() == 2;
    if (!layout || *layout == "nsd")
        out << "  subject        " << m.subject << ", sessions " << (session_range ? printable((*sessions)[0].dump()) + "-" + printable((*sessions)[1].dump()) : "?")
            << " (" << field_text(j, {"parameters", "betas"}) << " betas)\n";
    else {
        const nlohmann::json* sources = field(j, {"parameters", "betas_sources"});
        out << "  layout         generic, " << (sources && sources->is_array() ? std::to_string(sources->size()) : "?") << " betas files, from "
            << field_text(j, {"source", "trials"}) << "\n";
    }
    out << "  voxels         " << m.voxels << " in the visual mask, crop box " << m.crop_dims[0] << "x" << m.crop_dims[1] << "x" << m.crop_dims[2]
        << " at (" << m.crop_offset[0] << ", " << m.crop_offset[1] << ", " << m.crop_offset[2] << ") of " << m.source_dims[0] << "x"
        << m.source_dims[1] << "x" << m.source_dims[2] << "\n";
    out << "  per stream    ";
    if (const nlohmann::json* streams = field(j, {"voxels_per_stream"}); streams && streams->is_object())
        for (const auto& [name, count] : streams->items()) out << " " << printable(name) << " " << (count.is_number_integer() ? count.dump() : "?");
    else
        out << " ?";
    out << "\n";
    std::map<int, int64_t> by_repeats;
    for (int64_t i = 0; i < m.test_images; ++i) ++by_repeats[d.repeats(i)];
    out << "  train          " << m.train_trials << " single trials\n";
    out << "  test           " << m.test_images << " images, repeats averaged (";
    for (auto it = by_repeats.begin(); it != by_repeats.end(); ++it)
        out << (it == by_repeats.begin() ? "" : ", ") << it->second << " shown " << it->first << "x";
    out << ")\n";
    out << "  images         " << m.images << " at " << m.image_size << "x" << m.image_size << ", with captions\n";
    out << "  created by     " << field_text(j, {"created_by"}) << "\n";
    const int verified = d.verify_sections();
    out << "  checksums      " << (verified ? std::to_string(verified) + " sections of data.bin verified" : std::string("none recorded (prepared before checksums)"))
        << "\n";
    return out.str();
}

std::string inspect_generic(const std::string& root) {
    PrepareOptions options;
    options.nsd_root = root;
    const auto src = prepare_detail::open_generic_source(options);
    std::ostringstream out;
    out << "generic-layout dataset " << root << "\n";
    int64_t mask = 0;
    for (float v : src.mask.voxels) mask += v >= 1;
    out << "  grid           " << src.mask.dims[0] << "x" << src.mask.dims[1] << "x" << src.mask.dims[2] << ", " << mask << " voxels in "
        << src.mask_path << "\n";
    std::map<int64_t, int> test_shown;
    int64_t train = 0;
    for (const auto& t : src.trials) {
        if (t.test) ++test_shown[t.image];
        else ++train;
    }
    out << "  betas          " << src.sessions.size() << " files, " << src.trials.size() << " trials\n";
    out << "  train          " << train << " trials\n";
    out << "  test           " << test_shown.size() << " images, shown up to " << src.complete_repeats << "x\n";
    out << "  images         " << src.image_names.size() << " files\n";
    return out.str();
}

std::string inspect_raw(const std::string& root) {
    std::ostringstream out;
    out << "NSD-layout dataset " << root << "\n";
    const fs::path betas_root = fs::path(root) / "nsddata_betas/ppdata";
    int found = 0;
    for (int subject = 1; subject <= 8; ++subject) {
        const fs::path dir = betas_root / nsd::subject_dir(subject) / "func1pt8mm/betas_fithrf_GLMdenoise_RR";
        if (!fs::is_directory(dir)) continue;
        ++found;
        int nifti = 0, hdf5 = 0;
        for (int s = 1; s <= 40; ++s) {
            nifti += fs::exists(fs::path(root) / nsd::betas_file(subject, s));
            hdf5 += fs::exists(fs::path(root) / nsd::betas_hdf5_file(subject, s));
        }
        out << "  " << nsd::subject_dir(subject) << ": " << nifti << " NIfTI and " << hdf5 << " HDF5 betas sessions";
        const std::string first = (fs::path(root) / nsd::betas_file(subject, 1)).string();
        if (fs::exists(first)) {
            const VolumeHeader h = read_nifti_header(first);
            out << ", grid " << h.dims[0] << "x" << h.dims[1] << "x" << h.dims[2] << " x " << h.frames << " trials";
        }
        out << "\n";
        const std::string streams = (fs::path(root) / nsd::roi_file(subject, "streams")).string();
        const std::string general = (fs::path(root) / nsd::roi_file(subject, "nsdgeneral")).string();
        if (fs::exists(general)) {
            const Volume g = read_nifti_frame(general, 0);
            int64_t inside = 0;
            for (float v : g.voxels) inside += v >= 1;
            out << "    nsdgeneral   " << inside << " voxels\n";
        }
        if (fs::exists(streams)) {
            const Volume s = read_nifti_frame(streams, 0);
            std::map<int, int64_t> counts;
            for (float v : s.voxels)
                if (v > 0) ++counts[static_cast<int>(v)];
            const LabelTable t = nsd_streams_table();
            out << "    streams     ";
            for (const auto& [code, count] : counts) out << " " << t.name_of(code) << " " << count;
            out << "\n";
        }
    }
    if (!found) throw Error(root, "is neither a prepared dataset (no manifest.json) nor an NSD root (no nsddata_betas/ppdata/subjNN)");
    const std::string design = (fs::path(root) / nsd::expdesign_file()).string();
    if (fs::exists(design)) {
        const MatMatrix master = read_mat(design, "masterordering");
        const MatMatrix subjectim = read_mat(design, "subjectim");
        const MatMatrix shared = read_mat(design, "sharedix");
        out << "  design         " << master.rows * master.cols << " trials, " << subjectim.cols << " images per subject, "
            << shared.rows * shared.cols << " shared\n";
    }
    const std::string stimuli = (fs::path(root) / nsd::stimuli_file()).string();
    if (fs::exists(stimuli)) {
        const auto shape = image_brick_shape(stimuli);
        out << "  stimuli        " << shape.count << " images " << shape.height << "x" << shape.width << "x3\n";
    }
    const std::string info = (fs::path(root) / nsd::stim_info_file()).string();
    if (fs::exists(info)) out << "  stim info      " << read_csv(info).rows.size() << " rows\n";
    return out.str();
}

}  // namespace

std::string inspect_dataset(const std::string& path) {
    if (!fs::exists(path)) throw Error(path, "no such file or folder");
    if (fs::exists(fs::path(path) / "manifest.json")) return inspect_prepared(path);
    if (prepare_detail::is_generic_layout(path)) return inspect_generic(path);
    return inspect_raw(path);
}

}  // namespace soul
