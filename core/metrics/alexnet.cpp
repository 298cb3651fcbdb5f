// AlexNet's convolutional features (Krizhevsky 2014, "One weird trick for parallelizing
// convolutional neural networks"), in torchvision's layout (torchvision/models/alexnet.py): the
// `features` Sequential, indexed as its checkpoint names it. MindEye2's evaluation takes
// features.4 (the ReLU after the second convolution, "AlexNet(2)") and features.11 (the ReLU after
// the fifth, "AlexNet(5)").
#include "metric_nets.h"

namespace soul::metrics {
namespace {

namespace nn = torch::nn;

struct AlexNetImpl : MetricNetwork {
    nn::Sequential features;
    static constexpr int kEarly = 4, kMid = 11;   // torchvision's indices of the two layers

    AlexNetImpl() {
        auto conv = [](int in, int out, int k, int stride, int pad) { return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad)); };
        auto pool = [] { return nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2)); };
        features = register_module("features", nn::Sequential(conv(3, 64, 11, 4, 2), nn::ReLU(), pool(), conv(64, 192, 5, 1, 2), nn::ReLU(), pool(),
                                                              conv(192, 384, 3, 1, 1), nn::ReLU(), conv(384, 256, 3, 1, 1), nn::ReLU(),
                                                              conv(256, 256, 3, 1, 1), nn::ReLU(), pool()));
    }
    std::vector<std::string> layer_names() const override { return {"features.4", "features.11"}; }
    std::vector<torch::Tensor> layers(torch::Tensor x) override {
        std::vector<torch::Tensor> out;
        int index = 0;
        for (auto& module : *features) {
            x = module.forward(x);
            if (index == kEarly || index == kMid) out.push_back(x);
            if (index++ == kMid) break;
        }
        return out;
    }
};

}  // namespace

std::shared_ptr<MetricNetwork> make_alexnet() { return std::make_shared<AlexNetImpl>(); }

}  // namespace soul::metrics
