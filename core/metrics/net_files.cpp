// The published files of the metric networks and where they come from (metric_nets.h); the list
// docs/nsd-metrics.md gives the user.
#include "metric_nets.h"

#include <stdexcept>

namespace soul::metrics {

std::shared_ptr<MetricNetwork> make_alexnet();
std::shared_ptr<MetricNetwork> make_inception_v3();
std::shared_ptr<MetricNetwork> make_efficientnet_b1();
std::shared_ptr<MetricNetwork> make_resnet50();

const std::vector<NetFile>& net_files() {
    // torchvision names its files <arch>-<first 8 hex digits of the SHA-256>.pth (docs/nsd-metrics.md
    // lists them for `sha256sum`). The weights are
    // the ones MindEye2's evaluation loads: AlexNet_Weights.IMAGENET1K_V1,
    // Inception_V3_Weights.DEFAULT, EfficientNet_B1_Weights.DEFAULT (IMAGENET1K_V2) and SwAV's
    // torch.hub "resnet50" (800 epochs).
    static const std::vector<NetFile> kFiles = {
        {NetId::AlexNet, "AlexNet", "alexnet-owt-7be5be79.pth", "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "",
         {"classifier."}},
        {NetId::InceptionV3, "Inception v3", "inception_v3_google-0cc3c7bd.pth", "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
         "", {"AuxLogits.", "fc."}},
        {NetId::EfficientNetB1, "EfficientNet-B1", "efficientnet_b1-c27df63c.pth", "https://download.pytorch.org/models/efficientnet_b1-c27df63c.pth",
         "", {"classifier."}},
        {NetId::SwAV, "SwAV ResNet-50", "swav_800ep_pretrain.pth.tar", "https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar",
         "module.", {"projection_head.", "prototypes.", "fc."}},
        // Hugging Face's folder for the model, as cloned or downloaded; the file holds the text tower too.
        {NetId::Clip, "CLIP ViT-L/14", "clip-vit-large-patch14/model.safetensors",
         "https://huggingface.co/openai/clip-vit-large-patch14 (model.safetensors)", "",
         {"text_model.", "text_projection.", "logit_scale", "vision_model.embeddings.position_ids"}},
    };
    return kFiles;
}

const NetFile& net_file(NetId id) {
    for (const auto& f : net_files())
        if (f.id == id) return f;
    throw std::logic_error("net_file: unknown network");
}

std::shared_ptr<MetricNetwork> make_network(NetId id) {
    std::shared_ptr<MetricNetwork> net;
    switch (id) {
        case NetId::AlexNet: net = make_alexnet(); break;
        case NetId::InceptionV3: net = make_inception_v3(); break;
        case NetId::EfficientNetB1: net = make_efficientnet_b1(); break;
        case NetId::SwAV: net = make_resnet50(); break;
        case NetId::Clip: net = make_clip_vision({}); break;
    }
    net->eval();
    return net;
}

}  // namespace soul::metrics
