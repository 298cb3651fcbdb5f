// EfficientNet-B1 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling for Convolutional
// Neural Networks") in torchvision's layout (torchvision/models/efficientnet.py: MBConv blocks with
// squeeze-and-excitation, width ×1.0, depth ×1.1, BatchNorm ε 1e-5). Stochastic depth and dropout
// act only in training. MindEye2's evaluation takes its avgpool output (1280 values).
#include "metric_nets.h"

#include <cmath>

namespace soul::metrics {
namespace {

namespace nn = torch::nn;

constexpr double kDepthMultiplier = 1.1;   // B1's compound scaling of the block counts
constexpr int kLastChannels = 1280;        // 4 × the last stage's 320

// A Sequential that can sit inside another (LibTorch's own forward is a template).
struct ChainImpl : nn::SequentialImpl {
    using SequentialImpl::SequentialImpl;
    torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(Chain);

// torchvision's Conv2dNormActivation: Sequential(conv, bn[, SiLU]), keys "0.weight", "1.running_mean".
Chain conv_norm(int in, int out, int k, int stride = 1, int groups = 1, bool activation = true) {
    Chain s(nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding((k - 1) / 2).groups(groups).bias(false)), nn::BatchNorm2d(out));
    if (activation) s->push_back(nn::SiLU());
    return s;
}

struct SqueezeExcitationImpl : nn::Module {
    nn::Conv2d fc1{nullptr}, fc2{nullptr};
    SqueezeExcitationImpl(int channels, int squeeze) {
        fc1 = register_module("fc1", nn::Conv2d(nn::Conv2dOptions(channels, squeeze, 1)));
        fc2 = register_module("fc2", nn::Conv2d(nn::Conv2dOptions(squeeze, channels, 1)));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        auto scale = torch::sigmoid(fc2(torch::silu(fc1(x.mean({2, 3}, true)))));
        return x * scale;
    }
};
TORCH_MODULE(SqueezeExcitation);

struct MBConvImpl : nn::Module {
    nn::Sequential block;
    bool residual;
    MBConvImpl(int expand, int kernel, int stride, int in, int out) : residual(stride == 1 && in == out) {
        const int expanded = in * expand;
        if (expanded != in) block->push_back(conv_norm(in, expanded, 1));
        block->push_back(conv_norm(expanded, expanded, kernel, stride, expanded));
        block->push_back(SqueezeExcitation(expanded, std::max(1, in / 4)));
        block->push_back(conv_norm(expanded, out, 1, 1, 1, false));
        register_module("block", block);
    }
    torch::Tensor forward(const torch::Tensor& x) {
        auto y = block->forward(x);
        return residual ? y + x : y;
    }
};
TORCH_MODULE(MBConv);

struct EfficientNetB1Impl : MetricNetwork {
    nn::Sequential features;
    EfficientNetB1Impl() {
        struct Stage { int expand, kernel, stride, in, out, layers; };
        // torchvision's _efficientnet_conf for the B series, before depth scaling.
        const Stage stages[] = {{1, 3, 1, 32, 16, 1}, {6, 3, 2, 16, 24, 2}, {6, 5, 2, 24, 40, 2}, {6, 3, 2, 40, 80, 3},
                                {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1}};
        features->push_back(conv_norm(3, 32, 3, 2));
        for (const Stage& s : stages) {
            Chain stage;
            const int layers = static_cast<int>(std::ceil(s.layers * kDepthMultiplier));
            for (int i = 0; i < layers; ++i) stage->push_back(MBConv(s.expand, s.kernel, i == 0 ? s.stride : 1, i == 0 ? s.in : s.out, s.out));
            features->push_back(stage);
        }
        features->push_back(conv_norm(320, kLastChannels, 1));
        register_module("features", features);
    }
    std::vector<std::string> layer_names() const override { return {"avgpool"}; }
    std::vector<torch::Tensor> layers(torch::Tensor x) override { return {features->forward(x).mean({2, 3})}; }
};

}  // namespace

std::shared_ptr<MetricNetwork> make_efficientnet_b1() { return std::make_shared<EfficientNetB1Impl>(); }

}  // namespace soul::metrics
