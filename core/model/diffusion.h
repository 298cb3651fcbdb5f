// The diffusion process and its samplers (box d):
// - DDPM training noise (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", eq. 4) with
//   Stable Diffusion's scaled-linear β schedule (β from 0.00085 to 0.012 over 1000 steps);
// - ancestral DDPM sampling (Ho et al. eq. 11, σ² = β̃), the reference;
// - DDIM sampling (Song et al. 2021, "Denoising Diffusion Implicit Models", eq. 12 and 16) with a
//   step count, η, "trailing" step spacing (Lin et al. 2024, "Common Diffusion Noise Schedules and
//   Sample Steps are Flawed", table 2: the first step starts at t = T − 1), and img2img from a
//   start latent at a strength s (Meng et al. 2022, "SDEdit");
// - Min-SNR-γ loss weights (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting
//   Strategy", §3.4: for ε-prediction w_t = min(SNR_t, γ) / SNR_t, SNR_t = ᾱ_t / (1 − ᾱ_t)).
// The model predicts the noise ε: DDIM's update and the DDPM equivalence are written in ε.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace soul::model {

class NoiseSchedule {
public:
    explicit NoiseSchedule(int64_t steps = 1000, double beta_start = 0.00085, double beta_end = 0.012);
    int64_t steps() const { return static_cast<int64_t>(alpha_bar_.size()); }
    double alpha_bar(int64_t t) const { return t < 0 ? 1.0 : alpha_bar_[static_cast<size_t>(t)]; }   // t = −1: clean
    double beta(int64_t t) const { return beta_[static_cast<size_t>(t)]; }
    // x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε for a batch of timesteps t (B). ᾱ is looked up on t's device:
    // after to(device), a training step on that device needs no copy from or to the host.
    torch::Tensor add_noise(const torch::Tensor& x0, const torch::Tensor& noise, const torch::Tensor& t) const;
    // ᾱ_t for a batch of timesteps t (B), as (B, 1, 1, 1) in `like`'s type and device.
    torch::Tensor alpha_bar(const torch::Tensor& t, const torch::Tensor& like) const;
    // Min-SNR-γ weights of the ε-loss for a batch of timesteps t (B), as (B, 1, 1, 1) like `like`:
    // 1 where the noise dominates (SNR ≤ γ), γ / SNR at the nearly clean steps, so training spends
    // less on fine detail and more on the coarse structure decided at high noise.
    torch::Tensor min_snr_weight(const torch::Tensor& t, double gamma, const torch::Tensor& like) const;
    // Keeps the ᾱ table (float64) on `device`, where add_noise reads it.
    NoiseSchedule& to(torch::Device device);

private:
    std::vector<double> beta_, alpha_bar_;
    torch::Tensor alpha_bar_table_;   // alpha_bar_ as a tensor, on the device last asked for
};

// ε̂(x_t, t): the model, with guidance and conditions already applied.
using NoisePredictor = std::function<torch::Tensor(const torch::Tensor& x, int64_t t)>;

struct SamplerStep {
    int64_t index = 0, count = 0;   // this step (0-based) of count
    int64_t t = 0;                  // the timestep denoised in this step
    torch::Tensor x;                // the latent after the step
    torch::Tensor predicted_x0;     // the clean latent predicted in the step
};
using StepCallback = std::function<void(const SamplerStep&)>;

// Descending timesteps of a DDIM run of `count` steps (trailing spacing).
std::vector<int64_t> ddim_timesteps(int64_t train_steps, int64_t count);

struct DDIMOptions {
    int64_t steps = 25;
    double eta = 0.0;        // 0: deterministic DDIM; 1: DDPM's variance
    double strength = 1.0;   // img2img: the fraction of the schedule run from the start latent
};

// noise: x_T for text-to-image (strength 1), or the noise mixed into `start` (img2img). Further
// noise (η > 0) is drawn from the global generator.
torch::Tensor ddim_sample(const NoiseSchedule& schedule, const NoisePredictor& predict, const torch::Tensor& noise,
                          const DDIMOptions& options, const torch::Tensor& start = {}, const StepCallback& on_step = {});

// The reference: all T ancestral steps from x_T.
torch::Tensor ddpm_sample(const NoiseSchedule& schedule, const NoisePredictor& predict, const torch::Tensor& x_T);

}  // namespace soul::model
