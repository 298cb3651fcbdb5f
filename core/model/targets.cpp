// Encoder targets and colour error (see targets.h). sRGB → XYZ (D65) → L*a*b* follows IEC
// 61966-2-1 and CIE 15:2004.
#include "targets.h"

namespace soul::model {

torch::Tensor images_to_tensor(const torch::Tensor& nhwc, int64_t size) {
    torch::Tensor x = nhwc.permute({0, 3, 1, 2}).to(torch::kFloat) / 255.0;
    if (x.size(2) != size) x = torch::adaptive_avg_pool2d(x, {size, size});
    return x.contiguous();
}

torch::Tensor palette_of(const torch::Tensor& images) { return torch::adaptive_avg_pool2d(images, {kPaletteSide, kPaletteSide}); }

torch::Tensor edges_of(const torch::Tensor& images) {
    const torch::Tensor luma = (images.select(1, 0) * 0.299 + images.select(1, 1) * 0.587 + images.select(1, 2) * 0.114).unsqueeze(1);
    const torch::Tensor kx = torch::tensor({-1.f, 0.f, 1.f, -2.f, 0.f, 2.f, -1.f, 0.f, 1.f}, images.options()).view({1, 1, 3, 3});
    const torch::Tensor ky = kx.transpose(2, 3).contiguous();
    const torch::Tensor padded = torch::replication_pad2d(luma, {1, 1, 1, 1});
    const torch::Tensor gx = torch::conv2d(padded, kx), gy = torch::conv2d(padded, ky);
    const torch::Tensor magnitude = torch::sqrt(gx * gx + gy * gy + 1e-12);
    const torch::Tensor peak = std::get<0>(magnitude.flatten(1).max(1)).clamp_min(1e-6).view({-1, 1, 1, 1});
    return magnitude / peak;
}

torch::Tensor srgb_to_lab(const torch::Tensor& rgb) {
    const torch::Tensor c = rgb.clamp(0, 1);
    const torch::Tensor linear = torch::where(c <= 0.04045, c / 12.92, torch::pow((c + 0.055) / 1.055, 2.4));
    const torch::Tensor r = linear.select(1, 0), g = linear.select(1, 1), b = linear.select(1, 2);
    const torch::Tensor x = (r * 0.4124564 + g * 0.3575761 + b * 0.1804375) / 0.95047;
    const torch::Tensor y = (r * 0.2126729 + g * 0.7151522 + b * 0.0721750) / 1.0;
    const torch::Tensor z = (r * 0.0193339 + g * 0.1191920 + b * 0.9503041) / 1.08883;
    constexpr double kEpsilon = 216.0 / 24389.0, kKappa = 24389.0 / 27.0;
    auto f = [&](const torch::Tensor& t) { return torch::where(t > kEpsilon, torch::pow(t, 1.0 / 3.0), (kKappa * t + 16) / 116); };
    const torch::Tensor fx = f(x), fy = f(y), fz = f(z);
    return torch::stack({116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)}, 1);
}

torch::Tensor delta_e(const torch::Tensor& a, const torch::Tensor& b) {
    const torch::Tensor d = srgb_to_lab(a) - srgb_to_lab(b);
    return torch::sqrt((d * d).sum(1)).flatten(1).mean(1);
}

}  // namespace soul::model
