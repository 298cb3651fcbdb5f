// Label tables and nearest-neighbour label resampling.
#include "soul/labels.h"

#include "soul/error.h"
#include "soul/printable.h"
#include "soul/nsd_layout.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace soul {

const Label* LabelTable::find(int value) const {
    auto it = labels_.find(value);
    return it == labels_.end() ? nullptr : &it->second;
}

std::string LabelTable::name_of(int value) const {
    const Label* l = find(value);
    return l ? l->name : "label " + std::to_string(value);
}

std::array<uint8_t, 3> LabelTable::colour_of(int value) const {
    const Label* l = find(value);
    return l ? l->rgb : generated_colour(value);
}

std::vector<Label> LabelTable::labels() const {
    std::vector<Label> out;
    out.reserve(labels_.size());
    for (const auto& [value, label] : labels_) out.push_back(label);
    return out;
}

std::array<uint8_t, 3> generated_colour(int value) {
    // Hue steps of the golden angle keep neighbouring label values far apart in colour.
    constexpr double kGoldenAngle = 137.508;
    const double hue = std::fmod(value * kGoldenAngle, 360.0) / 60.0;
    const double s = 0.65, v = 0.95;
    const double c = v * s, x = c * (1 - std::abs(std::fmod(hue, 2.0) - 1)), m = v - c;
    double r = 0, g = 0, b = 0;
    switch (static_cast<int>(hue)) {
        case 0: r = c; g = x; break;
        case 1: r = x; g = c; break;
        case 2: g = c; b = x; break;
        case 3: g = x; b = c; break;
        case 4: r = x; b = c; break;
        default: r = c; b = x; break;
    }
    auto to8 = [m](double u) { return static_cast<uint8_t>(std::lround((u + m) * 255)); };
    return {to8(r), to8(g), to8(b)};
}

LabelTable nsd_streams_table() {
    // Ventral "what" in warm colours, dorsal "where" in blues, early in grey-white, lateral green.
    LabelTable t("NSD streams");
    using namespace nsd;
    const std::pair<Stream, std::array<uint8_t, 3>> colours[] = {
        {kEarly, {230, 230, 230}}, {kMidventral, {255, 170, 60}}, {kMidlateral, {120, 200, 90}}, {kMidparietal, {90, 170, 255}},
        {kVentral, {230, 60, 40}}, {kLateral, {40, 150, 60}},      {kParietal, {40, 80, 220}}};
    for (const auto& [code, rgb] : colours) t.set({code, kStreamNames[code], rgb});
    return t;
}

LabelTable nsd_prf_visualrois_table() {
    LabelTable t("NSD prf-visualrois");
    t.set({1, "V1v", {255, 80, 80}});
    t.set({2, "V1d", {200, 30, 30}});
    t.set({3, "V2v", {80, 220, 80}});
    t.set({4, "V2d", {30, 150, 30}});
    t.set({5, "V3v", {90, 140, 255}});
    t.set({6, "V3d", {30, 60, 200}});
    t.set({7, "hV4", {240, 200, 40}});
    return t;
}

namespace {

bool is_binary_lut(const std::string& path) {
    std::error_code ec;
    return fs::file_size(path, ec) == 768;
}

LabelTable read_binary_lut(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> bytes(768);
    in.read(reinterpret_cast<char*>(bytes.data()), 768);
    if (in.gcount() != 768) throw Error(path, "is a truncated colour table (expected 768 bytes)");
    LabelTable t(fs::path(path).filename().string());
    for (int v = 1; v < 256; ++v) t.set({v, "label " + std::to_string(v), {bytes[v], bytes[256 + v], bytes[512 + v]}});
    return t;
}

LabelTable read_text_table(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "cannot be opened for reading");
    LabelTable t(fs::path(path).filename().string());
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        std::istringstream fields(line);
        std::vector<std::string> parts;
        for (std::string p; fields >> p;) parts.push_back(p);
        if (parts.empty()) continue;
        auto bad = [&](const std::string& why) {
            return Error(path, "line " + std::to_string(line_number) + ": " + why + " (\"" + printable(line) + "\")");
        };
        if (parts.size() < 2) throw bad("expected \"value name\"");
        Label label;
        try {
            size_t used = 0;
            label.value = std::stoi(parts[0], &used);
            if (used != parts[0].size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
            throw bad("the label value is not an integer");
        }
        label.name = parts[1];
        label.rgb = generated_colour(label.value);
        if (parts.size() >= 5) {
            // "value name r g b [a]": colours given; a lone code (AAL's 2001) is not a colour.
            try {
                std::array<int, 3> rgb{std::stoi(parts[2]), std::stoi(parts[3]), std::stoi(parts[4])};
                for (int c : rgb)
                    if (c < 0 || c > 255) throw bad("colour components must be 0..255");
                label.rgb = {static_cast<uint8_t>(rgb[0]), static_cast<uint8_t>(rgb[1]), static_cast<uint8_t>(rgb[2])};
            } catch (const Error&) {
                throw;
            } catch (const std::exception&) {
                throw bad("the colour is not three integers");
            }
        }
        t.set(label);
    }
    if (t.empty()) throw Error(path, "lists no labels");
    return t;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

}  // namespace

