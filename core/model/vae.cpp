// The VAE (see vae.h).
#include "vae.h"

namespace soul::model {

namespace {

// A Sequential cannot hold ResBlock's two-argument forward; this wraps the one-argument use.
class PlainResImpl : public torch::nn::Module {
public:
    PlainResImpl(int64_t in, int64_t out) : block_(register_module("block", ResBlock(in, out))) {}
    torch::Tensor forward(const torch::Tensor& x) { return block_->forward(x); }

private:
    ResBlock block_;
};
TORCH_MODULE(PlainRes);

}  // namespace

VAEImpl::VAEImpl(const VAEOptions& o) {
    const int64_t w = o.width, w2 = 2 * o.width;
    using torch::nn::Conv2d;
    using torch::nn::Conv2dOptions;
    encoder_ = register_module("encoder", torch::nn::Sequential(
        Conv2d(Conv2dOptions(3, w / 2, 3).padding(1)), torch::nn::SiLU(),
        Conv2d(Conv2dOptions(w / 2, w, 4).stride(2).padding(1)), PlainRes(w, w),
        Conv2d(Conv2dOptions(w, w2, 4).stride(2).padding(1)), PlainRes(w2, w2),
        group_norm(w2), torch::nn::SiLU(), Conv2d(Conv2dOptions(w2, 2 * o.latent_channels, 1))));
    decoder_ = register_module("decoder", torch::nn::Sequential(
        Conv2d(Conv2dOptions(o.latent_channels, w2, 3).padding(1)), PlainRes(w2, w2),
        torch::nn::Upsample(torch::nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)),
        conv3x3(w2, w), PlainRes(w, w),
        torch::nn::Upsample(torch::nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)),
        conv3x3(w, w / 2), group_norm(w / 2), torch::nn::SiLU(), Conv2d(Conv2dOptions(w / 2, 3, 3).padding(1))));
    scale = register_buffer("scale", torch::ones({1}));
}

std::pair<torch::Tensor, torch::Tensor> VAEImpl::encode(const torch::Tensor& images) {
    const auto parts = encoder_->forward(images * 2 - 1).chunk(2, 1);
    return {parts[0], parts[1].clamp(-20, 10)};
}

torch::Tensor VAEImpl::decode(const torch::Tensor& latents) { return (decoder_->forward(latents) + 1) / 2; }

torch::Tensor VAEImpl::to_latent(const torch::Tensor& images) { return encode(images).first * scale; }

torch::Tensor VAEImpl::to_image(const torch::Tensor& scaled_latents) { return decode(scaled_latents / scale).clamp(0, 1); }

std::pair<torch::Tensor, torch::Tensor> vae_losses(VAEImpl& vae, const torch::Tensor& images) {
    const auto [mean, logvar] = vae.encode(images);
    const torch::Tensor z = mean + torch::randn_like(mean) * (0.5 * logvar).exp();
    const torch::Tensor reconstruction = torch::mse_loss(vae.decode(z), images);
    const torch::Tensor kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean();
    return {reconstruction, kl};
}

}  // namespace soul::model
