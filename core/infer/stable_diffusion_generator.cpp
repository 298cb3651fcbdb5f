// Stable Diffusion as the generator of box d (generator.h), on the user's own weights
// (core/pretrained/stable_diffusion.h): the caption through CLIP's text encoder, classifier-free
// guidance against the empty caption (Ho & Salimans 2022, eq. 6), img2img from a start image
// (Meng et al. 2022, "SDEdit"), DDIM on the model's scaled-linear schedule. A v-predicting model
// (Salimans & Ho 2022, "Progressive Distillation", §4: v = √ᾱ ε − √(1 − ᾱ) x0) is read as
// ε = √ᾱ v + √(1 − ᾱ) x_t, so that one sampler serves both. With a run's sd_adapters, the palette
// and edge map steer it as T2I-Adapter's features do (Mou et al. 2023, §3.3: added to the UNet's
// encoder levels, at ω1 and ω2, for both halves of the guided batch).
#include "generator.h"

#include "../pretrained/stable_diffusion.h"
#include "soul/error.h"

#include <cmath>

namespace soul::infer {

namespace {

class StableDiffusionGenerator final : public Generator {
public:
    StableDiffusionGenerator(pretrained::StableDiffusion& sd, int64_t image_size, model::Adapters adapters)
        : sd_(sd), size_(image_size), schedule_(sd.files.train_steps, sd.files.beta_start, sd.files.beta_end), adapters_(std::move(adapters)) {
        const int64_t f = sd.vae->downscale();
        if (image_size <= 0 || image_size % f)
            throw Error("Stable Diffusion draws images whose side is a multiple of its autoencoder's downscale " + std::to_string(f) +
                        " (512 for 1.x, 768 for 2.x-v), not " + std::to_string(image_size));
        if (!adapters_.is_empty() && image_size % sd.adapter_size_multiple())
            throw Error("with its adapters, Stable Diffusion draws images whose side is a multiple of " + std::to_string(sd.adapter_size_multiple()) +
                        ", not " + std::to_string(image_size));
    }
    std::string title() const override { return sd_.files.name + (adapters_.is_empty() ? "" : " + the run's colour and edge adapters"); }
    bool takes_palette_and_edges() const override { return !adapters_.is_empty(); }
    int64_t image_size() const override { return size_; }
    std::vector<int64_t> noise_shape() const override {
        const int64_t f = sd_.vae->downscale();
        return {sd_.unet->config.in_channels, size_ / f, size_ / f};
    }
    torch::Tensor generate(const GenerationConditions& c, const SamplerSettings& s, const std::function<void(const DenoiseFrame&)>& on_step,
                           bool decode_previews) override;

private:
    torch::Tensor to_image(const torch::Tensor& latents) { return ((sd_.vae->decode(latents).to(torch::kFloat32) + 1) / 2).clamp(0, 1); }

