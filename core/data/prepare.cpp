// `souldiffuser prepare`: a raw dataset (NSD, the phantom, or the generic layout; each read into a
// prepare_detail::RawSource) → prepared dataset (design.md 4.3). Memory is bounded by one
// session's betas; sessions are z-scored and cached one by one in <out>.partial so that an
// interrupted run resumes where it stopped.
#include "soul/prepare.h"

#include "prepare_source.h"
#include "soul/dataset.h"
#include "soul/checksum.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/json_text.h"
#include "soul/labels.h"
#include "soul/output_folder.h"
#include "soul/version.h"
#include "soul/volume.h"

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
namespace prepare_detail {

json file_identity(const std::string& path) {
    const auto mtime = std::chrono::duration_cast<std::chrono::seconds>(fs::last_write_time(path).time_since_epoch()).count();
    return {{"path", path}, {"bytes", fs::file_size(path)}, {"mtime", mtime}};
}

Volume read_roi_on_grid(const std::string& path, const Volume& reference, const std::string& reference_path) {
    Volume v = read_nifti_frame(path, 0);
    if (!same_grid(v, reference))
        throw Error(path, "is on another grid than " + reference_path + " (" + std::to_string(v.dims[0]) + "x" + std::to_string(v.dims[1]) + "x" +
                              std::to_string(v.dims[2]) + " vs " + std::to_string(reference.dims[0]) + "x" + std::to_string(reference.dims[1]) +
                              "x" + std::to_string(reference.dims[2]) + ")");
    return v;
}

}  // namespace prepare_detail

namespace {
using namespace prepare_detail;

constexpr int kFormatVersion = 2;   // 2: the layout and the image names are recorded
constexpr size_t kImagesPerRead = 256;   // images asked of a source at once (NSD: one reader process each)

std::string cache_name(int session, const char* ext) {
    char name[32];
    std::snprintf(name, sizeof name, "session%02d%s", session, ext);
    return name;
}

// Sections of data.bin, 64-byte aligned, described in the manifest with their CRC-32
// ("checksum"), which opening the dataset verifies (dataset.cpp).
class SectionWriter {
public:
    explicit SectionWriter(const std::string& path) : path_(path), out_(path, std::ios::binary) {
        if (!out_) throw Error(path, "cannot be written (folder not writable?)");
    }
    void begin(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape) {
        close_section();
        align();
        json s = {{"name", name}, {"dtype", dtype}, {"shape", shape}, {"offset", offset_}};
        sections_.push_back(s);
        crc_ = 0;
    }
    void write(const void* data, size_t bytes) {
        crc_ = crc32_update(crc_, data, bytes);
        put(data, bytes);
    }
    json finish() {
        close_section();
        out_.close();
        if (!out_) throw Error(path_, "could not be written completely (disk full?)");
        return sections_;
    }

private:
    void close_section() {
        if (!sections_.empty() && !sections_.back().contains("checksum")) sections_.back()["checksum"] = checksum_text(crc_);
    }
    void put(const void* data, size_t bytes) {
        out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
        if (!out_) throw Error(path_, "could not be written completely (disk full?)");
        offset_ += bytes;
    }
    void align() {
        static const char zeros[64] = {};
        const size_t pad = (64 - offset_ % 64) % 64;
        put(zeros, pad);
    }
    std::string path_;
    std::ofstream out_;
    uint64_t offset_ = 0;
    uint32_t crc_ = 0;
    json sections_ = json::array();
};

// A folder prepare made: its manifest says so (a dataset being replaced, or an old format).
bool is_prepared_dataset(const fs::path& folder) {
    std::ifstream in(folder / "manifest.json");
    const json manifest = json::parse(in, nullptr, false);
    return manifest.is_object() && manifest.value("format", json()) == kPreparedFormat;
}

// NaN or inf inside the mask would turn a voxel's whole z-scored series into NaN: refused, naming
// the first, rather than trained on.
void refuse_non_finite(const std::string& path, const std::vector<float>& rows, const std::vector<int64_t>& voxels, const Volume& grid) {
    const auto first = std::find_if(rows.begin(), rows.end(), [](float x) { return !std::isfinite(x); });
    if (first == rows.end()) return;
    const auto count = std::count_if(first, rows.end(), [](float x) { return !std::isfinite(x); });
    const size_t at = static_cast<size_t>(first - rows.begin());
    const auto ijk = grid.ijk(voxels[at % voxels.size()]);
    throw Error(path, "has " + std::to_string(count) + " non-finite value" + (count == 1 ? "" : "s") + " (NaN or inf) inside the visual mask, the first " +
                          std::to_string(*first) + " at voxel (" + std::to_string(ijk[0]) + ", " + std::to_string(ijk[1]) + ", " +
                          std::to_string(ijk[2]) + ") of trial " + std::to_string(at / voxels.size()) +
                          " in the file; replace them or mask those voxels out before preparing");
}

}  // namespace

