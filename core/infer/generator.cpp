// The generator at inference (see generator.h).
#include "generator.h"

#include "soul/error.h"

namespace soul::infer {

namespace {

class RunGenerator final : public Generator {
public:
    RunGenerator(const model::EncoderConfig& config, RunModels& models, torch::Device device)
        : config_(config), models_(models), device_(device), schedule_(config.diffusion_steps) {}
    std::string title() const override { return "the run's latent diffusion model (" + config_.name + ")"; }
    int64_t image_size() const override { return config_.gen_image_size; }
    std::vector<int64_t> noise_shape() const override {
        const int64_t side = config_.gen_image_size / 4;   // the VAE's latents are a quarter of the side
        return {config_.latent_channels, side, side};
    }
    bool takes_palette_and_edges() const override { return true; }   // used when the run's adapters stage is trained
    torch::Tensor generate(const GenerationConditions& c, const SamplerSettings& s, const std::function<void(const DenoiseFrame&)>& on_step,
                           bool decode_previews) override;

private:
    model::EncoderConfig config_;
    RunModels& models_;
    torch::Device device_;
    model::NoiseSchedule schedule_;
};

torch::Tensor RunGenerator::generate(const GenerationConditions& c, const SamplerSettings& s, const std::function<void(const DenoiseFrame&)>& on_step,
                                     bool decode_previews) {
    c10::InferenceMode inference;   // no autograd bookkeeping at all (cheaper than NoGradGuard)
    int64_t batch = c.batch;
    for (const torch::Tensor* t : {&c.tokens, &c.palette, &c.edges, &c.init, &c.noise})
        if (t->defined()) batch = t->size(0);
    validate(s, "generate");
    torch::manual_seed(s.seed);
    // Drawn on the CPU so that a seed gives the same start on every device.
    std::vector<int64_t> shape = noise_shape();
    shape.insert(shape.begin(), batch);
    const torch::Tensor noise = c.noise.defined() ? c.noise.to(device_) : torch::randn(shape).to(device_);

    auto& unet = models_.unet;
    const auto on = torch::TensorOptions().device(device_);
    const torch::Tensor placeholder = torch::full({batch, config_.max_tokens}, model::CaptionTokenizer::kPad, on.dtype(torch::kLong));
    const torch::Tensor tokens = c.tokens.defined() ? c.tokens.to(device_) : placeholder;
    const torch::Tensor features = models_.embedding->text->token_features(tokens);
    const torch::Tensor key_mask = tokens != model::CaptionTokenizer::kPad;
    const bool conditional = c.tokens.defined();
    const bool guided = conditional && s.cfg != 1.0;
    torch::Tensor context, mask;
    if (guided) {
        const torch::Tensor drop = torch::cat({torch::ones({batch}, on.dtype(torch::kBool)), torch::zeros({batch}, on.dtype(torch::kBool))});
        std::tie(context, mask) = unet->condition(torch::cat({features, features}), torch::cat({key_mask, key_mask}), drop);
    } else {
        std::tie(context, mask) = unet->condition(features, key_mask, torch::full({batch}, !conditional, on.dtype(torch::kBool)));
    }
    std::vector<torch::Tensor> adapter = models_.adapters->features(c.palette.defined() ? c.palette.to(device_) : c.palette,
                                                                     c.edges.defined() ? c.edges.to(device_) : c.edges, s.w_color, s.w_edge);
    if (guided)
        for (auto& f : adapter) f = torch::cat({f, f});

    const model::NoisePredictor predict = [&](const torch::Tensor& x, int64_t t) {
        if (!guided) return unet->forward(x, torch::full({batch}, t, on.dtype(torch::kLong)), context, mask, adapter);
        return guided_prediction(unet->forward(torch::cat({x, x}), torch::full({2 * batch}, t, on.dtype(torch::kLong)), context, mask, adapter), batch,
                                 s.cfg);
    };
    const model::StepCallback step_callback =
        denoise_frames(on_step, decode_previews, batch, [&](const torch::Tensor& latents) { return models_.vae->to_image(latents); });
    const torch::Tensor start = c.init.defined() ? models_.vae->to_latent(c.init.to(device_)) : torch::Tensor();
    const model::DDIMOptions options{s.steps, s.eta, c.init.defined() ? s.strength : 1.0};
    return models_.vae->to_image(model::ddim_sample(schedule_, predict, noise, options, start, step_callback));
}

}  // namespace

torch::Tensor guided_prediction(const torch::Tensor& both, int64_t batch, double guidance) {
    const torch::Tensor unconditional = both.narrow(0, 0, batch), with_caption = both.narrow(0, batch, batch);
    return unconditional + guidance * (with_caption - unconditional);
}

model::StepCallback denoise_frames(const std::function<void(const DenoiseFrame&)>& on_step, bool decode_previews, int64_t batch,
                                   const std::function<torch::Tensor(const torch::Tensor&)>& to_image) {
    if (!on_step) return {};
    return [on_step, decode_previews, batch, to_image](const model::SamplerStep& step) {
        if (!decode_previews) {
            on_step(DenoiseFrame{step.index, step.count, step.t, {}, {}});
            return;
        }
        const torch::Tensor decoded = to_image(torch::cat({step.x, step.predicted_x0}));
        on_step(DenoiseFrame{step.index, step.count, step.t, decoded.narrow(0, 0, batch), decoded.narrow(0, batch, batch)});
    };
}

std::unique_ptr<Generator> make_run_generator(const model::EncoderConfig& config, RunModels& models, torch::Device device) {
    return std::make_unique<RunGenerator>(config, models, device);
}

}  // namespace soul::infer
