// The denoising UNet (see unet.h).
#include "unet.h"
#include "norms.h"

#include <cmath>

namespace soul::model {

namespace {

constexpr int64_t kTimeMultiplier = 4;   // timestep MLP width / base width (DDPM's choice)
constexpr int64_t kMlpMultiplier = 4;    // transformer MLP hidden / width

torch::Tensor upsample2(const torch::Tensor& x) {
    return torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> unet_feature_levels(int64_t width) { return {{width, 1}, {2 * width, 2}, {2 * width, 4}}; }

torch::Tensor timestep_embedding(const torch::Tensor& t, int64_t dim) {
    const int64_t half = dim / 2;
    const torch::Tensor frequencies =
        torch::exp(-std::log(10000.0) * torch::arange(half, torch::TensorOptions().dtype(torch::kFloat).device(t.device())) / half);
    const torch::Tensor angles = t.to(torch::kFloat).unsqueeze(1) * frequencies.unsqueeze(0);
    return torch::cat({angles.cos(), angles.sin()}, 1);
}

SpatialTransformerImpl::SpatialTransformerImpl(int64_t channels, int64_t heads, int64_t context_width) {
    norm_ = register_module("norm", group_norm(channels));
    in_ = register_module("conv_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1)));
    norm1_ = register_module("norm1", layer_norm(channels));
    norm2_ = register_module("norm2", layer_norm(channels));
    norm3_ = register_module("norm3", layer_norm(channels));
    self_ = register_module("self_attention", Attention(channels, heads));
    cross_ = register_module("cross_attention", Attention(channels, heads, context_width));
    mlp_ = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(channels, kMlpMultiplier * channels), torch::nn::GELU(),
                                                        torch::nn::Linear(kMlpMultiplier * channels, channels)));
    out_ = register_module("out", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1)));
    // Starts as the identity, so the attention is learned on top of the convolutional path.
    torch::NoGradGuard no_grad;
    out_->weight.zero_();
    out_->bias.zero_();
}

torch::Tensor SpatialTransformerImpl::forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& key_mask) {
    const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    torch::Tensor y = in_(norm_(x)).flatten(2).transpose(1, 2);   // B HW C
    y = y + self_->forward(norm1_(y));
    y = y + cross_->forward(norm2_(y), context, key_mask);
    y = y + mlp_->forward(norm3_(y));
    return x + out_(y.transpose(1, 2).reshape({b, c, h, w}));
}

UNetImpl::UNetImpl(const UNetOptions& o) : width_(o.width) {
    const int64_t w = o.width, w2 = 2 * o.width, tw = kTimeMultiplier * o.width;
    time_ = register_module("time", torch::nn::Sequential(torch::nn::Linear(w, tw), torch::nn::SiLU(), torch::nn::Linear(tw, tw)));
    in_ = register_module("conv_in", conv3x3(o.latent_channels, w));
    res0_ = register_module("res0", ResBlock(w, w, tw));
    down0_ = register_module("down0", conv3x3(w, w, 2));
    res1_ = register_module("res1", ResBlock(w, w2, tw));
    attn1_ = register_module("attn1", SpatialTransformer(w2, o.heads, o.context_width));
    down1_ = register_module("down1", conv3x3(w2, w2, 2));
    mid0_ = register_module("mid0", ResBlock(w2, w2, tw));
    attn_mid_ = register_module("attn_mid", SpatialTransformer(w2, o.heads, o.context_width));
    mid1_ = register_module("mid1", ResBlock(w2, w2, tw));
    up1_ = register_module("up1", ResBlock(2 * w2, w2, tw));
    attn_up1_ = register_module("attn_up1", SpatialTransformer(w2, o.heads, o.context_width));
    up0_ = register_module("up0", ResBlock(w2 + w, w, tw));
    out_norm_ = register_module("out_norm", group_norm(w));
    out_ = register_module("out", conv3x3(w, o.latent_channels));
    if (o.pooled_caption) pooled_ = register_module("pooled_caption", torch::nn::Linear(o.context_width, tw));
    null_context = register_parameter("null_context", torch::randn({1, 1, o.context_width}) * 0.02);
    torch::NoGradGuard no_grad;
    out_->weight.zero_();
    out_->bias.zero_();
    if (pooled_) {
        // Starts with no effect: the caption's global path is learned on top of the timestep's.
        pooled_->weight.zero_();
        pooled_->bias.zero_();
    }
}

std::pair<torch::Tensor, torch::Tensor> UNetImpl::condition(const torch::Tensor& features, const torch::Tensor& key_mask,
                                                            const torch::Tensor& unconditional) {
    const int64_t b = features.size(0), l = features.size(1);
    const torch::Tensor drop = unconditional.view({b, 1, 1});
    const torch::Tensor context = torch::where(drop, null_context.expand({b, l, -1}), features);
    torch::Tensor first = torch::zeros({1, l}, key_mask.options());
    first.index_put_({0, 0}, true);
    const torch::Tensor mask = torch::where(unconditional.view({b, 1}), first.expand({b, l}), key_mask);
    return {context, mask};
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& context, const torch::Tensor& key_mask,
                                const std::vector<torch::Tensor>& adapter) {
    torch::Tensor time = time_->forward(timestep_embedding(t, width_));
    if (pooled_) {
        // The mean of the valid tokens (the null context's one token when unconditional).
        const torch::Tensor valid = key_mask.defined() ? key_mask.to(context.scalar_type()).unsqueeze(2)
                                                       : torch::ones({context.size(0), context.size(1), 1}, context.options());
        time = time + pooled_->forward((context * valid).sum(1) / valid.sum(1).clamp_min(1));
    }
    auto add = [&](torch::Tensor h, size_t level) { return adapter.empty() ? h : h + adapter[level]; };
    const torch::Tensor s0 = add(res0_->forward(in_(x), time), 0);
    const torch::Tensor s1 = add(attn1_->forward(res1_->forward(down0_(s0), time), context, key_mask), 1);
    torch::Tensor h = add(down1_(s1), 2);
    h = mid1_->forward(attn_mid_->forward(mid0_->forward(h, time), context, key_mask), time);
    h = attn_up1_->forward(up1_->forward(torch::cat({upsample2(h), s1}, 1), time), context, key_mask);
    h = up0_->forward(torch::cat({upsample2(h), s0}, 1), time);
    return out_(torch::silu(out_norm_(h)));
}

}  // namespace soul::model