    pretrained::StableDiffusion& sd_;
    int64_t size_;
    model::NoiseSchedule schedule_;
    model::Adapters adapters_;   // empty: no palette or edges
};

torch::Tensor StableDiffusionGenerator::generate(const GenerationConditions& c, const SamplerSettings& s,
                                                 const std::function<void(const DenoiseFrame&)>& on_step, bool decode_previews) {
    c10::InferenceMode inference;
    if ((c.palette.defined() || c.edges.defined()) && adapters_.is_empty())
        throw Error("this Stable Diffusion has no colour and edge adapters: train them for it with `souldiffuser train --stages sd_adapters --sd` "
                    "(docs/pretrained.md)");
    int64_t batch = c.batch;
    for (const torch::Tensor* t : {&c.init, &c.noise})
        if (t->defined()) batch = t->size(0);
    if (!c.captions.empty()) batch = static_cast<int64_t>(c.captions.size());
    if (c.init.defined() && (c.init.size(0) != batch || c.init.size(2) != size_ || c.init.size(3) != size_))
        throw Error("the start image must be (" + std::to_string(batch) + ", 3, " + std::to_string(size_) + ", " + std::to_string(size_) + ")");
    validate(s, "generate");
    torch::manual_seed(s.seed);
    std::vector<int64_t> shape = noise_shape();
    shape.insert(shape.begin(), batch);
    // Drawn on the CPU in float32 so that a seed gives the same start on every device and precision.
    const auto on = torch::TensorOptions().device(sd_.device).dtype(sd_.dtype);
    const torch::Tensor noise = (c.noise.defined() ? c.noise : torch::randn(shape)).to(on);

    const bool conditional = !c.captions.empty();
    const bool guided = conditional && s.cfg != 1.0;
    torch::Tensor context = sd_.encode_captions(conditional ? c.captions : std::vector<std::string>(static_cast<size_t>(batch), ""));
    if (guided) context = torch::cat({sd_.encode_captions({""}).expand({batch, -1, -1}), context});
    const bool v_prediction = sd_.files.prediction == pretrained::Prediction::V;
    // The adapters' features do not depend on the step: computed once, for both guided halves.
    std::vector<torch::Tensor> residuals;
    if (!adapters_.is_empty() && (c.palette.defined() || c.edges.defined())) {
        const auto device = torch::TensorOptions().device(sd_.device);
        residuals = adapters_->features(c.palette.defined() ? c.palette.to(device) : torch::Tensor(), c.edges.defined() ? c.edges.to(device) : torch::Tensor(),
                                        s.w_color, s.w_edge, noise_shape()[1]);
        for (auto& r : residuals) r = (guided ? torch::cat({r, r}) : r).to(sd_.dtype);
    }

    const model::NoisePredictor predict = [&](const torch::Tensor& x, int64_t t) {
        const int64_t rows = guided ? 2 * batch : batch;
        const torch::Tensor out = sd_.unet->forward(guided ? torch::cat({x, x}) : x, torch::full({rows}, t, on.dtype(torch::kLong)), context, residuals);
        const torch::Tensor prediction = guided ? guided_prediction(out, batch, s.cfg) : out;
        if (!v_prediction) return prediction;
        const double alpha_bar = schedule_.alpha_bar(t);
        return std::sqrt(alpha_bar) * prediction + std::sqrt(1 - alpha_bar) * x;
    };
    const model::StepCallback step_callback =
        denoise_frames(on_step, decode_previews, batch, [&](const torch::Tensor& latents) { return to_image(latents); });
    const torch::Tensor start = c.init.defined() ? sd_.vae->encode(c.init.to(on) * 2 - 1) : torch::Tensor();
    const model::DDIMOptions options{s.steps, s.eta, c.init.defined() ? s.strength : 1.0};
    return to_image(model::ddim_sample(schedule_, predict, noise, options, start, step_callback));
}

}  // namespace

std::unique_ptr<Generator> make_stable_diffusion_generator(pretrained::StableDiffusion& sd, int64_t image_size, model::Adapters adapters) {
    return std::make_unique<StableDiffusionGenerator>(sd, image_size, std::move(adapters));
}

LoadedGenerator load_stable_diffusion_generator(const StableDiffusionOptions& o, torch::Device device, const RunModels* run) {
    const auto files = pretrained::find_stable_diffusion(o.path, o.text_encoder, o.prediction);
    std::shared_ptr<pretrained::StableDiffusion> sd = pretrained::load_stable_diffusion(files, device, device.is_cuda() ? torch::kHalf : torch::kFloat32);
    model::Adapters adapters{nullptr};
    // The run's adapters when they were trained for a UNet of these levels (another model's are not used).
    if (run && !run->sd_adapters.is_empty() && run->sd_adapters->levels() == sd->unet->adapter_levels()) adapters = run->sd_adapters;
    LoadedGenerator loaded;
    loaded.generator = make_stable_diffusion_generator(*sd, o.size, adapters);
    loaded.models = sd;
    return loaded;
}

}  // namespace soul::infer
