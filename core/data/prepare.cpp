// `souldiffuser prepare`: NSD (design.md 4.1) → prepared dataset (design.md 4.3).
// Memory is bounded by one session's betas; sessions are z-scored and cached one by one in
// <out>.partial so that an interrupted run resumes where it stopped.
#include "soul/prepare.h"

#include "soul/error.h"
#include "soul/formats.h"
#include "soul/labels.h"
#include "soul/nsd_layout.h"
#include "soul/version.h"
#include "soul/volume.h"

#include <hdf5.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {
namespace {

constexpr int kFormatVersion = 1;
constexpr double kBetaScale = 300.0;       // NSD stores percent signal change × 300 as int16
constexpr int kMaxSessions = 40;
constexpr int kRepeatsOfShared = 3;

std::string file_in(const std::string& root, const std::string& relative) { return (fs::path(root) / relative).string(); }

// HDF5 betas (NSD's .hdf5 variant): dataset `betas`, 750 × Z × Y × X int16.
std::vector<int16_t> read_hdf5_betas(const std::string& path, const std::array<int64_t, 3>& grid) {
    if (!fs::exists(path)) throw Error(path, "no such file (betas session missing?)");
    H5E_auto2_t old_fn;
    void* old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    struct Restore {
        H5E_auto2_t fn;
        void* data;
        ~Restore() { H5Eset_auto2(H5E_DEFAULT, fn, data); }
    } restore{old_fn, old_data};
    if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path, "is not an HDF5 file");
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) throw Error(path, "cannot be opened (truncated or damaged HDF5?)");
    if (H5Lexists(file, "betas", H5P_DEFAULT) <= 0) {
        H5Fclose(file);
        throw Error(path, "has no dataset 'betas'");
    }
    const hid_t set = H5Dopen2(file, "betas", H5P_DEFAULT);
    const hid_t space = H5Dget_space(set);
    hsize_t dims[4] = {0, 0, 0, 0};
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank == 4) H5Sget_simple_extent_dims(space, dims, nullptr);
    auto close = [&] {
        H5Sclose(space);
        H5Dclose(set);
        H5Fclose(file);
    };
    if (rank != 4 || dims[0] != static_cast<hsize_t>(nsd::kTrialsPerSession) || dims[1] != static_cast<hsize_t>(grid[2]) ||
        dims[2] != static_cast<hsize_t>(grid[1]) || dims[3] != static_cast<hsize_t>(grid[0])) {
        close();
        throw Error(path, "dataset 'betas' has shape " + std::to_string(dims[0]) + "x" + std::to_string(dims[1]) + "x" +
                              std::to_string(dims[2]) + "x" + std::to_string(dims[3]) + "; expected 750x" + std::to_string(grid[2]) +
                              "x" + std::to_string(grid[1]) + "x" + std::to_string(grid[0]) + " (trials x Z x Y x X of the ROI grid)");
    }
    std::vector<int16_t> values(static_cast<size_t>(dims[0] * dims[1] * dims[2] * dims[3]));
    const herr_t status = H5Dread(set, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    close();
    if (status < 0) throw Error(path, "dataset 'betas' could not be read (truncated file?)");
    return values;
}

// Resizes an RGB image with area averaging (down) or bilinear interpolation (up).
std::vector<uint8_t> resize_rgb(const uint8_t* in, int64_t in_h, int64_t in_w, int64_t out_size) {
    std::vector<uint8_t> out(static_cast<size_t>(out_size * out_size * 3));
    const double sy = static_cast<double>(in_h) / out_size, sx = static_cast<double>(in_w) / out_size;
    for (int64_t y = 0; y < out_size; ++y)
        for (int64_t x = 0; x < out_size; ++x)
            for (int c = 0; c < 3; ++c) {
                double value = 0;
                if (sy >= 1 && sx >= 1) {
                    const int64_t y0 = static_cast<int64_t>(y * sy), y1 = std::max(y0 + 1, static_cast<int64_t>((y + 1) * sy));
                    const int64_t x0 = static_cast<int64_t>(x * sx), x1 = std::max(x0 + 1, static_cast<int64_t>((x + 1) * sx));
                    double sum = 0;
                    for (int64_t yy = y0; yy < std::min(y1, in_h); ++yy)
                        for (int64_t xx = x0; xx < std::min(x1, in_w); ++xx) sum += in[(yy * in_w + xx) * 3 + c];
                    value = sum / ((std::min(y1, in_h) - y0) * (std::min(x1, in_w) - x0));
                } else {
                    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, in_h - 1.0), fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, in_w - 1.0);
                    const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
                    const int64_t y1 = std::min(y0 + 1, in_h - 1), x1 = std::min(x0 + 1, in_w - 1);
                    const double wy = fy - y0, wx = fx - x0;
                    value = (1 - wy) * ((1 - wx) * in[(y0 * in_w + x0) * 3 + c] + wx * in[(y0 * in_w + x1) * 3 + c]) +
                            wy * ((1 - wx) * in[(y1 * in_w + x0) * 3 + c] + wx * in[(y1 * in_w + x1) * 3 + c]);
                }
                out[static_cast<size_t>((y * out_size + x) * 3 + c)] = static_cast<uint8_t>(std::clamp(value + 0.5, 0.0, 255.0));
            }
    return out;
}

