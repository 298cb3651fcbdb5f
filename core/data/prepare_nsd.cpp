// NSD's layout (design.md 4.1) — and the phantom, which writes the same files — as a RawSource:
// betas per session (NIfTI X×Y×Z×750 or HDF5 750×Z×Y×X, int16 = % × 300), nsdgeneral/streams/
// prf-visualrois, nsd_expdesign.mat (1-based indices), nsd_stimuli.hdf5, stim info + COCO captions.
#include "prepare_source.h"

#include "soul/error.h"
#include "soul/nsd_layout.h"


#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul::prepare_detail {
namespace {

// An nsdId is checked against the image file later; this bound only keeps its cast to an integer defined.
constexpr double kMaxNsdId = 2147483647.0;


constexpr double kBetaScale = 300.0;   // NSD stores percent signal change × 300 as int16
constexpr int kMaxSessions = 40;
constexpr int kRepeatsOfShared = 3;    // each shared image is shown 3 times over the 40 sessions

std::string file_in(const std::string& root, const std::string& relative) { return (fs::path(root) / relative).string(); }

std::vector<float> read_nifti_betas(const std::string& path, const std::array<int64_t, 3>& grid, const std::vector<int64_t>& voxels) {
    NiftiSeries series(path);
    const auto& h = series.header();
    if (h.dims != grid || h.frames != nsd::kTrialsPerSession)
        throw Error(h.path, "has shape " + std::to_string(h.dims[0]) + "x" + std::to_string(h.dims[1]) + "x" + std::to_string(h.dims[2]) +
                                "x" + std::to_string(h.frames) + "; expected " + std::to_string(grid[0]) + "x" + std::to_string(grid[1]) +
                                "x" + std::to_string(grid[2]) + "x750 (the ROI grid, 750 trials)");
    const size_t V = voxels.size();
    std::vector<float> rows(nsd::kTrialsPerSession * V);
    for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t) {
        const Volume f = series.frame(t);
        for (size_t v = 0; v < V; ++v) rows[static_cast<size_t>(t) * V + v] = static_cast<float>(f.voxels[static_cast<size_t>(voxels[v])] / kBetaScale);
    }
    return rows;
}

}  // namespace