LabelTable read_label_table(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path, "no such file");
    const std::string ext = lower(fs::path(path).extension().string());
    if (ext == ".lut" && is_binary_lut(path)) return read_binary_lut(path);
    return read_text_table(path);
}

LabelTable label_table_for(const std::string& volume_path, const Volume& labels) {
    const std::string file = lower(fs::path(volume_path).filename().string());
    if (file.rfind("streams", 0) == 0) return nsd_streams_table();
    if (file.rfind("prf-visualrois", 0) == 0) return nsd_prf_visualrois_table();

    LabelTable table(fs::path(volume_path).filename().string());
    const std::string txt = volume_path + ".txt", lut = volume_path + ".lut";
    // mricron-data names them aal.nii.txt next to aal.nii.gz.
    std::string stem = volume_path;
    if (stem.size() > 3 && lower(stem.substr(stem.size() - 3)) == ".gz") stem.resize(stem.size() - 3);
    const std::string txt2 = stem + ".txt", lut2 = stem + ".lut";
    std::error_code ec;
    std::optional<LabelTable> names, colours;
    for (const auto& p : {txt, txt2})
        if (!names && fs::exists(p, ec)) names = read_label_table(p);
    for (const auto& p : {lut, lut2})
        if (!colours && fs::exists(p, ec)) colours = read_label_table(p);
    for (int value : present_labels(labels)) {
        Label l{value, "label " + std::to_string(value), generated_colour(value)};
        if (names)
            if (const Label* n = names->find(value)) {
                l.name = n->name;
                l.rgb = n->rgb;
            }
        if (colours)
            if (const Label* c = colours->find(value)) l.rgb = c->rgb;
        table.set(l);
    }
    if (names)
        for (const Label& n : names->labels())
            if (!table.find(n.value)) table.set(n);
    return table;
}

std::vector<int> present_labels(const Volume& labels) {
    std::set<int> values;
    const size_t n = static_cast<size_t>(labels.frame_size());
    for (size_t i = 0; i < n; ++i) {
        const int v = static_cast<int>(std::lround(labels.voxels[i]));
        if (v > 0) values.insert(v);
    }
    return {values.begin(), values.end()};
}

Volume resample_nearest(const Volume& labels, const Volume& target, float outside) {
    Volume out = Volume::zeros_like(target, outside);
    out.datatype = labels.datatype;
    out.path = labels.path;
    // target voxel → RAS → source voxel.
    const Affine map = labels.ijk_to_ras.inverse() * target.ijk_to_ras;
    const auto& d = target.dims;
    for (int64_t k = 0; k < d[2]; ++k)
        for (int64_t j = 0; j < d[1]; ++j)
            for (int64_t i = 0; i < d[0]; ++i) {
                const auto s = map.apply(static_cast<double>(i), static_cast<double>(j), static_cast<double>(k));
                const int64_t si = std::llround(s[0]), sj = std::llround(s[1]), sk = std::llround(s[2]);
                if (labels.contains(si, sj, sk)) out.voxels[out.index(i, j, k)] = labels.at(si, sj, sk);
            }
    return out;
}

Volume read_labels_onto(const std::string& path, const Volume& image, bool* resampled) {
    Volume labels = read_nifti_frame(path, 0);
    if (resampled) *resampled = false;
    if (same_grid(labels, image)) return labels;
    // Refuse a label volume that does not overlap the image at all.
    const Affine to_labels = labels.ijk_to_ras.inverse() * image.ijk_to_ras;
    bool overlap = false;
    for (int corner = 0; corner < 8 && !overlap; ++corner) {
        const double i = (corner & 1) ? image.dims[0] - 1 : 0, j = (corner & 2) ? image.dims[1] - 1 : 0,
                     k = (corner & 4) ? image.dims[2] - 1 : 0;
        const auto s = to_labels.apply(i, j, k);
        overlap = labels.contains(std::llround(s[0]), std::llround(s[1]), std::llround(s[2]));
    }
    Volume out = resample_nearest(labels, image);
    if (!overlap && present_labels(out).empty())
        throw Error(path, "does not overlap the image " + (image.path.empty() ? std::string("volume") : image.path) +
                              " (its voxels lie elsewhere in RAS space): is it the right subject?");
    if (resampled) *resampled = true;
    return out;
}

}  // namespace soul
