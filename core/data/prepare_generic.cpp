// The generic layout for fMRI datasets other than NSD (docs/datasets.md, "Other fMRI datasets"):
//   ROOT/trials.csv        one row per trial: betas,volume,image[,split][,caption]
//   ROOT/rois/mask.nii.gz  the visual mask (>= 1 inside), the grid of every betas file
//   ROOT/rois/streams.nii.gz, ROOT/rois/prf-visualrois.nii.gz   optional, NSD's label codes
// `betas` is a NIfTI 4D file relative to ROOT (each file is z-scored on its own, like an NSD
// session), `volume` its 1-based frame, `image` a PNG or JPEG relative to ROOT, `split` train or
// test (default: images shown in more than one trial are test), `caption` one or more captions
// separated by " | ".
#include "prepare_source.h"

#include "soul/error.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul::prepare_detail {
namespace {

constexpr const char* kTrialsFile = "trials.csv";
constexpr const char* kCaptionSeparator = " | ";

std::string first_existing(const fs::path& root, const std::string& stem) {
    for (const char* ext : {".nii.gz", ".nii"})
        if (fs::exists(root / (stem + ext))) return (root / (stem + ext)).string();
    return {};
}

std::vector<std::string> split_captions(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t end = text.find(kCaptionSeparator, start);
        std::string piece = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        const size_t a = piece.find_first_not_of(' '), b = piece.find_last_not_of(' ');
        if (a != std::string::npos) out.push_back(piece.substr(a, b - a + 1));
        if (end == std::string::npos) break;
        start = end + std::string(kCaptionSeparator).size();
    }
    return out;
}

}  // namespace

bool is_generic_layout(const std::string& root) { return fs::exists(fs::path(root) / kTrialsFile); }

