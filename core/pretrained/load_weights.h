// A published weight file into a LibTorch module, key for key: every parameter and buffer of the
// module present in the file with its exact shape, no key in the file the module does not know
// (apart from the layout's unused prefixes), F16/BF16/F64 converted to the module's type. Reads
// torch.save files and safetensors (core/io/weight_files.h) by the file's extension.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace soul::pretrained {

// How a publisher's key names map onto a module's.
struct WeightLayout {
    std::string network;                        // named in errors: "CLIP ViT-L/14's text encoder"
    std::vector<std::string> strip_prefixes;    // the first that a key starts with is removed ("bert.")
    std::vector<std::string> unused_prefixes;   // heads the module does not need: accepted, not loaded
    // Old names of the same tensors, by suffix: {"LayerNorm.gamma", "LayerNorm.weight"}.
    std::vector<std::pair<std::string, std::string>> renamed_suffixes;
    // Any other renaming, after the prefix and suffixes (another layout of the same network).
    std::function<std::string(const std::string&)> rename;
    // A 1×1 convolution's (C, C, 1, 1) weight read into a linear layer's (C, C): how the original
    // Stable Diffusion files store the VAE's attention projections.
    bool linear_from_1x1_convolution = false;
};

// The key names in a weight file, as stored (to tell variants apart: a CLIP text tower with or
// without its projection).
std::vector<std::string> weight_names(const std::string& path);
// Every key with its shape, as stored: a single file's sizes are read from these
// (single_file_sizes.h), since it carries no config.
using WeightShapes = std::map<std::string, std::vector<int64_t>>;
WeightShapes weight_shapes(const std::string& path);
// A shape as the loader's messages write it: "(320, 4, 3, 3)".
std::string shape_text(const std::vector<int64_t>& shape);

// The module's parameters and buffers with their shapes: what a file must hold.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_keys(torch::nn::Module& net);

// Throws soul::Error(path, ...) naming the key (missing, unknown, mis-shaped, integers where
// floating point belongs); `net` is left untouched on error, since everything is converted first.
void load_weights(torch::nn::Module& net, const std::string& path, const WeightLayout& layout);
// What load_weights checks of the keys and shapes, without the data: a key list written down from
// a published config (tests/data/*.keys) against the module the engine builds for it. `path`
// names the list in errors.
void check_weight_shapes(torch::nn::Module& net, const std::string& path, const WeightShapes& shapes, const WeightLayout& layout);

}  // namespace soul::pretrained
