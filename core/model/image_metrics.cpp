// Image and retrieval scores (see image_metrics.h).
#include "image_metrics.h"

namespace soul::model {

namespace {

constexpr int64_t kSsimWindow = 11;
constexpr double kSsimSigma = 1.5, kSsimK1 = 0.01, kSsimK2 = 0.03;

torch::Tensor luminance(const torch::Tensor& rgb) {
    return (0.299 * rgb.select(1, 0) + 0.587 * rgb.select(1, 1) + 0.114 * rgb.select(1, 2)).unsqueeze(1);
}

}  // namespace

torch::Tensor pixcorr(const torch::Tensor& a, const torch::Tensor& b) {
    const torch::Tensor x = a.flatten(1) - a.flatten(1).mean(1, true), y = b.flatten(1) - b.flatten(1).mean(1, true);
    return (x * y).sum(1) / (x.norm(2, 1) * y.norm(2, 1)).clamp_min(1e-12);
}

double mean_pearson(const torch::Tensor& a, const torch::Tensor& b) { return pixcorr(a, b).mean().item<double>(); }

torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b) {
    const torch::Tensor x = luminance(a.to(torch::kFloat)), y = luminance(b.to(torch::kFloat));
    const torch::Tensor r = torch::arange(kSsimWindow, x.options()) - (kSsimWindow - 1) / 2.0;
    torch::Tensor g = torch::exp(-(r * r) / (2 * kSsimSigma * kSsimSigma));
    g = g / g.sum();
    const torch::Tensor window = torch::outer(g, g).view({1, 1, kSsimWindow, kSsimWindow});
    auto blur = [&](const torch::Tensor& t) { return torch::conv2d(t, window); };   // "valid" windows only
    const torch::Tensor mx = blur(x), my = blur(y);
    const torch::Tensor vx = blur(x * x) - mx * mx, vy = blur(y * y) - my * my, cxy = blur(x * y) - mx * my;
    const double c1 = kSsimK1 * kSsimK1, c2 = kSsimK2 * kSsimK2;   // dynamic range 1
    const torch::Tensor map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    return map.flatten(1).mean(1);
}

double top1(const torch::Tensor& queries, const torch::Tensor& keys) {
    const torch::Tensor best = torch::matmul(queries, keys.t()).argmax(1);
    return (best == torch::arange(queries.size(0), best.options())).to(torch::kFloat).mean().item<double>();
}

double two_way(const torch::Tensor& predicted, const torch::Tensor& truth) {
    const torch::Tensor sim = torch::matmul(predicted, truth.t());
    const torch::Tensor own = sim.diagonal().unsqueeze(1);
    const int64_t n = sim.size(0);
    return ((own > sim).to(torch::kFloat).sum().item<double>()) / static_cast<double>(n * (n - 1));
}

}  // namespace soul::model
