// The stimulus judge (see classifier.h).
#include "classifier.h"

namespace soul::model {


CategoryClassifierImpl::CategoryClassifierImpl(int64_t width, int64_t categories, bool position, int64_t stages) {
    using torch::nn::BatchNorm2d;
    using torch::nn::Conv2d;
    using torch::nn::Conv2dOptions;
    torch::nn::Sequential features;
    int64_t channels = 3;
    for (int64_t stage = 0, out = width; stage < stages; ++stage, out *= 2) {
        features->push_back(Conv2d(Conv2dOptions(channels, out, 3).padding(1)));
        features->push_back(BatchNorm2d(out));
        features->push_back(torch::nn::ReLU());
        features->push_back(Conv2d(Conv2dOptions(out, out, 3).padding(1)));
        features->push_back(BatchNorm2d(out));
        features->push_back(torch::nn::ReLU());
        features->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
        channels = out;
    }
    features_ = register_module("features", features);
    head_ = register_module("head", torch::nn::Linear(channels, std::max<int64_t>(1, categories)));
    // Where the object is: a soft-argmax over a heat map of the last feature map (translation
    // equivariant, so it learns from few examples), the expected cell centre under its softmax.
    if (position) position_ = register_module("position", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 1, 1)));
}

torch::Tensor CategoryClassifierImpl::features(const torch::Tensor& images) {
    torch::Tensor x = images * 2 - 1;
    // BatchNorm in float32 whatever its input's type, as norms.h's layers (LibTorch 1.13 exports
    // no BatchNorm base to derive a float32 one from).
    for (auto& layer : *features_) x = layer.forward(layer.ptr()->as<torch::nn::BatchNorm2dImpl>() ? x.to(torch::kFloat) : x);
    return x;
}

torch::Tensor CategoryClassifierImpl::forward(const torch::Tensor& images) { return head_(features(images).mean({2, 3})); }

JudgeOutput CategoryClassifierImpl::judge(const torch::Tensor& images) {
    const torch::Tensor x = features(images);
    JudgeOutput out{head_(x.mean({2, 3})), {}};
    if (reads_position()) {
        const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
        const torch::Tensor weight = torch::softmax(position_(x).flatten(1).to(torch::kFloat), 1).view({b, h, w});
        const auto on = weight.options();
        // Cell centres in field units: x right, y up (row 0 is the top).
        const torch::Tensor xs = (torch::arange(w, on) + 0.5) / static_cast<double>(w) * 2 - 1;
        const torch::Tensor ys = 1 - (torch::arange(h, on) + 0.5) / static_cast<double>(h) * 2;
        out.position = torch::stack({(weight.sum(1) * xs).sum(1), (weight.sum(2) * ys).sum(1)}, 1);
    }
    return out;
}

}  // namespace soul::model