struct Source {
    std::string path;
    uintmax_t size = 0;
    int64_t mtime = 0;
};
Source source_of(const std::string& path) {
    Source s{path, fs::file_size(path), 0};
    s.mtime = std::chrono::duration_cast<std::chrono::seconds>(fs::last_write_time(path).time_since_epoch()).count();
    return s;
}
json to_json(const Source& s) { return {{"path", s.path}, {"bytes", s.size}, {"mtime", s.mtime}}; }

// Sections of data.bin, 64-byte aligned, described in the manifest.
class SectionWriter {
public:
    explicit SectionWriter(const std::string& path) : path_(path), out_(path, std::ios::binary) {
        if (!out_) throw Error(path, "cannot be written (folder not writable?)");
    }
    void begin(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape) {
        align();
        json s = {{"name", name}, {"dtype", dtype}, {"shape", shape}, {"offset", offset_}};
        sections_.push_back(s);
    }
    void write(const void* data, size_t bytes) {
        out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
        if (!out_) throw Error(path_, "could not be written completely (disk full?)");
        offset_ += bytes;
    }
    json finish() {
        out_.close();
        if (!out_) throw Error(path_, "could not be written completely (disk full?)");
        return sections_;
    }

private:
    void align() {
        static const char zeros[64] = {};
        const size_t pad = (64 - offset_ % 64) % 64;
        write(zeros, pad);
    }
    std::string path_;
    std::ofstream out_;
    uint64_t offset_ = 0;
    json sections_ = json::array();
};

}  // namespace