PrepareSummary prepare_dataset(const PrepareOptions& o, const Progress& progress) {
    const auto started = std::chrono::steady_clock::now();
    if (o.nsd_root.empty() || !fs::is_directory(o.nsd_root)) throw Error(o.nsd_root, "is not a folder (--nsd must be the NSD root or a dataset folder)");
    if (o.out.empty()) throw Error("prepare: --out is required");
    if (o.shared != "complete" && o.shared != "all") throw Error("prepare: --shared must be complete or all, not " + o.shared);
    if (o.image_size < 8 || o.image_size > 1024) throw Error("prepare: --image-size must be 8 to 1024");
    if (o.layout != "auto" && o.layout != "nsd" && o.layout != "generic") throw Error("prepare: --layout must be auto, nsd or generic, not " + o.layout);
    check_replaceable_output(o.out, "a prepared dataset", [](const std::string& folder) { return is_prepared_dataset(folder); });
    const bool generic = o.layout == "generic" || (o.layout == "auto" && is_generic_layout(o.nsd_root));
    RawSource src = generic ? open_generic_source(o) : open_nsd_source(o);
    const int sessions = static_cast<int>(src.sessions.size());

    json params = src.parameters;
    params["format_version"] = kFormatVersion;
    params["layout"] = src.layout;
    params["image_size"] = o.image_size;
    params["shared"] = o.shared;

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
    make_output_folder(partial);
    {
        std::ofstream probe(partial / ".write-test");
        if (!probe) throw Error(partial.string(), "is not writable");
    }
    fs::remove(partial / ".write-test");

    const int64_t steps = 3 + sessions + 2;
    Steps report(progress, steps);
    report("ROIs and design");

    // The crop box of the mask, and the voxels inside it.
    const Volume& general = src.mask;
    std::array<int64_t, 6> box{INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN};
    std::vector<int64_t> voxels;  // source indices inside the mask, x fastest
    for (int64_t k = 0; k < general.dims[2]; ++k)
        for (int64_t j = 0; j < general.dims[1]; ++j)
            for (int64_t i = 0; i < general.dims[0]; ++i)
                if (general.at(i, j, k) >= 1) {
                    voxels.push_back(static_cast<int64_t>(general.index(i, j, k)));
                    box = {std::min(box[0], i), std::max(box[1], i), std::min(box[2], j), std::max(box[3], j),
                           std::min(box[4], k), std::max(box[5], k)};
                }
    if (voxels.empty()) throw Error(src.mask_path, "has no voxel >= 1 (an empty visual mask)");
    const int64_t V = static_cast<int64_t>(voxels.size());

    // Sessions: the visual voxels, z-scored with the session's training trials.
    PrepareSummary summary;
    summary.sessions = sessions;
    std::vector<std::vector<bool>> is_train(src.sessions.size());
    for (size_t si = 0; si < src.sessions.size(); ++si) is_train[si].assign(src.sessions[si].frames.size(), false);
    for (const auto& t : src.trials) is_train[static_cast<size_t>(t.session)][static_cast<size_t>(t.row)] = !t.test;
    for (size_t si = 0; si < src.sessions.size(); ++si) {
        const RawSession& session = src.sessions[si];
        const int64_t T = static_cast<int64_t>(session.frames.size());
        const fs::path cache = partial / cache_name(session.number, ".f32"), marker = partial / cache_name(session.number, ".json");
        const json expected = {{"source", file_identity(session.path)}, {"voxels", V}, {"parameters", params}};
        if (fs::exists(cache) && fs::exists(marker)) {
            std::ifstream in(marker);
            json done;
            try { done = json::parse(in); } catch (const json::exception&) {}
            if (done == expected && fs::file_size(cache) == static_cast<uintmax_t>(T * V * 4)) {
                report("session " + std::to_string(session.number) + ": reused from an earlier run");
                ++summary.sessions_reused;
                continue;
            }
        }
        report("session " + std::to_string(session.number) + ": reading " + fs::path(session.path).filename().string());
        std::vector<float> rows = session.read(voxels);
        refuse_non_finite(session.path, rows, voxels, general);
        const auto& train = is_train[si];
        const int64_t n_train = std::count(train.begin(), train.end(), true);
        if (n_train < 2) throw Error(session.path, "has fewer than 2 training trials: cannot z-score");
        for (int64_t v = 0; v < V; ++v) {
            double sum = 0, sq = 0;
            for (int64_t t = 0; t < T; ++t)
                if (train[static_cast<size_t>(t)]) {
                    const double x = rows[static_cast<size_t>(t * V + v)];
                    sum += x;
                    sq += x * x;
                }
            const double mean = sum / n_train, sd = std::sqrt(std::max(0.0, sq / n_train - mean * mean));
            const double inv = sd > 1e-12 ? 1 / sd : 0;  // a constant voxel (all zero) stays 0
            for (int64_t t = 0; t < T; ++t) {
                float& x = rows[static_cast<size_t>(t * V + v)];
                x = static_cast<float>((x - mean) * inv);
            }
        }
        {
            std::ofstream f(cache, std::ios::binary);
            f.write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size() * 4));
            if (!f) throw Error(cache.string(), "could not be written (disk full?)");
        }
        write_file_atomically(marker.string(), json_text(expected));
    }

    // Split: training rows (single trials), test images (repeats averaged).
    report("splits, images and captions");
    std::vector<const RawTrial*> train_rows;
    std::map<int64_t, std::vector<const RawTrial*>> test_trials;  // image id → its trials
    for (const auto& t : src.trials) {
        if (t.test) test_trials[t.image].push_back(&t);
        else train_rows.push_back(&t);
    }
    std::vector<int64_t> test_ids;
    for (const auto& [id, trials] : test_trials)
        if (o.shared == "all" || static_cast<int>(trials.size()) >= src.complete_repeats) test_ids.push_back(id);
    std::vector<int64_t> ids;
    for (const auto* r : train_rows) ids.push_back(r->image);
    ids.insert(ids.end(), test_ids.begin(), test_ids.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::map<int64_t, int32_t> image_index;
    for (size_t i = 0; i < ids.size(); ++i) image_index[ids[i]] = static_cast<int32_t>(i);
    const json captions = src.captions(ids);

    // data.bin.
    const std::string data_path = (partial / "data.bin").string();
    SectionWriter data(data_path);
    const int64_t n_train = static_cast<int64_t>(train_rows.size()), n_test = static_cast<int64_t>(test_ids.size());
    auto read_row = [&](const RawTrial& t, std::vector<float>& row) {
        std::ifstream cache(partial / cache_name(src.sessions[static_cast<size_t>(t.session)].number, ".f32"), std::ios::binary);
        cache.seekg(static_cast<std::streamoff>(t.row * V * 4));
        cache.read(reinterpret_cast<char*>(row.data()), V * 4);
        if (!cache) throw Error((partial / cache_name(src.sessions[static_cast<size_t>(t.session)].number, ".f32")).string(), "is shorter than expected");
    };
    data.begin("train_betas", "float32", {n_train, V});
    {
        std::vector<float> row(static_cast<size_t>(V));
        for (const auto* r : train_rows) {
            read_row(*r, row);
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
            for (const auto* trial : test_trials[id]) {
                read_row(*trial, row);
                for (int64_t v = 0; v < V; ++v) sum[static_cast<size_t>(v)] += row[static_cast<size_t>(v)];
            }
            const double n = static_cast<double>(test_trials[id].size());
            for (int64_t v = 0; v < V; ++v) mean[static_cast<size_t>(v)] = static_cast<float>(sum[static_cast<size_t>(v)] / n);
            data.write(mean.data(), static_cast<size_t>(V * 4));
            repeats.push_back(static_cast<int32_t>(test_trials[id].size()));
        }
    }
    std::vector<int32_t> train_image, train_trial, test_image, nsd_ids(ids.begin(), ids.end());
    for (const auto* r : train_rows) {
        train_image.push_back(image_index[r->image]);
        train_trial.push_back(static_cast<int32_t>(r->number));
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
            stream.push_back(static_cast<int8_t>(std::lround(src.streams.voxels[static_cast<size_t>(n)])));
            visual.push_back(static_cast<int8_t>(std::lround(src.visualrois.voxels[static_cast<size_t>(n)])));
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
    for (size_t first = 0; first < ids.size(); first += kImagesPerRead) {
        progress.check();
        const std::vector<int64_t> batch(ids.begin() + static_cast<std::ptrdiff_t>(first),
                                         ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), first + kImagesPerRead)));
        for (const RgbImage& image : src.images(batch)) {
            const auto resized = resize_rgb(image.pixels.data(), image.height, image.width, o.image_size);
            data.write(resized.data(), resized.size());
        }
    }
    const json sections = data.finish();
    write_file_atomically((partial / "captions.json").string(), json_text(captions));

    report("manifest");
    json m;
    m["format"] = kPreparedFormat;
    m["layout"] = src.layout;
    m["parameters"] = params;
    m["subject"] = src.subject;
    m["voxels"] = V;
    m["train_trials"] = n_train;
    m["test_images"] = n_test;
    m["images"] = ids.size();
    m["image_size"] = o.image_size;
    m["sections"] = sections;
    m["source"] = src.source;
    if (!src.image_names.is_null()) {
        json names = json::array();
        for (int64_t id : ids) names.push_back(src.image_names[static_cast<size_t>(id)]);
        m["image_files"] = names;
    }
    m["source_grid"] = {{"dims", general.dims}, {"ijk_to_ras", general.ijk_to_ras.m}};
    Affine crop = general.ijk_to_ras;
    const auto corner = general.ijk_to_ras.apply(static_cast<double>(box[0]), static_cast<double>(box[2]), static_cast<double>(box[4]));
    for (int r = 0; r < 3; ++r) crop(r, 3) = corner[static_cast<size_t>(r)];
    m["crop"] = {{"offset", {box[0], box[2], box[4]}}, {"dims", {box[1] - box[0] + 1, box[3] - box[2] + 1, box[5] - box[4] + 1}}, {"ijk_to_ras", crop.m}};
    m["preprocessing"] = {{"scale", src.layout == "nsd" ? "betas / 300 (percent signal change)" : "betas as stored"},
                          {"zscore", "per voxel and session (betas file), mean and SD of the session's training trials"},
                          {"train", src.layout == "nsd" ? "single trials of images that are not shared" : "single trials of training images"},
                          {"test", o.shared == "complete" ? "test images shown " + std::to_string(src.complete_repeats) + " times, repeats averaged"
                                                          : "every test image shown at least once, repeats averaged"},
                          {"images", "resized to " + std::to_string(o.image_size) + " px (area average down, bilinear up)"}};
    const LabelTable streams = nsd_streams_table();
    json per_stream = json::object();
    for (int code = 1; code <= 7; ++code) {
        int64_t count = 0;
        for (int64_t n : voxels) count += std::lround(src.streams.voxels[static_cast<size_t>(n)]) == code;
        per_stream[streams.name_of(code)] = count;
    }
    m["voxels_per_stream"] = per_stream;
    m["created_by"] = std::string("souldiffuser ") + SOUL_VERSION;
    write_file_atomically((partial / "manifest.json").string(), json_text(m, 2));

    // Swap in: the finished dataset replaces an older one; the session caches go.
    for (const auto& session : src.sessions) {
        fs::remove(partial / cache_name(session.number, ".f32"));
        fs::remove(partial / cache_name(session.number, ".json"));
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
