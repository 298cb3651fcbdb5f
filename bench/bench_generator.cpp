// Generator benchmarks (issue "The multimodal guided diffusion generator"): training samples/s of
// the UNet and of the VAE, and seconds per 64×64 image with 25 DDIM steps and classifier-free
// guidance with both adapters — in C++ and, in the same run, the same architecture written in
// Debian's python3-torch (bench/generator_torch.py). Weights are random: speed does not depend
// on them. The image time is the engine's whole path (text encoder, adapters, DDIM, decoder).
//
// Usage: bench_generator [--config models/configs/phantom-small.json] [--steps 10] [--images 5]
//                        [--python /usr/bin/python3]
#include "soul/runtime.h"
#include "infer/generator.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using Clock = std::chrono::steady_clock;
using namespace soul;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Training samples/s of a step that takes one batch: one warm-up, then `steps` timed.
template <typename Step>
double samples_per_second(Step&& step, int64_t batch, int steps) {
    step();
    const auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) step();
    return static_cast<double>(batch * steps) / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
    std::string config = std::string(SOUL_SOURCE_DIR) + "/models/configs/phantom-small.json", python = "/usr/bin/python3";
    int steps = 10, images = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--config") config = argv[i + 1];
        else if (a == "--steps") steps = std::atoi(argv[i + 1]);
        else if (a == "--images") images = std::atoi(argv[i + 1]);
        else if (a == "--python") python = argv[i + 1];
    }
    const int threads = init_compute_threads();
    std::printf("LibTorch %s, %d threads\n\n", torch_version().c_str(), threads);
    const model::EncoderConfig c = model::read_encoder_config(config);
    constexpr int64_t kVocabulary = 2000, kDdimSteps = 25;
    torch::manual_seed(0);
    train::RunModels m;
    train::build_generator_models(c, kVocabulary, torch::kCPU, m);
    const int64_t b = c.batch_size, side = c.gen_image_size / 4, L = c.max_tokens;

    // UNet training step: forward, backward, AdamW, on random latents and caption features.
    double unet_train = 0, vae_train = 0;
    {
        torch::optim::AdamW opt(m.unet->parameters(), torch::optim::AdamWOptions(1e-4));
        const torch::Tensor x0 = torch::randn({b, c.latent_channels, side, side}), context = torch::randn({b, L, c.text_width});
        const torch::Tensor mask = torch::ones({b, L}, torch::kBool);
        auto step = [&] {
            const torch::Tensor t = torch::randint(0, 1000, {b}, torch::kLong), noise = torch::randn_like(x0);
            const torch::Tensor loss = torch::mse_loss(m.unet->forward(x0 * 0.5 + noise * 0.5, t, context, mask), noise);
            opt.zero_grad();
            loss.backward();
            opt.step();
        };
        unet_train = samples_per_second(step, b, steps);
    }
    {
        torch::optim::AdamW opt(m.vae->parameters(), torch::optim::AdamWOptions(1e-4));
        const torch::Tensor batch = torch::rand({b, 3, c.gen_image_size, c.gen_image_size});
        auto step = [&] {
            const auto [rec, kl] = model::vae_losses(*m.vae, batch);
            const torch::Tensor loss = rec + c.vae_kl_weight * kl;
            opt.zero_grad();
            loss.backward();
            opt.step();
        };
        vae_train = samples_per_second(step, b, steps);
    }
    // One image, the engine's path: caption, palette and edges, 25 steps, guidance 3.
    double per_image = 0;
    {
        for (auto* module : train::all_modules(m)) module->eval();
        const std::unique_ptr<infer::Generator> generator = infer::make_run_generator(c, m, torch::kCPU);
        infer::GenerationConditions cond;
        cond.tokens = torch::randint(2, kVocabulary, {1, L}, torch::kLong);
        cond.palette = torch::rand({1, 3, 8, 8});
        cond.edges = torch::rand({1, 1, c.image_size, c.image_size});
        soul::SamplerSettings s;
        s.steps = kDdimSteps;
        s.cfg = 3.0;
        generator->generate(cond, s);
        const auto t0 = Clock::now();
        for (int i = 0; i < images; ++i) generator->generate(cond, s);
        per_image = seconds_since(t0) / images;
    }

    const nlohmann::json shapes = {{"batch", b}, {"image_size", c.gen_image_size}, {"latent_channels", c.latent_channels}, {"unet_width", c.unet_width},
                                   {"unet_heads", c.unet_heads}, {"vae_width", c.vae_width}, {"tokens", L}, {"context_width", c.text_width},
                                   {"steps", steps}, {"ddim_steps", kDdimSteps}, {"image_repeats", images}, {"threads", threads}};
    const std::string shapes_path = "/tmp/bench_generator_shapes.json", result_path = "/tmp/bench_generator_python.json";
    std::ofstream(shapes_path) << shapes.dump();
    const std::string command = python + " " + SOUL_SOURCE_DIR + "/bench/generator_torch.py " + shapes_path + " " + result_path;
    nlohmann::json py;
    if (std::system(command.c_str()) == 0) py = nlohmann::json::parse(std::ifstream(result_path));
    else std::printf("(python3-torch run failed: %s)\n", command.c_str());
    auto cell = [&](const char* key) { return py.contains(key) ? py[key].get<double>() : std::nan(""); };
    std::printf("generator, config %s (UNet width %lld, latents %lldx%lldx%lld, batch %lld)\n", c.name.c_str(), static_cast<long long>(c.unet_width),
                static_cast<long long>(c.latent_channels), static_cast<long long>(side), static_cast<long long>(side), static_cast<long long>(b));
    std::printf("  %-44s %14s %16s\n", "", "C++ LibTorch", "python3-torch");
    std::printf("  %-44s %14.1f %16.1f\n", "UNet training, samples/s", unet_train, cell("unet_train"));
    std::printf("  %-44s %14.1f %16.1f\n", "VAE training, samples/s", vae_train, cell("vae_train"));
    std::printf("  %-44s %14.3f %16.3f\n", "one 64x64 image, 25 DDIM steps + guidance, s", per_image, cell("seconds_per_image"));
    return 0;
}
