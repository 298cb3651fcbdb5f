// Decoder plugins (decoder_plugin.h): TorchScript modules (torch::jit::load, the format
// torch.jit.script(...).save writes) behind the BrainDecoder interface.
#include "decoder_plugin.h"

#include "../train/caption_table.h"

#include "../model/targets.h"
#include "../util/fnv1a.h"
#include "soul/error.h"

#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;
using nlohmann::json;

namespace soul::infer {

namespace F = torch::nn::functional;

namespace {

// The outputs a plugin may give (DecodedConditions' fields but the image embedding, which only the
// run's own encoders define).
const std::set<std::string> kOutputs = {"low_level", "palette", "edges", "caption"};
// Names the built-in decoders take.
const std::set<std::string> kReservedNames = {"souldiffuser", "mlp", "ridge", "baseline"};
constexpr int64_t kMaxOutputSide = 1024;     // an image output's side
constexpr int64_t kMaxCaptionWidth = 65536;  // a caption embedding's width

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

bool valid_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 &&
           std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; });
}

// An output's shape as the manifest must give it: images (C, H, H) with C of the condition, the
// palette (3, 8, 8), the caption (D).
std::string shape_problem(const std::string& output, const std::vector<int64_t>& shape) {
    if (output == "caption") return shape.size() == 1 && shape[0] > 0 && shape[0] <= kMaxCaptionWidth ? "" : "must be [D], the caption embedding's width";
    const int64_t channels = output == "edges" ? 1 : 3;
    if (output == "palette")
        return shape == std::vector<int64_t>{3, model::kPaletteSide, model::kPaletteSide} ? "" : "must be [3, 8, 8] (the paper's 8×8 palette)";
    const bool ok = shape.size() == 3 && shape[0] == channels && shape[1] == shape[2] && shape[1] > 0 && shape[1] <= kMaxOutputSide;
    return ok ? "" : "must be [" + std::to_string(channels) + ", H, H] with 1 ≤ H ≤ " + std::to_string(kMaxOutputSide);
}

class PluginDecoder final : public BrainDecoder {
public:
    PluginDecoder(DecoderPlugin plugin, const train::LoadedRun& run, torch::Device device)
        : plugin_(std::move(plugin)), image_size_(run.config.image_size), device_(device) {
        const std::string file = module_path();
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) throw Error(file, "the module of decoder plugin '" + plugin_.name + "' is missing");
        try {
            module_ = torch::jit::load(file, device);
        } catch (const std::exception& e) {   // c10::Error, or a JIT exception the script raised
            throw Error(file, "is not a TorchScript module LibTorch " + std::string(TORCH_VERSION) + " can read (" + first_line(e.what()) + ")");
        }
        module_.eval();
    }

    std::string title() const override { return plugin_.title; }

    DecodedConditions decode(const torch::Tensor& betas, const Progress& progress) override {
        progress.check();
        torch::NoGradGuard no_grad;
        c10::IValue out;
        try {
            out = module_.forward({betas.detach().to(device_, torch::kFloat).contiguous()});
        } catch (const std::exception& e) {   // c10::Error, or a JIT exception the script raised
            throw Error(module_path(), "decoder plugin '" + plugin_.name + "' failed on a batch of " + std::to_string(betas.size(0)) + " × " +
                                           std::to_string(betas.size(1)) + " betas: " + first_line(e.what()));
        }
        if (!out.isGenericDict()) throw Error(module_path(), "forward must return Dict[str, Tensor], not " + out.tagKind());
        std::map<std::string, torch::Tensor> outputs;
        for (const auto& entry : out.toGenericDict()) {
            if (!entry.key().isString() || !entry.value().isTensor()) throw Error(module_path(), "forward must return Dict[str, Tensor]");
            outputs[entry.key().toStringRef()] = entry.value().toTensor();
        }
        DecodedConditions d;
        for (const auto& [name, shape] : plugin_.outputs) {
            const auto it = outputs.find(name);
            if (it == outputs.end()) throw Error(module_path(), "forward gave no '" + name + "', which " + std::string(kDecoderPluginManifest) + " declares");
            std::vector<int64_t> expected = {betas.size(0)};
            expected.insert(expected.end(), shape.begin(), shape.end());
            const torch::Tensor t = it->second.to(device_, torch::kFloat);
            if (t.sizes().vec() != expected)
                throw Error(module_path(), "output '" + name + "' is " + shape_text(t.sizes().vec()) + ", not " + shape_text(expected) + " as declared");
            if (!torch::isfinite(t).all().item<bool>()) throw Error(module_path(), "output '" + name + "' holds NaN or infinite values");
            if (name == "caption") d.caption = F::normalize(t, F::NormalizeFuncOptions().dim(1));
            else if (name == "palette") d.palette = t.clamp(0, 1);
            else if (name == "low_level") d.low_level = resized(t);
            else d.edges = resized(t);
        }
        return d;
    }