PrepareSummary prepare_dataset(const PrepareOptions& o, const Progress& progress) {
    const auto started = std::chrono::steady_clock::now();
    if (o.nsd_root.empty() || !fs::is_directory(o.nsd_root)) throw Error(o.nsd_root, "is not a folder (--nsd must be the NSD root)");
    if (o.out.empty()) throw Error("prepare: --out is required");
    if (o.subject < 1 || o.subject > 8) throw Error("prepare: --subject must be 1 to 8");
    if (o.betas_format != "nifti" && o.betas_format != "hdf5") throw Error("prepare: --betas must be nifti or hdf5, not " + o.betas_format);
    if (o.shared != "complete" && o.shared != "all") throw Error("prepare: --shared must be complete or all, not " + o.shared);
    if (o.image_size < 8 || o.image_size > 1024) throw Error("prepare: --image-size must be 8 to 1024");
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
    const int sessions = last - o.first_session + 1;

    const std::string image_file = file_in(root, nsd::stimuli_file());
    const std::string coco_dir = o.coco_dir.empty() ? file_in(root, "annotations") : o.coco_dir;
    json params = {{"format_version", kFormatVersion}, {"subject", o.subject}, {"sessions", {o.first_session, last}},
                   {"betas", o.betas_format}, {"image_size", o.image_size}, {"shared", o.shared}};
    std::vector<Source> sources;
    for (int s = o.first_session; s <= last; ++s) sources.push_back(source_of(betas_path(s)));
    params["betas_sources"] = json::array();
    for (const auto& s : sources) params["betas_sources"].push_back(to_json(s));

    // A complete dataset made with the same parameters from the same files: nothing to do.
    const fs::path out(o.out);
    if (fs::exists(out / "manifest.json")) {
        try {
            std::ifstream in(out / "manifest.json");
            const json old = json::parse(in);
            if (old.value("parameters", json()) == params) {
                PrepareSummary s;
                s.already_prepared = true;
                s.sessions = sessions;
                s.voxels = old["voxels"];
                s.train_trials = old["train_trials"];
                s.test_images = old["test_images"];
                s.images = old["images"];
                return s;
            }
        } catch (const json::exception&) {
            // an unreadable manifest: prepare again
        }
    }
    const fs::path partial = out.string() + ".partial";
    fs::create_directories(partial);
    {
        std::ofstream probe(partial / ".write-test");
        if (!probe) throw Error(partial.string(), "is not writable");
    }
    fs::remove(partial / ".write-test");

    const int64_t steps = 3 + sessions + 2;
    Steps report(progress, steps);

    // ROIs on one grid; the crop box of nsdgeneral.
    report("ROIs and design");
    const std::string general_path = file_in(root, nsd::roi_file(o.subject, "nsdgeneral"));
    const Volume general = read_nifti_frame(general_path, 0);
    std::map<std::string, Volume> rois;
    for (const char* name : {"streams", "prf-visualrois"}) {
        const std::string path = file_in(root, nsd::roi_file(o.subject, name));
        Volume v = read_nifti_frame(path, 0);
        if (!same_grid(v, general))
            throw Error(path, "is on another grid than " + general_path + " (" + std::to_string(v.dims[0]) + "x" + std::to_string(v.dims[1]) +
                                  "x" + std::to_string(v.dims[2]) + " vs " + std::to_string(general.dims[0]) + "x" +
                                  std::to_string(general.dims[1]) + "x" + std::to_string(general.dims[2]) + ")");
        rois[name] = std::move(v);
    }
    std::array<int64_t, 6> box{INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN};
    std::vector<int64_t> voxels;  // source indices inside nsdgeneral, x fastest
    for (int64_t k = 0; k < general.dims[2]; ++k)
        for (int64_t j = 0; j < general.dims[1]; ++j)
            for (int64_t i = 0; i < general.dims[0]; ++i)
                if (general.at(i, j, k) >= 1) {
                    voxels.push_back(static_cast<int64_t>(general.index(i, j, k)));
                    box = {std::min(box[0], i), std::max(box[1], i), std::min(box[2], j), std::max(box[3], j),
                           std::min(box[4], k), std::max(box[5], k)};
                }
    if (voxels.empty()) throw Error(general_path, "has no voxel >= 1 (an empty visual mask)");
    const int64_t V = static_cast<int64_t>(voxels.size());

    // Design: NSD's 1-based indices.
    const std::string design_path = file_in(root, nsd::expdesign_file());
    const MatMatrix master = read_mat(design_path, "masterordering");
    const MatMatrix subjectim = read_mat(design_path, "subjectim");
    const MatMatrix sharedix = read_mat(design_path, "sharedix");
    if (subjectim.rows < o.subject) throw Error(design_path, "field 'subjectim' has " + std::to_string(subjectim.rows) + " rows; subject " + std::to_string(o.subject) + " needs one");
    const int64_t shared_count = sharedix.rows * sharedix.cols;
    const int64_t trials_needed = static_cast<int64_t>(last) * nsd::kTrialsPerSession;
    if (master.rows * master.cols < trials_needed)
        throw Error(design_path, "field 'masterordering' has " + std::to_string(master.rows * master.cols) + " trials; sessions up to " +
                                     std::to_string(last) + " need " + std::to_string(trials_needed));
    auto trial_image = [&](int64_t trial) {  // 0-based trial → (0-based 73k id, shared?)
        const double position = master.values[static_cast<size_t>(trial)];
        if (position < 1 || position > subjectim.cols) throw Error(design_path, "field 'masterordering' has " + std::to_string(position) + " at trial " + std::to_string(trial + 1) + ", outside 1.." + std::to_string(subjectim.cols));
        const int64_t id = static_cast<int64_t>(subjectim.at(o.subject - 1, static_cast<int64_t>(position) - 1)) - 1;
        return std::make_pair(id, static_cast<int64_t>(position) <= shared_count);
    };

    // Sessions: betas / 300, the visual voxels, z-scored with the session's training trials.
    const std::array<int64_t, 3> grid = general.dims;
    PrepareSummary summary;
    summary.sessions = sessions;
    for (int s = o.first_session; s <= last; ++s) {
        char name[32];
        std::snprintf(name, sizeof name, "session%02d", s);
        const fs::path cache = partial / (std::string(name) + ".f32"), marker = partial / (std::string(name) + ".json");
        const json expected = {{"source", to_json(source_of(betas_path(s)))}, {"voxels", V}, {"parameters", params}};
        if (fs::exists(cache) && fs::exists(marker)) {
            std::ifstream in(marker);
            json done;
            try { done = json::parse(in); } catch (const json::exception&) {}
            if (done == expected && fs::file_size(cache) == static_cast<uintmax_t>(nsd::kTrialsPerSession * V * 4)) {
                report("session " + std::to_string(s) + ": reused from an earlier run");
                ++summary.sessions_reused;
                continue;
            }
        }
        report("session " + std::to_string(s) + ": reading " + fs::path(betas_path(s)).filename().string());
        std::vector<float> rows(static_cast<size_t>(nsd::kTrialsPerSession * V));
        if (o.betas_format == "nifti") {
            NiftiSeries series(betas_path(s));
            const auto& h = series.header();
            if (h.dims != grid || h.frames != nsd::kTrialsPerSession)
                throw Error(h.path, "has shape " + std::to_string(h.dims[0]) + "x" + std::to_string(h.dims[1]) + "x" + std::to_string(h.dims[2]) +
                                        "x" + std::to_string(h.frames) + "; expected " + std::to_string(grid[0]) + "x" + std::to_string(grid[1]) +
                                        "x" + std::to_string(grid[2]) + "x750 (the ROI grid, 750 trials)");
            for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t) {
                const Volume f = series.frame(t);
                for (int64_t v = 0; v < V; ++v)
                    rows[static_cast<size_t>(t * V + v)] = static_cast<float>(f.voxels[static_cast<size_t>(voxels[static_cast<size_t>(v)])] / kBetaScale);
            }
        } else {
            const auto values = read_hdf5_betas(betas_path(s), grid);
            // 750 × Z × Y × X in C order: the same voxel order as NIfTI's x-fastest volume.
            const int64_t frame = grid[0] * grid[1] * grid[2];
            for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t)
                for (int64_t v = 0; v < V; ++v)
                    rows[static_cast<size_t>(t * V + v)] = static_cast<float>(values[static_cast<size_t>(t * frame + voxels[static_cast<size_t>(v)])] / kBetaScale);
        }
        std::vector<bool> train(nsd::kTrialsPerSession);
        int64_t n_train = 0;
        for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t) {
            train[static_cast<size_t>(t)] = !trial_image((s - 1) * int64_t(nsd::kTrialsPerSession) + t).second;
            n_train += train[static_cast<size_t>(t)];
        }
        if (n_train < 2) throw Error(betas_path(s), "session has fewer than 2 training trials: cannot z-score");
        for (int64_t v = 0; v < V; ++v) {
            double sum = 0, sq = 0;
            for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t)
                if (train[static_cast<size_t>(t)]) {
                    const double x = rows[static_cast<size_t>(t * V + v)];
                    sum += x;
                    sq += x * x;
                }
            const double mean = sum / n_train, sd = std::sqrt(std::max(0.0, sq / n_train - mean * mean));
            const double inv = sd > 1e-12 ? 1 / sd : 0;  // a constant voxel (all zero) stays 0
            for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t) {
                float& x = rows[static_cast<size_t>(t * V + v)];
                x = static_cast<float>((x - mean) * inv);
            }
        }
        {
            std::ofstream f(cache, std::ios::binary);
            f.write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size() * 4));
            if (!f) throw Error(cache.string(), "could not be written (disk full?)");
        }
        write_file_atomically(marker.string(), expected.dump());
    }

    // Split: training rows (single trials of non-shared images), test images (repeats averaged).
    report("splits, images and captions");
    struct TrainRow {
        int session;
        int64_t trial;
        int64_t id;
    };
    std::vector<TrainRow> train_rows;
    std::map<int64_t, std::vector<int64_t>> test_trials;  // 73k id → global trial numbers
    for (int s = o.first_session; s <= last; ++s)
        for (int64_t t = 0; t < nsd::kTrialsPerSession; ++t) {
            const int64_t trial = (s - 1) * int64_t(nsd::kTrialsPerSession) + t;
            const auto [id, shared] = trial_image(trial);
            if (shared) test_trials[id].push_back(trial);
            else train_rows.push_back({s, t, id});
        }
    std::vector<int64_t> test_ids;
    for (const auto& [id, trials] : test_trials)
        if (o.shared == "all" || static_cast<int>(trials.size()) >= kRepeatsOfShared) test_ids.push_back(id);
    std::vector<int64_t> ids;
    for (const auto& r : train_rows) ids.push_back(r.id);
    ids.insert(ids.end(), test_ids.begin(), test_ids.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::map<int64_t, int32_t> image_index;
    for (size_t i = 0; i < ids.size(); ++i) image_index[ids[i]] = static_cast<int32_t>(i);

    // Captions: nsdId → cocoId/cocoSplit (stim info) → COCO captions.
    const std::string info_path = file_in(root, nsd::stim_info_file());
    const CsvTable info = read_csv(info_path);
    const int c_nsd = info.require("nsdId", info_path), c_coco = info.require("cocoId", info_path), c_split = info.require("cocoSplit", info_path);
    std::map<int64_t, std::pair<int64_t, std::string>> coco_of;
    for (const auto& row : info.rows) coco_of[std::stoll(row[static_cast<size_t>(c_nsd)])] = {std::stoll(row[static_cast<size_t>(c_coco)]), row[static_cast<size_t>(c_split)]};
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

    // data.bin.
    const ImageBrickShape brick = image_brick_shape(image_file);
    const std::string data_path = (partial / "data.bin").string();
    SectionWriter data(data_path);
    const int64_t n_train = static_cast<int64_t>(train_rows.size()), n_test = static_cast<int64_t>(test_ids.size());
    data.begin("train_betas", "float32", {n_train, V});
    {
        int current = -1;
        std::ifstream cache;
        std::vector<float> row(static_cast<size_t>(V));
        for (const auto& r : train_rows) {
            if (r.session != current) {
                char name[32];
                std::snprintf(name, sizeof name, "session%02d.f32", r.session);
                cache = std::ifstream(partial / name, std::ios::binary);
                current = r.session;
            }
            cache.seekg(static_cast<std::streamoff>(r.trial * V * 4));
            cache.read(reinterpret_cast<char*>(row.data()), V * 4);
            data.write(row.data(), static_cast<size_t>(V * 4));
        }
    }
    data.begin("test_betas", "float32", {n_test, V});
    std::vector<int32_t> repeats;
    {
        std::vector<double> sum(static_cast<size_t>(V));
        std::vector<float> row(static_cast<size_t>(V)), mean(static_cast<size_t>(V));
        for (int64_t id : test_ids) {
            std::fill(sum.begin(), sum.end(), 0.0);
            for (int64_t trial : test_trials[id]) {
                char name[32];
                std::snprintf(name, sizeof name, "session%02lld.f32", static_cast<long long>(trial / nsd::kTrialsPerSession + 1));
                std::ifstream cache(partial / name, std::ios::binary);
                cache.seekg(static_cast<std::streamoff>((trial % nsd::kTrialsPerSession) * V * 4));
                cache.read(reinterpret_cast<char*>(row.data()), V * 4);
                for (int64_t v = 0; v < V; ++v) sum[static_cast<size_t>(v)] += row[static_cast<size_t>(v)];
            }
            const double n = static_cast<double>(test_trials[id].size());
            for (int64_t v = 0; v < V; ++v) mean[static_cast<size_t>(v)] = static_cast<float>(sum[static_cast<size_t>(v)] / n);
            data.write(mean.data(), static_cast<size_t>(V * 4));
            repeats.push_back(static_cast<int32_t>(test_trials[id].size()));
        }
    }
    std::vector<int32_t> train_image, train_trial, test_image, nsd_ids(ids.begin(), ids.end());
    for (const auto& r : train_rows) {
        train_image.push_back(image_index[r.id]);
        train_trial.push_back(static_cast<int32_t>((r.session - 1) * int64_t(nsd::kTrialsPerSession) + r.trial + 1));
    }
    for (int64_t id : test_ids) test_image.push_back(image_index[id]);
    auto write_ints = [&](const char* name, const std::vector<int32_t>& v) {
        data.begin(name, "int32", {static_cast<int64_t>(v.size())});
        data.write(v.data(), v.size() * 4);
    };
    write_ints("train_image", train_image);
    write_ints("train_trial", train_trial);
    write_ints("test_image", test_image);
    write_ints("test_repeats", repeats);
    write_ints("image_nsd_id", nsd_ids);
    {
        std::vector<int16_t> ijk;
        std::vector<int8_t> stream, visual;
        for (int64_t n : voxels) {
            for (int64_t c : general.ijk(n)) ijk.push_back(static_cast<int16_t>(c));
            stream.push_back(static_cast<int8_t>(std::lround(rois["streams"].voxels[static_cast<size_t>(n)])));
            visual.push_back(static_cast<int8_t>(std::lround(rois["prf-visualrois"].voxels[static_cast<size_t>(n)])));
        }
        data.begin("voxel_ijk", "int16", {V, 3});
        data.write(ijk.data(), ijk.size() * 2);
        data.begin("voxel_stream", "int8", {V});
        data.write(stream.data(), stream.size());
        data.begin("voxel_visualroi", "int8", {V});
        data.write(visual.data(), visual.size());
        std::vector<uint8_t> mask;
        for (int64_t k = box[4]; k <= box[5]; ++k)
            for (int64_t j = box[2]; j <= box[3]; ++j)
                for (int64_t i = box[0]; i <= box[1]; ++i) mask.push_back(general.at(i, j, k) >= 1 ? 1 : 0);
        data.begin("crop_mask", "uint8", {box[5] - box[4] + 1, box[3] - box[2] + 1, box[1] - box[0] + 1});
        data.write(mask.data(), mask.size());
    }
    data.begin("images", "uint8", {static_cast<int64_t>(ids.size()), o.image_size, o.image_size, 3});
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i % 256 == 0) progress.check();
        if (ids[i] < 0 || ids[i] >= brick.count) throw Error(image_file, "has " + std::to_string(brick.count) + " images; nsdId " + std::to_string(ids[i]) + " is outside");
        const auto pixels = read_image_brick(image_file, ids[i], 1);
        const auto resized = resize_rgb(pixels.data(), brick.height, brick.width, o.image_size);
        data.write(resized.data(), resized.size());
    }
    const json sections = data.finish();
    write_file_atomically((partial / "captions.json").string(), captions.dump());

    report("manifest");
    json m;
    m["format"] = "souldiffuser-prepared";
    m["parameters"] = params;
    m["subject"] = o.subject;
    m["voxels"] = V;
    m["train_trials"] = n_train;
    m["test_images"] = n_test;
    m["images"] = ids.size();
    m["image_size"] = o.image_size;
    m["sections"] = sections;
    m["source"] = {{"nsd_root", fs::absolute(root).string()}, {"nsdgeneral", general_path}, {"expdesign", design_path},
                   {"stimuli", image_file}, {"stim_info", info_path}, {"coco", coco_dir}};
    m["source_grid"] = {{"dims", grid}, {"ijk_to_ras", general.ijk_to_ras.m}};
    Affine crop = general.ijk_to_ras;
    const auto corner = general.ijk_to_ras.apply(static_cast<double>(box[0]), static_cast<double>(box[2]), static_cast<double>(box[4]));
    for (int r = 0; r < 3; ++r) crop(r, 3) = corner[static_cast<size_t>(r)];
    m["crop"] = {{"offset", {box[0], box[2], box[4]}}, {"dims", {box[1] - box[0] + 1, box[3] - box[2] + 1, box[5] - box[4] + 1}}, {"ijk_to_ras", crop.m}};
    m["preprocessing"] = {{"scale", "betas / 300 (percent signal change)"},
                          {"zscore", "per voxel and session, mean and SD of the session's training trials"},
                          {"train", "single trials of images that are not shared"},
                          {"test", o.shared == "complete" ? "shared images shown 3 times in the sessions used, repeats averaged"
                                                          : "every shared image shown at least once, repeats averaged"},
                          {"images", "resized to " + std::to_string(o.image_size) + " px (area average down, bilinear up)"}};
    const LabelTable streams = nsd_streams_table();
    json per_stream = json::object();
    for (int code = 1; code <= 7; ++code) {
        int64_t count = 0;
        for (int64_t n : voxels) count += std::lround(rois["streams"].voxels[static_cast<size_t>(n)]) == code;
        per_stream[streams.name_of(code)] = count;
    }
    m["voxels_per_stream"] = per_stream;
    m["created_by"] = std::string("souldiffuser ") + SOUL_VERSION;
    write_file_atomically((partial / "manifest.json").string(), m.dump(2));

    // Swap in: the finished dataset replaces an older one; the session caches go.
    for (int s = o.first_session; s <= last; ++s) {
        char name[32];
        std::snprintf(name, sizeof name, "session%02d", s);
        fs::remove(partial / (std::string(name) + ".f32"));
        fs::remove(partial / (std::string(name) + ".json"));
    }
    if (fs::exists(out)) fs::remove_all(out);
    fs::rename(partial, out);
    summary.voxels = V;
    summary.train_trials = n_train;
    summary.test_images = n_test;
    summary.images = static_cast<int64_t>(ids.size());
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report.done();
    return summary;
}

}  // namespace soul