RawSource open_nsd_source(const PrepareOptions& o) {
    if (o.subject < 1 || o.subject > 8) throw Error("prepare: --subject must be 1 to 8");
    if (o.betas_format != "nifti" && o.betas_format != "hdf5") throw Error("prepare: --betas must be nifti or hdf5, not " + o.betas_format);
    if (o.first_session < 1 || (o.last_session != 0 && o.last_session < o.first_session) || o.last_session > kMaxSessions)
        throw Error("prepare: --sessions must be A-B with 1 <= A <= B <= 40");
    const std::string root = o.nsd_root;
    auto betas_path = [&](int session) {
        return file_in(root, o.betas_format == "nifti" ? nsd::betas_file(o.subject, session) : nsd::betas_hdf5_file(o.subject, session));
    };
    // Sessions: the range asked for, or every consecutive one present from the first.
    int last = o.last_session;
    if (last == 0) {
        last = o.first_session - 1;
        while (last < kMaxSessions && fs::exists(betas_path(last + 1))) ++last;
        if (last < o.first_session) throw Error(betas_path(o.first_session), "no such file: no betas for session " + std::to_string(o.first_session));
    }
    for (int s = o.first_session; s <= last; ++s)
        if (!fs::exists(betas_path(s))) throw Error(betas_path(s), "no such file: session " + std::to_string(s) + " is missing");

    RawSource src;
    src.layout = "nsd";
    src.subject = o.subject;
    src.complete_repeats = kRepeatsOfShared;
    src.mask_path = file_in(root, nsd::roi_file(o.subject, "nsdgeneral"));
    src.mask = read_nifti_frame(src.mask_path, 0);
    src.streams = read_roi_on_grid(file_in(root, nsd::roi_file(o.subject, "streams")), src.mask, src.mask_path);
    src.visualrois = read_roi_on_grid(file_in(root, nsd::roi_file(o.subject, "prf-visualrois")), src.mask, src.mask_path);
    const std::array<int64_t, 3> grid = src.mask.dims;

    src.parameters = {{"subject", o.subject}, {"sessions", {o.first_session, last}}, {"betas", o.betas_format}};
    src.parameters["betas_sources"] = json::array();
    std::vector<int64_t> all_frames(nsd::kTrialsPerSession);
    for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t) all_frames[static_cast<size_t>(t)] = t;
    for (int s = o.first_session; s <= last; ++s) {
        RawSession session;
        session.number = s;
        session.path = betas_path(s);
        session.frames = all_frames;
        const bool nifti = o.betas_format == "nifti";
        const std::string path = session.path;
        session.read = [path, grid, nifti](const std::vector<int64_t>& voxels) {
            if (nifti) return read_nifti_betas(path, grid, voxels);
            const auto values = read_hdf5_betas(path, grid, nsd::kTrialsPerSession, voxels);
            std::vector<float> rows(values.size());
            for (size_t n = 0; n < values.size(); ++n) rows[n] = static_cast<float>(values[n] / kBetaScale);
            return rows;
        };
        src.parameters["betas_sources"].push_back(file_identity(session.path));
        src.sessions.push_back(std::move(session));
    }

    // Design: NSD's 1-based indices.
    const std::string design_path = file_in(root, nsd::expdesign_file());
    const MatMatrix master = read_mat(design_path, "masterordering");
    const MatMatrix subjectim = read_mat(design_path, "subjectim");
    const MatMatrix sharedix = read_mat(design_path, "sharedix");
    if (subjectim.rows < o.subject)
        throw Error(design_path, "field 'subjectim' has " + std::to_string(subjectim.rows) + " rows; subject " + std::to_string(o.subject) + " needs one");
    const int64_t shared_count = sharedix.rows * sharedix.cols;
    const int64_t trials_needed = static_cast<int64_t>(last) * nsd::kTrialsPerSession;
    if (master.rows * master.cols < trials_needed)
        throw Error(design_path, "field 'masterordering' has " + std::to_string(master.rows * master.cols) + " trials; sessions up to " +
                                     std::to_string(last) + " need " + std::to_string(trials_needed));
    for (size_t si = 0; si < src.sessions.size(); ++si)
        for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t) {
            const int64_t trial = (src.sessions[si].number - 1) * int64_t(nsd::kTrialsPerSession) + t;
            const double position = master.values[static_cast<size_t>(trial)];
            // Written so that NaN fails too (a comparison with NaN is false either way round).
            if (!(position >= 1 && position <= static_cast<double>(subjectim.cols)) || position != std::floor(position))
                throw Error(design_path, "field 'masterordering' has " + std::to_string(position) + " at trial " + std::to_string(trial + 1) +
                                             ", outside 1.." + std::to_string(subjectim.cols));
            const double nsd_id = subjectim.at(o.subject - 1, static_cast<int64_t>(position) - 1);
            if (!(nsd_id >= 1 && nsd_id <= kMaxNsdId) || nsd_id != std::floor(nsd_id))
                throw Error(design_path, "field 'subjectim' has " + std::to_string(nsd_id) + " for subject " + std::to_string(o.subject) + ", column " +
                                             std::to_string(static_cast<int64_t>(position)) + "; expected a 1-based nsdId");
            const int64_t id = static_cast<int64_t>(nsd_id) - 1;
            src.trials.push_back({static_cast<int>(si), t, id, static_cast<int64_t>(position) <= shared_count, trial + 1});
        }

    const std::string image_file = file_in(root, nsd::stimuli_file());
    src.images = [image_file, brick = std::make_shared<ImageBrickShape>()](const std::vector<int64_t>& ids) {
        if (brick->count == 0) *brick = image_brick_shape(image_file);
        for (const int64_t id : ids)
            if (id < 0 || id >= brick->count)
                throw Error(image_file, "has " + std::to_string(brick->count) + " images; nsdId " + std::to_string(id) + " is outside");
        const std::vector<uint8_t> pixels = read_image_brick_rows(image_file, ids);
        const size_t bytes = static_cast<size_t>(brick->height * brick->width * 3);
        std::vector<RgbImage> images;
        for (size_t i = 0; i < ids.size(); ++i)
            images.push_back({brick->height, brick->width, std::vector<uint8_t>(pixels.begin() + static_cast<std::ptrdiff_t>(i * bytes),
                                                                                pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * bytes))});
        return images;
    };

    // Captions: nsdId → cocoId/cocoSplit (stim info) → COCO captions.
    const std::string info_path = file_in(root, nsd::stim_info_file());
    const std::string coco_dir = o.coco_dir.empty() ? file_in(root, "annotations") : o.coco_dir;
    src.captions = [info_path, coco_dir](const std::vector<int64_t>& ids) {
        const CsvTable info = read_csv(info_path);
        const int c_nsd = info.require("nsdId", info_path), c_coco = info.require("cocoId", info_path), c_split = info.require("cocoSplit", info_path);
        std::map<int64_t, std::pair<int64_t, std::string>> coco_of;
        for (size_t r = 0; r < info.rows.size(); ++r)
            coco_of[info.integer(r, c_nsd, info_path)] = {info.integer(r, c_coco, info_path), info.rows[r][static_cast<size_t>(c_split)]};
        std::map<std::string, std::map<int64_t, std::vector<std::string>>> coco;
        json captions = json::array();
        for (int64_t id : ids) {
            auto it = coco_of.find(id);
            if (it == coco_of.end()) throw Error(info_path, "has no row for nsdId " + std::to_string(id));
            const auto& [coco_id, split] = it->second;
            if (!coco.count(split)) coco[split] = read_coco_captions((fs::path(coco_dir) / ("captions_" + split + ".json")).string());
            auto c = coco[split].find(coco_id);
            captions.push_back(c == coco[split].end() ? json::array() : json(c->second));
        }
        return captions;
    };
    src.source = {{"nsd_root", fs::absolute(root).string()}, {"nsdgeneral", src.mask_path}, {"expdesign", design_path},
                  {"stimuli", image_file}, {"stim_info", info_path}, {"coco", coco_dir}};
    return src;
}

}  // namespace soul::prepare_detail
