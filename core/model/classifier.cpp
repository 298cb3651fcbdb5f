// The category classifier (see classifier.h).
#include "classifier.h"

namespace soul::model {

CategoryClassifierImpl::CategoryClassifierImpl(int64_t width, int64_t categories) {
    using torch::nn::BatchNorm2d;
    using torch::nn::Conv2d;
    using torch::nn::Conv2dOptions;
    torch::nn::Sequential features;
    int64_t channels = 3;
    for (int64_t out : {width, 2 * width, 4 * width}) {
        features->push_back(Conv2d(Conv2dOptions(channels, out, 3).padding(1)));
        features->push_back(BatchNorm2d(out));
        features->push_back(torch::nn::ReLU());
        features->push_back(Conv2d(Conv2dOptions(out, out, 3).padding(1)));
        features->push_back(BatchNorm2d(out));
        features->push_back(torch::nn::ReLU());
        features->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
        channels = out;
    }
    features->push_back(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
    features_ = register_module("features", features);
    head_ = register_module("head", torch::nn::Linear(4 * width, std::max<int64_t>(1, categories)));
}

torch::Tensor CategoryClassifierImpl::forward(const torch::Tensor& images) {
    torch::Tensor x = images * 2 - 1;
    // BatchNorm in float32 whatever its input's type, as norms.h's layers (LibTorch 1.13 exports
    // no BatchNorm base to derive a float32 one from).
    for (auto& layer : *features_) x = layer.forward(layer.ptr()->as<torch::nn::BatchNorm2dImpl>() ? x.to(torch::kFloat) : x);
    return head_(x.flatten(1));
}

}  // namespace soul::model
