// Noise schedule, DDIM and DDPM sampling (see diffusion.h).
#include "diffusion.h"

#include <algorithm>
#include <cmath>

namespace soul::model {

NoiseSchedule::NoiseSchedule(int64_t steps, double beta_start, double beta_end) {
    double product = 1.0;
    for (int64_t t = 0; t < steps; ++t) {
        // "scaled linear": linear in √β
        const double s = std::sqrt(beta_start) + (std::sqrt(beta_end) - std::sqrt(beta_start)) * static_cast<double>(t) / static_cast<double>(std::max<int64_t>(1, steps - 1));
        beta_.push_back(s * s);
        product *= 1.0 - s * s;
        alpha_bar_.push_back(product);
    }
    alpha_bar_table_ = torch::tensor(alpha_bar_, torch::kDouble);
}

NoiseSchedule& NoiseSchedule::to(torch::Device device) {
    alpha_bar_table_ = alpha_bar_table_.to(device);
    return *this;
}

torch::Tensor NoiseSchedule::alpha_bar(const torch::Tensor& t, const torch::Tensor& like) const {
    return alpha_bar_table_.to(t.device()).index_select(0, t).to(like.device(), like.scalar_type()).view({-1, 1, 1, 1});
}

torch::Tensor NoiseSchedule::min_snr_weight(const torch::Tensor& t, double gamma, const torch::Tensor& like) const {
    const torch::Tensor ab = alpha_bar(t, like);
    const torch::Tensor snr = ab / (1 - ab);
    return snr.clamp_max(gamma) / snr;
}

torch::Tensor NoiseSchedule::add_noise(const torch::Tensor& x0, const torch::Tensor& noise, const torch::Tensor& t) const {
    const torch::Tensor ab = alpha_bar(t, x0);
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise;
}

std::vector<int64_t> ddim_timesteps(int64_t train_steps, int64_t count) {
    std::vector<int64_t> ts;
    const double ratio = static_cast<double>(train_steps) / static_cast<double>(count);
    for (int64_t i = 0; i < count; ++i) ts.push_back(std::max<int64_t>(0, static_cast<int64_t>(std::llround(static_cast<double>(train_steps) - static_cast<double>(i) * ratio)) - 1));
    return ts;
}

torch::Tensor ddim_sample(const NoiseSchedule& schedule, const NoisePredictor& predict, const torch::Tensor& noise, const DDIMOptions& o,
                          const torch::Tensor& start, const StepCallback& on_step) {
    std::vector<int64_t> ts = ddim_timesteps(schedule.steps(), o.steps);
    torch::Tensor x = noise;
    if (start.defined()) {
        const int64_t kept = std::clamp<int64_t>(static_cast<int64_t>(std::llround(static_cast<double>(o.steps) * o.strength)), 0, o.steps);
        ts.erase(ts.begin(), ts.end() - kept);
        if (ts.empty()) return start;
        x = schedule.add_noise(start, noise, torch::full({start.size(0)}, ts.front(), torch::TensorOptions().dtype(torch::kLong).device(start.device())));
    }
    for (size_t i = 0; i < ts.size(); ++i) {
        const int64_t t = ts[i], prev = i + 1 < ts.size() ? ts[i + 1] : -1;
        const double ab = schedule.alpha_bar(t), ab_prev = schedule.alpha_bar(prev);
        const torch::Tensor eps = predict(x, t);
        const torch::Tensor x0 = (x - std::sqrt(1 - ab) * eps) / std::sqrt(ab);
        const double sigma = o.eta * std::sqrt((1 - ab_prev) / (1 - ab)) * std::sqrt(1 - ab / ab_prev);
        x = std::sqrt(ab_prev) * x0 + std::sqrt(std::max(0.0, 1 - ab_prev - sigma * sigma)) * eps;
        if (sigma > 0) x = x + sigma * torch::randn_like(x);
        if (on_step) on_step(SamplerStep{static_cast<int64_t>(i), static_cast<int64_t>(ts.size()), t, x, x0});
    }
    return x;
}

torch::Tensor ddpm_sample(const NoiseSchedule& schedule, const NoisePredictor& predict, const torch::Tensor& x_T) {
    torch::Tensor x = x_T;
    for (int64_t t = schedule.steps() - 1; t >= 0; --t) {
        const double beta = schedule.beta(t), ab = schedule.alpha_bar(t), ab_prev = schedule.alpha_bar(t - 1);
        const torch::Tensor eps = predict(x, t);
        x = (x - beta / std::sqrt(1 - ab) * eps) / std::sqrt(1 - beta);
        if (t > 0) x = x + std::sqrt((1 - ab_prev) / (1 - ab) * beta) * torch::randn_like(x);
    }
    return x;
}

}  // namespace soul::model