private:
    std::string module_path() const { return (fs::path(plugin_.folder) / plugin_.module).string(); }
    static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }
    // An image output at the encoders' size (what the built-in decoders give), in [0, 1].
    torch::Tensor resized(const torch::Tensor& t) const {
        if (t.size(2) == image_size_) return t.clamp(0, 1);
        return F::interpolate(t, F::InterpolateFuncOptions().size(std::vector<int64_t>{image_size_, image_size_}).mode(torch::kBilinear).align_corners(false))
            .clamp(0, 1);
    }

    DecoderPlugin plugin_;
    int64_t image_size_;
    torch::Device device_;
    torch::jit::script::Module module_;
};

}  // namespace

DecoderPlugin read_decoder_plugin(const std::string& folder) {
    const std::string file = (fs::path(folder) / kDecoderPluginManifest).string();
    std::ifstream in(file);
    if (!in) throw Error(file, "cannot be read (a decoder plugin folder holds decoder.json and its TorchScript module)");
    json j;
    try {
        j = json::parse(in);
    } catch (const json::exception& e) {
        throw Error(file, std::string("is not valid JSON: ") + e.what());
    }
    auto field = [&](const char* key, json::value_t type, const char* what) -> const json& {
        if (!j.is_object() || !j.contains(key)) throw Error(file, std::string("has no \"") + key + "\" (" + what + ")");
        const json& v = j.at(key);
        if (v.type() != type) throw Error(file, std::string("\"") + key + "\" must be " + what);
        return v;
    };
    if (field("format", json::value_t::string, "\"souldiffuser-decoder-plugin\"").get<std::string>() != "souldiffuser-decoder-plugin")
        throw Error(file, "\"format\" is not \"souldiffuser-decoder-plugin\"");
    const json& version = j.contains("format_version") ? j.at("format_version") : json();
    if (!version.is_number_integer() || version.get<int64_t>() != kDecoderPluginFormatVersion)
        throw Error(file, "\"format_version\" must be " + std::to_string(kDecoderPluginFormatVersion) + " (the version this program reads)");
    DecoderPlugin p;
    p.folder = folder;
    p.name = field("name", json::value_t::string, "a string").get<std::string>();
    if (!valid_name(p.name)) throw Error(file, "\"name\" '" + p.name + "' must be 1–64 of a–z, 0–9, '-' and '_' (it is what --decoder takes)");
    if (kReservedNames.count(p.name)) throw Error(file, "\"name\" '" + p.name + "' is a built-in decoder's; choose another");
    p.title = j.contains("title") && j.at("title").is_string() ? j.at("title").get<std::string>() : p.name + " (plugin)";
    p.module = field("module", json::value_t::string, "the TorchScript file's name, in the plugin's folder").get<std::string>();
    if (p.module.empty() || fs::path(p.module).is_absolute() || p.module.find("..") != std::string::npos)
        throw Error(file, "\"module\" must be a file name inside the plugin's folder, not '" + p.module + "'");
    p.dataset = field("dataset", json::value_t::object, "the fingerprint of the prepared dataset it was trained on");
    if (!p.dataset.contains("voxels") || !p.dataset.at("voxels").is_number_integer() || p.dataset.at("voxels").get<int64_t>() <= 0)
        throw Error(file, "\"dataset\" has no positive \"voxels\" count");
    const json& outputs = field("outputs", json::value_t::object, "an object of output name → shape");
    if (outputs.empty()) throw Error(file, "\"outputs\" is empty: a decoder gives at least one of low_level, palette, edges, caption");
    for (const auto& [name, shape] : outputs.items()) {
        if (!kOutputs.count(name)) throw Error(file, "output '" + name + "' is not one of low_level, palette, edges, caption");
        std::vector<int64_t> dims;
        if (!shape.is_array()) throw Error(file, "output '" + name + "' must be a shape, an array of integers");
        for (const json& dim : shape) {
            if (!dim.is_number_integer()) throw Error(file, "output '" + name + "' must be a shape, an array of integers");
            dims.push_back(dim.get<int64_t>());
        }
        const std::string problem = shape_problem(name, dims);
        if (!problem.empty()) throw Error(file, "output '" + name + "' is " + shape_text(dims) + ": it " + problem);
        p.outputs[name] = dims;
    }
    if (p.outputs.count("caption"))
        p.caption_space = field("caption_space", json::value_t::string, "the caption space its caption embeddings are in (souldiffuser export-targets writes it)")
                              .get<std::string>();
    return p;
}

