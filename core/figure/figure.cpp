// Figures from reconstructions (see soul/figure.h).
#include "soul/figure.h"

#include "../infer/settings_json.h"
#include "soul/error.h"
#include "soul/json_text.h"
#include "soul/printable.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

using json = nlohmann::json;

namespace soul {

namespace {

constexpr int64_t kCell = 128;   // a cell's side at scale 1 (64-px images drawn 2×)
constexpr int64_t kGap = 6;      // white space between cells at scale 1
// Trials in one figure: a page's worth of rows; more would be a poster, not a figure, and the
// canvas of a hand-edited description must not be able to ask for gigabytes.
constexpr size_t kMaxTrials = 64;

// A white canvas of rows × columns cells.
RgbImage canvas(int64_t rows, int64_t columns, int scale) {
    RgbImage c;
    c.width = columns * kCell * scale + (columns + 1) * kGap * scale;
    c.height = rows * kCell * scale + (rows + 1) * kGap * scale;
    c.pixels.assign(static_cast<size_t>(c.width * c.height * 3), 255);
    return c;
}

// Draws `image` into cell (row, column), nearest-neighbour scaled to fill it (palettes stay blocks).
void draw(RgbImage& c, const RgbImage& image, int64_t row, int64_t column, int scale) {
    if (image.width <= 0 || image.height <= 0) return;
    const int64_t side = kCell * scale, x0 = kGap * scale + column * (side + kGap * scale), y0 = kGap * scale + row * (side + kGap * scale);
    for (int64_t y = 0; y < side; ++y)
        for (int64_t x = 0; x < side; ++x) {
            const int64_t sx = x * image.width / side, sy = y * image.height / side;
            for (int ch = 0; ch < 3; ++ch)
                c.pixels[static_cast<size_t>(((y0 + y) * c.width + x0 + x) * 3 + ch)] = image.pixels[static_cast<size_t>((sy * image.width + sx) * 3 + ch)];
        }
}

void check_scale(int scale) {
    if (scale < 1 || scale > 4) throw Error("export: the scale must be 1 to 4, not " + std::to_string(scale));
}

}  // namespace

RgbImage compose_comparison(const std::vector<Reconstruction>& rows, int scale) {
    check_scale(scale);
    if (rows.empty()) throw Error("export: a comparison needs at least one trial");
    size_t samples = 0;
    for (const auto& r : rows) samples = std::max(samples, r.samples.size());
    RgbImage c = canvas(static_cast<int64_t>(rows.size()), static_cast<int64_t>(samples) + 4, scale);
    for (size_t i = 0; i < rows.size(); ++i) {
        const auto row = static_cast<int64_t>(i);
        int64_t column = 0;
        draw(c, rows[i].stimulus, row, column++, scale);
        for (size_t k = 0; k < samples; ++k, ++column)
            if (k < rows[i].samples.size()) draw(c, rows[i].samples[k], row, column, scale);
        draw(c, rows[i].low_level, row, column++, scale);
        draw(c, rows[i].palette, row, column++, scale);
        draw(c, rows[i].edges, row, column++, scale);
    }
    return c;
}

RgbImage compose_denoising(const std::vector<DenoisePreview>& frames, int scale) {
    check_scale(scale);
    if (frames.empty()) throw Error("export: a denoising strip needs the denoising steps (none were recorded)");
    RgbImage c = canvas(2, static_cast<int64_t>(frames.size()), scale);
    for (size_t i = 0; i < frames.size(); ++i) {
        draw(c, frames[i].predicted, 0, static_cast<int64_t>(i), scale);
        draw(c, frames[i].noisy, 1, static_cast<int64_t>(i), scale);
    }
    return c;
}

RgbImage compose_dissociation(const std::vector<std::vector<Reconstruction>>& columns, int scale) {
    check_scale(scale);
    if (columns.empty() || columns.front().empty()) throw Error("export: a dissociation figure needs at least one trial");
    const size_t trials = columns.front().size();
    RgbImage c = canvas(static_cast<int64_t>(trials), static_cast<int64_t>(columns.size()) + 1, scale);
    for (size_t t = 0; t < trials; ++t) {
        draw(c, columns.front()[t].stimulus, static_cast<int64_t>(t), 0, scale);
        for (size_t k = 0; k < columns.size(); ++k)
            if (t < columns[k].size() && !columns[k][t].samples.empty())
                draw(c, columns[k][t].samples.front(), static_cast<int64_t>(t), static_cast<int64_t>(k) + 1, scale);
    }
    return c;
}

ViewDescription read_view_description(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "no such file (a view description)");
    ViewDescription v;
    try {
        const json j = json::parse(in);
        if (!j.is_object()) throw Error(path, "is not a view description (a JSON object with run, trials, kind, settings)");
        for (const auto& [key, _] : j.items())
            if (key != "run" && key != "data" && key != "kind" && key != "scale" && key != "trials" && key != "settings")
                throw Error(path, "key '" + printable(key) + "' is not part of a view description (run, data, kind, scale, trials, settings)");
        v.run = j.at("run").get<std::string>();
        v.data = j.value("data", std::string());
        v.kind = j.value("kind", std::string("comparison"));
        if (j.contains("scale") && !j["scale"].is_number_integer()) throw Error(path, "scale must be a whole number 1 to 4");
        v.scale = j.value("scale", 1);
        const json& trials = j.at("trials");
        if (!trials.is_array()) throw Error(path, "trials must be a list of {\"split\": \"test\" or \"train\", \"row\": N}");
        if (trials.size() > kMaxTrials)
            throw Error(path, "names " + std::to_string(trials.size()) + " trials; a figure holds at most " + std::to_string(kMaxTrials));
        for (const auto& t : trials) {
            if (!t.is_object()) throw Error(path, "trials: each trial must be {\"split\": \"test\" or \"train\", \"row\": N}");
            const std::string split = t.value("split", std::string("test"));
            if (split != "test" && split != "train") throw Error(path, "trials: split must be test or train, not '" + printable(split) + "'");
            if (!t.at("row").is_number_integer() || t["row"].get<int64_t>() < 0)
                throw Error(path, "trials: row must be a whole number from 0, not " + printable(t["row"].dump()));
            v.trials.push_back({split == "test" ? Split::Test : Split::Train, t["row"].get<int64_t>()});
        }
        v.settings = reconstruction_settings_from_json(j.value("settings", json::object()), path);
    } catch (const json::exception& e) {
        throw Error(path, std::string("is not a view description: ") + e.what());
    }
    if (v.kind != "comparison" && v.kind != "denoising" && v.kind != "dissociation")
        throw Error(path, "kind must be comparison, denoising or dissociation, not '" + printable(v.kind) + "'");
    if (v.trials.empty()) throw Error(path, "names no trial");
    if (v.scale < 1 || v.scale > 4) throw Error(path, "scale must be 1 to 4, not " + std::to_string(v.scale));
    return v;
}

