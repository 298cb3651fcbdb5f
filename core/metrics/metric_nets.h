// The networks of the field's standard NSD evaluation (nsd_metrics.h), rebuilt in LibTorch with
// the exact module names of their published checkpoints, so that the user's own `.pth` files load
// key for key with no Python step:
//   AlexNet (Krizhevsky 2014, "One weird trick"; torchvision's alexnet), layers features.4 and
//     features.11 as MindEye2 indexes "AlexNet(2)" and "AlexNet(5)";
//   Inception v3 (Szegedy et al. 2016; torchvision's inception_v3, transform_input on as its
//     pretrained weights set it), layer avgpool;
//   EfficientNet-B1 (Tan & Le 2019; torchvision's efficientnet_b1), layer avgpool;
//   SwAV's ResNet-50 (Caron et al. 2020; torchvision's resnet50, the layout SwAV's torch.hub entry
//     loads its checkpoint into), layer avgpool;
//   CLIP ViT-L/14's vision tower (Radford et al. 2021; Hugging Face's
//     CLIPVisionModelWithProjection, read from the model.safetensors of openai/clip-vit-large-patch14),
//     its image embedding.
// Each network reads its input already resized and normalised (nsd_metrics.cpp does it per metric).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace soul::metrics {

enum class NetId { AlexNet, InceptionV3, EfficientNetB1, SwAV, Clip };

// One network: its feature layers by name, computed in one pass.
struct MetricNetwork : torch::nn::Module {
    virtual std::vector<std::string> layer_names() const = 0;
    virtual std::vector<torch::Tensor> layers(torch::Tensor x) = 0;   // (N, 3, H, W) → one per layer_names()
};

// What a network's file is and how its keys map onto the module.
struct NetFile {
    NetId id;
    const char* name;             // "AlexNet"
    const char* file;             // the published file's name (a path under --metric-nets DIR); .safetensors or torch.save's
    const char* source;           // where the user gets it (named in the report when the file is absent)
    const char* strip_prefix;     // removed from every key first ("module." in SwAV's file)
    std::vector<std::string> unused_prefixes;   // heads the features do not need: accepted, not loaded
};

const std::vector<NetFile>& net_files();
const NetFile& net_file(NetId id);

std::shared_ptr<MetricNetwork> make_network(NetId id);

// CLIP's vision tower at any size (the tests use a tiny one with the real key names).
struct ClipVisionConfig {
    int64_t hidden = 1024, layers = 24, heads = 16, intermediate = 4096, patch = 14, image = 224, projection = 768;   // ViT-L/14
};
std::shared_ptr<MetricNetwork> make_clip_vision(const ClipVisionConfig& config);

// The module's parameters and buffers with their shapes: what a file must hold (besides the
// unused heads).
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_keys(MetricNetwork& net);

// Loads `path` into `net`: every expected key present with its exact shape, no key the network
// does not know (after strip_prefix, apart from unused_prefixes); F16/BF16/F64 files converted to
// float32. Throws soul::Error(path, ...) naming the key; `net` is left untouched on error.
void load_network(MetricNetwork& net, const NetFile& spec, const std::string& path);

}  // namespace soul::metrics
