// ResNet-50 (He et al. 2016, "Deep Residual Learning for Image Recognition") in torchvision's
// layout (torchvision/models/resnet.py: Bottleneck blocks with the stride on the 3×3 convolution,
// "ResNet v1.5"), the network SwAV's torch.hub entry (facebookresearch/swav, hubconf.py) loads its
// self-supervised checkpoint into. MindEye2's evaluation takes its avgpool output (2048 values).
#include "metric_nets.h"

namespace soul::metrics {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int in, int out, int k, int stride = 1) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding((k - 1) / 2).bias(false));
}

struct BottleneckImpl : nn::Module {
    static constexpr int kExpansion = 4;
    nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
    nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
    nn::Sequential downsample{nullptr};

    BottleneckImpl(int in, int width, int stride) {
        conv1 = register_module("conv1", conv(in, width, 1));
        bn1 = register_module("bn1", nn::BatchNorm2d(width));
        conv2 = register_module("conv2", conv(width, width, 3, stride));
        bn2 = register_module("bn2", nn::BatchNorm2d(width));
        conv3 = register_module("conv3", conv(width, width * kExpansion, 1));
        bn3 = register_module("bn3", nn::BatchNorm2d(width * kExpansion));
        if (stride != 1 || in != width * kExpansion)
            downsample = register_module("downsample", nn::Sequential(conv(in, width * kExpansion, 1, stride), nn::BatchNorm2d(width * kExpansion)));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        auto y = torch::relu(bn1(conv1(x)));
        y = torch::relu(bn2(conv2(y)));
        y = bn3(conv3(y));
        return torch::relu(y + (downsample ? downsample->forward(x) : x));
    }
};
TORCH_MODULE(Bottleneck);

struct ResNet50Impl : MetricNetwork {
    nn::Conv2d conv1{nullptr};
    nn::BatchNorm2d bn1{nullptr};
    std::vector<nn::Sequential> stages;

    ResNet50Impl() {
        conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
        bn1 = register_module("bn1", nn::BatchNorm2d(64));
        const int blocks[] = {3, 4, 6, 3}, widths[] = {64, 128, 256, 512};
        int in = 64;
        for (int s = 0; s < 4; ++s) {
            nn::Sequential stage;
            for (int b = 0; b < blocks[s]; ++b) {
                stage->push_back(Bottleneck(in, widths[s], b == 0 && s > 0 ? 2 : 1));
                in = widths[s] * BottleneckImpl::kExpansion;
            }
            stages.push_back(register_module("layer" + std::to_string(s + 1), stage));
        }
    }
    std::vector<std::string> layer_names() const override { return {"avgpool"}; }
    std::vector<torch::Tensor> layers(torch::Tensor x) override {
        x = torch::relu(bn1(conv1(x)));
        x = torch::max_pool2d(x, 3, 2, 1);
        for (auto& stage : stages) x = stage->forward(x);
        return {x.mean({2, 3})};
    }
};

}  // namespace

std::shared_ptr<MetricNetwork> make_resnet50() { return std::make_shared<ResNet50Impl>(); }

}  // namespace soul::metrics
