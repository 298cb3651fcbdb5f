// `souldiffuser export-model` (see soul/train.h): a trained run made small enough to ship.
#include "soul/train.h"

#include "caption_table.h"
#include "encoder_run.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/json_text.h"
#include "soul/output_folder.h"

#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {

using namespace soul::train;

namespace {

// The stages reconstruction needs, and what of each module only training uses.
struct Exported {
    std::string stage, file, omitted;
};
const std::vector<Exported> kExported = {
    {"embedding", "embedding.pt", ""},
    {"ssmnet", "ssmnet.pt", ""},
    {"sembert", "sembert.pt", ""},
    {"ec_decoder", "edgecolor.pt", "encoder."},   // EdgeColorNet's encoder serves the cycle stage only
    {"vae", "vae.pt", ""},
    {"unet", "unet.pt", ""},
    {"adapters", "adapters.pt", ""},
    {"classifier", "classifier.pt", ""},
};

}  // namespace

std::string export_model(const ExportModelOptions& o, const Progress& progress) {
    if (o.run.empty() || o.out.empty()) throw Error("export-model: the run folder and --out are required");
    if (fs::exists(o.out) && !fs::is_empty(o.out)) throw Error(o.out, "exists and is not empty; export-model writes a new folder");
    Steps report(progress, 2);
    report("loading " + o.run);
    LoadedRun run = load_run(o.run, "", torch::kCPU);
    const json info = read_json((fs::path(o.run) / "run.json").string());
    auto has = [&](const std::string& s) { return std::count(run.trained.begin(), run.trained.end(), s) > 0; };
    for (const auto& e : kExported)
        if (!has(e.stage)) throw Error(o.run, "has no finished '" + e.stage + "' stage; export-model ships a run that can reconstruct");

    report("writing " + o.out);
    make_output_folder(o.out);
    json out = info;
    out["dataset"]["path"] = "";
    out["exported"] = {{"from", fs::absolute(o.run).string()}, {"precision", o.half ? "float16" : "float32"},
                       {"left_out", {"baseline (the flattened MLP: evaluation only)", "EdgeColorNet's encoder (cycle training only)", "optimizer state"}}};
    json stages = json::object();
    std::ostringstream summary;
    summary << "exported " << o.run << " to " << o.out << " (" << (o.half ? "float16" : "float32") << "):\n";
    uintmax_t total = 0;
    for (const auto& e : kExported) {
        const std::string path = (fs::path(o.out) / e.file).string();
        const std::string checksum = save_weights(path, module_for(run.models, e.stage), o.half, e.omitted);
        const uintmax_t bytes = fs::file_size(path);
        total += bytes;
        summary << "  " << e.file << "  " << bytes / 1024 << " KiB\n";
        json stage = info["stages"][e.stage];
        stage["checkpoint"] = e.file;
        stage["checksum"] = checksum;
        stages[e.stage] = stage;
    }
    // The adapters for the user's Stable Diffusion, when trained (run.json keeps their record).
    if (has("sd_adapters")) {
        const std::string path = (fs::path(o.out) / "sd-adapters.pt").string();
        json stage = info["stages"]["sd_adapters"];
        stage["checkpoint"] = "sd-adapters.pt";
        stage["checksum"] = save_weights(path, *run.models.sd_adapters, o.half);
        stages["sd_adapters"] = stage;
        total += fs::file_size(path);
        summary << "  sd-adapters.pt  " << fs::file_size(path) / 1024 << " KiB\n";
    }
    // EdgeColorNet's earlier phases are in its one file.
    for (const char* phase : {"ec_encoder", "ec_cycle"})
        if (has(phase)) {
            json stage = info["stages"][phase];
            stage["checkpoint"] = "edgecolor.pt";
            stage.erase("checksum");   // the file is checked under 'edgecolor'
            stages[phase] = stage;
        }
    out["stages"] = stages;
    write_file_atomically((fs::path(o.out) / "run.json").string(), json_text(out, 2));
    fs::copy_file(fs::path(o.run) / "vocab.json", fs::path(o.out) / "vocab.json");
    if (run.data.caption_table.defined()) {   // the pretrained caption space SemBERT predicts, kept at float32
        fs::copy_file(fs::path(o.run) / kCaptionTableFile, fs::path(o.out) / kCaptionTableFile);
        const uintmax_t bytes = fs::file_size(fs::path(o.out) / kCaptionTableFile);
        total += bytes;
        summary << "  " << kCaptionTableFile << "  " << bytes / 1024 << " KiB\n";
    }
    summary << "  total " << total / 1024 << " KiB\n";
    report.done();
    return summary.str();
}

}  // namespace soul