RawSource open_generic_source(const PrepareOptions& o) {
    if (o.first_session != 1 || o.last_session != 0) throw Error("prepare: --sessions applies to the NSD layout; the generic layout uses every row of trials.csv");
    if (o.betas_format != "nifti") throw Error("prepare: the generic layout reads NIfTI betas; --betas " + o.betas_format + " applies to NSD only");
    const fs::path root(o.nsd_root);
    const std::string table_path = (root / kTrialsFile).string();
    const CsvTable table = read_csv(table_path);
    const int c_betas = table.require("betas", table_path), c_volume = table.require("volume", table_path),
              c_image = table.require("image", table_path);
    const int c_split = table.column("split"), c_caption = table.column("caption");
    if (table.rows.empty()) throw Error(table_path, "has no trials");

    RawSource src;
    src.layout = "generic";
    src.mask_path = first_existing(root / "rois", "mask");
    if (src.mask_path.empty()) throw Error((root / "rois" / "mask.nii.gz").string(), "no such file: the generic layout needs the visual mask rois/mask.nii.gz");
    src.mask = read_nifti_frame(src.mask_path, 0);
    for (auto [name, volume] : {std::pair{"streams", &src.streams}, std::pair{"prf-visualrois", &src.visualrois}}) {
        const std::string path = first_existing(root / "rois", name);
        *volume = path.empty() ? Volume::zeros_like(src.mask) : read_roi_on_grid(path, src.mask, src.mask_path);
    }

    // Images and betas files in order of first appearance; trials in row order.
    std::map<std::string, int> session_of;
    std::map<std::string, int64_t> frames_in;
    std::map<std::string, int64_t> image_of;
    std::vector<std::string> image_files;
    std::vector<std::vector<std::string>> captions;
    std::map<int64_t, int> shown;
    std::vector<int> split_of_row;   // 1 train, 2 test, 0 unset
    for (size_t r = 0; r < table.rows.size(); ++r) {
        const auto& row = table.rows[r];
        const std::string where = "row " + std::to_string(r + 2);   // the header is line 1
        const std::string betas = row[static_cast<size_t>(c_betas)], image = row[static_cast<size_t>(c_image)];
        if (betas.empty() || image.empty()) throw Error(table_path, where + ": 'betas' and 'image' must not be empty");
        int64_t volume = 0;
        try {
            size_t used = 0;
            volume = std::stoll(row[static_cast<size_t>(c_volume)], &used);
            if (used != row[static_cast<size_t>(c_volume)].size()) throw std::invalid_argument("trailing text");
        } catch (const std::exception&) {
            throw Error(table_path, where + ": 'volume' must be a 1-based frame number, not '" + row[static_cast<size_t>(c_volume)] + "'");
        }
        if (volume < 1) throw Error(table_path, where + ": 'volume' is 1-based; " + std::to_string(volume) + " is not a frame");
        if (!session_of.count(betas)) {
            const std::string path = (root / betas).string();
            const VolumeHeader h = read_nifti_header(path);
            Volume grid;
            grid.dims = h.dims;
            grid.ijk_to_ras = h.ijk_to_ras;
            if (!same_grid(grid, src.mask))
                throw Error(path, "is on another grid than " + src.mask_path + " (" + std::to_string(h.dims[0]) + "x" + std::to_string(h.dims[1]) +
                                      "x" + std::to_string(h.dims[2]) + " vs " + std::to_string(src.mask.dims[0]) + "x" +
                                      std::to_string(src.mask.dims[1]) + "x" + std::to_string(src.mask.dims[2]) + ")");
            if (h.frames < 1) throw Error(path, "has no frames");
            RawSession s;
            s.number = static_cast<int>(src.sessions.size()) + 1;
            s.path = path;
            session_of[betas] = static_cast<int>(src.sessions.size());
            frames_in[betas] = h.frames;
            src.sessions.push_back(std::move(s));
        }
        RawSession& session = src.sessions[static_cast<size_t>(session_of[betas])];
        const int64_t frames_in_file = frames_in[betas];
        if (volume > frames_in_file)
            throw Error(table_path, where + ": volume " + std::to_string(volume) + " is beyond the " + std::to_string(frames_in_file) + " frames of " + session.path);
        if (!image_of.count(image)) {
            image_of[image] = static_cast<int64_t>(image_files.size());
            image_files.push_back(image);
            captions.emplace_back();
        }
        const int64_t id = image_of[image];
        if (c_caption >= 0)
            for (auto& c : split_captions(row[static_cast<size_t>(c_caption)]))
                if (std::find(captions[static_cast<size_t>(id)].begin(), captions[static_cast<size_t>(id)].end(), c) == captions[static_cast<size_t>(id)].end())
                    captions[static_cast<size_t>(id)].push_back(c);
        int split = 0;
        if (c_split >= 0) {
            const std::string text = row[static_cast<size_t>(c_split)];
            if (text == "train") split = 1;
            else if (text == "test") split = 2;
            else if (!text.empty()) throw Error(table_path, where + ": 'split' must be train or test, not '" + text + "'");
        }
        split_of_row.push_back(split);
        ++shown[id];
        src.trials.push_back({session_of[betas], static_cast<int64_t>(session.frames.size()), id, false, static_cast<int64_t>(r + 1)});
        session.frames.push_back(volume - 1);
    }
    // Test: as the split column says; where it is empty, images shown more than once.
    int max_test_repeats = 0;
    std::map<int64_t, int> test_images;
    for (size_t r = 0; r < src.trials.size(); ++r) {
        auto& t = src.trials[r];
        t.test = split_of_row[r] == 2 || (split_of_row[r] == 0 && shown[t.image] > 1);
        if (t.test) max_test_repeats = std::max(max_test_repeats, ++test_images[t.image]);
    }
    for (auto& t : src.trials)
        if (!t.test && test_images.count(t.image))
            throw Error(table_path, "image " + image_files[static_cast<size_t>(t.image)] + " is in both splits (trial " + std::to_string(t.number) + ")");
    src.complete_repeats = max_test_repeats;

    for (auto& s : src.sessions) {
        const std::string path = s.path;
        const std::array<int64_t, 3> grid = src.mask.dims;
        const std::vector<int64_t> frames = s.frames;
        s.read = [path, grid, frames](const std::vector<int64_t>& voxels) {
            NiftiSeries series(path);
            const size_t V = voxels.size();
            std::vector<float> rows(frames.size() * V);
            for (size_t t = 0; t < frames.size(); ++t) {
                const Volume f = series.frame(frames[t]);
                for (size_t v = 0; v < V; ++v) rows[t * V + v] = f.voxels[static_cast<size_t>(voxels[v])];
            }
            return rows;
        };
    }

    src.parameters = {{"layout", "generic"}, {"trials", file_identity(table_path)}, {"betas_sources", json::array()}};
    for (const auto& s : src.sessions) src.parameters["betas_sources"].push_back(file_identity(s.path));
    src.images = [root, image_files](const std::vector<int64_t>& ids) {
        std::vector<RgbImage> images;
        for (const int64_t id : ids) images.push_back(read_rgb_image((root / image_files[static_cast<size_t>(id)]).string()));
        return images;
    };
    src.captions = [captions](const std::vector<int64_t>& ids) {
        json out = json::array();
        for (int64_t id : ids) out.push_back(captions[static_cast<size_t>(id)]);
        return out;
    };
    src.image_names = image_files;
    src.source = {{"root", fs::absolute(root).string()}, {"trials", table_path}, {"mask", src.mask_path}};
    return src;
}

}  // namespace soul::prepare_detail