void write_view_description(const ViewDescription& v, const std::string& path) {
    json trials = json::array();
    for (const auto& t : v.trials) trials.push_back({{"split", t.split == Split::Test ? "test" : "train"}, {"row", t.row}});
    const json j = {{"run", v.run},
                    {"data", v.data},
                    {"kind", v.kind},
                    {"scale", v.scale},
                    {"trials", trials},
                    {"settings", to_json(v.settings)}};
    write_file_atomically(path, json_text(j, 2));
}

std::string export_figure(const ViewDescription& v, const std::string& png, const Progress& progress) {
    check_scale(v.scale);
    Steps report(progress, 2);
    report("opening " + v.run);
    ReconstructionEngine engine(v.run, v.data);
    report("reconstructing " + std::to_string(v.trials.size()) + " trial(s)");
    ReconstructionSettings s = v.settings;
    if (v.kind == "dissociation") {
        // One column per pathway off; the view's own stream settings are replaced by each row's.
        std::vector<std::vector<Reconstruction>> columns;
        for (const auto& groups : dissociation_pathways(engine.stream_groups())) {
            s.ablate = groups;
            columns.push_back(engine.reconstruct(v.trials, s, progress));
        }
        write_png(png, compose_dissociation(columns, v.scale));
        report.done();
        return png;
    }
    std::vector<DenoisePreview> frames;
    if (v.kind == "denoising") s.previews = true;
    const auto rows = engine.reconstruct(v.kind == "denoising" ? std::vector<TrialRef>{v.trials.front()} : v.trials, s, progress,
                                         [&](size_t, const DenoisePreview& p) {
                                             if (p.sample == 0) frames.push_back(p);
                                         });
    write_png(png, v.kind == "denoising" ? compose_denoising(frames, v.scale) : compose_comparison(rows, v.scale));
    report.done();
    return png;
}

}  // namespace soul
