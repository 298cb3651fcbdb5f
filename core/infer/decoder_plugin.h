// Decoder plugins (docs/decoder-plugins.md): a brain decoder written elsewhere — a researcher's
// Python model — exported as a TorchScript module beside a JSON manifest, and used like the
// built-in decoders (brain_decoder.h): betas of the prepared dataset's voxel table in, the
// generator's conditions out.
//
// A plugin folder holds decoder.json and the module it names:
//   {"format": "souldiffuser-decoder-plugin", "format_version": 1, "name": "linear",
//    "title": "...", "module": "decoder.pt",
//    "dataset": <the fingerprint of the prepared dataset it was trained on>,
//    "caption_space": "<the text encoder its caption embeddings are in>"   (with a caption output),
//    "outputs": {"low_level": [3, H, H], "palette": [3, 8, 8], "edges": [1, H, H], "caption": [D]}}
// forward(betas: Tensor (B, V) float32) -> Dict[str, Tensor], one (B, *shape) tensor per output.
#pragma once

#include "brain_decoder.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace soul::infer {

constexpr int kDecoderPluginFormatVersion = 1;
constexpr const char* kDecoderPluginManifest = "decoder.json";

struct DecoderPlugin {
    std::string folder;                              // the plugin's folder
    std::string name, title;
    std::string module;                              // the TorchScript file, a path in the folder
    nlohmann::json dataset;                          // the fingerprint of the dataset it was trained on
    std::string caption_space;                       // empty without a caption output
    std::map<std::string, std::vector<int64_t>> outputs;   // each output's shape, without the batch
};

// Reads and checks a plugin folder's decoder.json; throws soul::Error naming the file and the key.
DecoderPlugin read_decoder_plugin(const std::string& folder);

// Every plugin in `dirs` (each a folder of plugin folders), the first of a name winning; a folder
// whose manifest cannot be read is listed in `problems` with the reason, and skipped.
std::vector<DecoderPlugin> find_decoder_plugins(const std::vector<std::string>& dirs, std::vector<std::string>& problems);

// The identity of a run's caption embedding space: a hash of its text encoder's weights, or of
// its pretrained caption table (train/caption_table.h).
std::string caption_space(train::LoadedRun& run);

// Why the plugin cannot decode for this run ("" when it can): another dataset, another caption
// space or shapes that are not the run's.
std::string plugin_mismatch(const DecoderPlugin& plugin, const train::LoadedRun& run, const std::string& run_caption_space);

// Loads the module onto `device`; the first decode checks its outputs against the manifest.
// Throws soul::Error naming the module file when it cannot be read.
std::unique_ptr<BrainDecoder> make_plugin_decoder(const DecoderPlugin& plugin, const train::LoadedRun& run, torch::Device device);

}  // namespace soul::infer
