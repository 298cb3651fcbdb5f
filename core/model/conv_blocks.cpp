// Residual blocks (see conv_blocks.h).
#include "conv_blocks.h"

namespace soul::model {

GroupNorm32 group_norm(int64_t channels, int64_t groups) { return GroupNorm32(torch::nn::GroupNormOptions(groups, channels)); }

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

ResBlockImpl::ResBlockImpl(int64_t in, int64_t out, int64_t time_width) {
    norm1_ = register_module("norm1", group_norm(in));
    conv1_ = register_module("conv1", conv3x3(in, out));
    norm2_ = register_module("norm2", group_norm(out));
    conv2_ = register_module("conv2", conv3x3(out, out));
    if (in != out) skip_ = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
    if (time_width > 0) time_ = register_module("time", torch::nn::Linear(time_width, out));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& time) {
    torch::Tensor h = conv1_(torch::silu(norm1_(x)));
    if (time_ && time.defined()) h = h + time_(torch::silu(time)).unsqueeze(-1).unsqueeze(-1);
    h = conv2_(torch::silu(norm2_(h)));
    return (skip_ ? skip_(x) : x) + h;
}

}  // namespace soul::model