std::vector<DecoderPlugin> find_decoder_plugins(const std::vector<std::string>& dirs, std::vector<std::string>& problems) {
    std::vector<DecoderPlugin> found;
    std::set<std::string> names;
    for (const std::string& dir : dirs) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<fs::path> folders;
        for (const auto& entry : fs::directory_iterator(dir, ec))
            if (entry.is_directory(ec) && fs::exists(entry.path() / kDecoderPluginManifest, ec)) folders.push_back(entry.path());
        std::sort(folders.begin(), folders.end());
        for (const fs::path& folder : folders) {
            try {
                DecoderPlugin plugin = read_decoder_plugin(folder.string());
                if (names.insert(plugin.name).second) found.push_back(std::move(plugin));
            } catch (const Error& e) {
                problems.push_back(e.what());
            }
        }
    }
    return found;
}

std::string caption_space(train::LoadedRun& run) {
    Fnv1a weights;   // over each parameter's name and its values as float32, or over the caption table
    torch::NoGradGuard no_grad;
    auto mix = [&](const std::string& name, const torch::Tensor& value) {
        weights.mix(name.data(), name.size());
        const torch::Tensor t = value.detach().to(torch::kCPU, torch::kFloat).contiguous();
        weights.mix(t.data_ptr(), static_cast<size_t>(t.numel()) * sizeof(float));
    };
    const bool table = run.data.caption_table.defined();
    if (table)
        mix("caption_table", run.data.caption_table);
    else
        for (const auto& item : run.models.embedding->named_parameters()) mix(item.key(), item.value());
    char text[32];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(weights.hash));
    return std::string(table ? "caption-table:" : "text-encoder:") + text;
}

std::string plugin_mismatch(const DecoderPlugin& p, const train::LoadedRun& run, const std::string& run_caption_space) {
    const json& mine = run.data.fingerprint;
    if (p.dataset != mine) {
        const bool voxels = p.dataset.value("voxels", json()) != mine.value("voxels", json());
        return "trained on another dataset (" +
               (voxels ? p.dataset.value("voxels", json()).dump() + " voxels, this run's dataset has " + mine.value("voxels", json()).dump()
                       : std::string("another voxel table or split")) +
               ")";
    }
    if (p.outputs.count("caption")) {
        if (p.caption_space != run_caption_space)
            return "its captions are in another text encoder's space (" + p.caption_space + ", this run's is " + run_caption_space +
                   "): export the targets of this run";
        if (const int64_t width = train::caption_dim(run.config, run.data); p.outputs.at("caption").front() != width)
            return "its caption is " + std::to_string(p.outputs.at("caption").front()) + " wide, this run's " + std::to_string(width);
    }
    return "";
}

std::unique_ptr<BrainDecoder> make_plugin_decoder(const DecoderPlugin& plugin, const train::LoadedRun& run, torch::Device device) {
    return std::make_unique<PluginDecoder>(plugin, run, device);
}

}  // namespace soul::infer
