// Pretrained network benchmark (issue "Research scale"), full size, random weights (speed does not
// depend on them), no gradients, in the engine (core/pretrained) and, in the same run, in
// PyTorch's own layers with the same architectures (bench/pretrained_torch.py; Debian 12 packages
// neither transformers nor diffusers):
//   - seconds (best of 3) to encode a batch of captions with CLIP ViT-L/14's text tower (Stable
//     Diffusion 1.x's text encoder, 77 tokens) and bert-base-uncased (32 tokens);
//   - seconds for Stable Diffusion 1.x's autoencoder: one 256-px image encoded and decoded (best
//     of 2), and one 512-px image's latents decoded (once), the last step of every image;
//   - seconds for one guided denoising step of Stable Diffusion 1.x's UNet (batch 2: the caption's
//     and the empty caption's predictions) at 256 px (32×32 latents, best of 2) and 512 px
//     (64×64, once). A whole image is about steps × this + the text encoder + one decode.
//   - with --whole-images: seconds for whole text-to-image generations through the engine's
//     Stable Diffusion generator (core/infer/stable_diffusion_generator.cpp) with the full-size
//     1.x networks, 25 DDIM steps, guidance 7.5, at 256 and at 512 px (the tokenizer is the
//     tests' small BPE fixture: the text encoder's cost does not depend on the vocabulary).
//     About 7 minutes on 2 cores; no PyTorch side (diffusers is not packaged in Debian 12).
//
// Usage: bench_pretrained [--batch 8] [--python /usr/bin/python3] [--whole-images]
#include "infer/generator.h"
#include "pretrained/autoencoder_kl.h"
#include "pretrained/stable_diffusion.h"
#include "pretrained/text_encoders.h"
#include "pretrained/unet_2d_condition.h"
#include "soul/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using Clock = std::chrono::steady_clock;
using namespace soul;

namespace {

constexpr int kRepeats = 3;             // the best of three: the machine's cores are shared
constexpr int64_t kBertTokens = 32;     // a long caption in WordPiece pieces
constexpr int64_t kWholeImageSteps = 25;   // the measure: a 25-step image
constexpr double kStableDiffusionGuidance = 7.5;   // diffusers' default for Stable Diffusion
constexpr int64_t kGuidedBatch = 2;     // classifier-free guidance: the caption's and the empty caption's prediction

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <typename F>
double best_of(F&& f, int repeats = kRepeats, bool warm_up = true) {
    if (warm_up) f();
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = Clock::now();
        f();
        best = std::min(best, seconds_since(t0));
    }
    return best;
}

// Whole 25-step images through the generator with the full-size Stable Diffusion 1.x networks.
int bench_whole_images() {
    const int threads = init_compute_threads();
    std::printf("LibTorch %s, %d threads: whole Stable Diffusion 1.x images, %lld DDIM steps, guidance %.1f\n\n", torch_version().c_str(), threads,
                static_cast<long long>(kWholeImageSteps), kStableDiffusionGuidance);
    torch::manual_seed(0);
    pretrained::StableDiffusion sd;
    sd.files.name = "Stable Diffusion 1.x (random weights)";
    sd.unet = pretrained::UNet2DConditionModel(pretrained::stable_diffusion_1_unet_config());
    sd.vae = pretrained::AutoencoderKL(pretrained::AutoencoderKLConfig{});
    pretrained::ClipTextConfig text;
    text.projection = 0;
    sd.text_encoder = pretrained::ClipTextModel(text);
    sd.tokenizer = std::make_shared<ClipTokenizer>(ClipTokenizer::read(std::string(SOUL_SOURCE_DIR) + "/tests/data/tokenizers"));
    for (torch::nn::Module* m : sd.modules()) m->eval();
    infer::GenerationConditions conditions;
    conditions.captions = {"a giraffe standing in a field"};
    SamplerSettings settings;
    settings.steps = kWholeImageSteps;
    settings.cfg = kStableDiffusionGuidance;
    std::printf("| image | seconds | seconds a step |\n|---|---:|---:|\n");
    for (const int64_t size : {256, 512}) {
        auto generator = infer::make_stable_diffusion_generator(sd, size);
        const auto t0 = Clock::now();
        generator->generate(conditions, settings, {}, false);
        const double seconds = seconds_since(t0);
        std::printf("| %lld px, %lld steps | %.1f | %.2f |\n", static_cast<long long>(size), static_cast<long long>(kWholeImageSteps), seconds,
                    seconds / static_cast<double>(kWholeImageSteps));
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string python = "/usr/bin/python3";
    int64_t batch = 8;
    bool whole_images = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--whole-images") whole_images = true;
        else if (a == "--batch" && i + 1 < argc) batch = std::atoll(argv[++i]);
        else if (a == "--python" && i + 1 < argc) python = argv[++i];
    }
    if (whole_images) return bench_whole_images();
    const int threads = init_compute_threads();
    std::printf("LibTorch %s, %d threads, batch %lld\n\n", torch_version().c_str(), threads, static_cast<long long>(batch));
    torch::manual_seed(0);
    torch::NoGradGuard no_grad;
    pretrained::ClipTextModel clip(pretrained::ClipTextConfig{});
    clip->eval();
    const auto clip_ids = torch::randint(0, 49406, {batch, pretrained::ClipTextConfig{}.positions});
    const double clip_seconds = best_of([&] { clip->forward(clip_ids, 49407); });
    pretrained::BertModel bert(pretrained::BertConfig{});
    bert->eval();
    const auto bert_ids = torch::randint(0, 30522, {batch, kBertTokens});
    const auto bert_mask = torch::ones({batch, kBertTokens}, torch::kInt64);
    const double bert_seconds = best_of([&] { bert->forward(bert_ids, bert_mask); });
    pretrained::AutoencoderKL vae(pretrained::AutoencoderKLConfig{});
    vae->eval();
    const auto image256 = torch::rand({1, 3, 256, 256}) * 2 - 1;
    const double vae256_seconds = best_of([&] { vae->decode(vae->encode(image256)); }, 2, false);
    const auto latents512 = torch::randn({1, 4, 64, 64});
    const double vae512_seconds = best_of([&] { vae->decode(latents512); }, 1, false);
    double unet256_seconds = 0, unet512_seconds = 0;
    {
        pretrained::UNet2DConditionModel unet(pretrained::stable_diffusion_1_unet_config());
        unet->eval();
        const auto context = torch::randn({kGuidedBatch, 77, 768});
        const auto timesteps = torch::full({kGuidedBatch}, 500, torch::kInt64);
        const auto latents256 = torch::randn({kGuidedBatch, 4, 32, 32});
        unet256_seconds = best_of([&] { unet->forward(latents256, timesteps, context); }, 2, false);
        const auto latents512x2 = torch::randn({kGuidedBatch, 4, 64, 64});
        unet512_seconds = best_of([&] { unet->forward(latents512x2, timesteps, context); }, 1, false);
    }

    const std::string result = "/tmp/bench_pretrained_torch.json";
    const std::string command = python + " " + SOUL_SOURCE_DIR + "/bench/pretrained_torch.py " + std::to_string(batch) + " " +
                                std::to_string(threads) + " " + result;
    nlohmann::json reference;
    if (std::system(command.c_str()) == 0) reference = nlohmann::json::parse(std::ifstream(result));
    auto theirs = [&](const char* name) {
        return reference.contains(name) ? std::to_string(reference[name].get<double>()).substr(0, 5) : std::string("—");
    };
    std::printf("| work | engine (s) | PyTorch's own layers (s) |\n|---|---|---|\n");
    std::printf("| CLIP ViT-L/14 text, %lld captions of 77 tokens | %.3f | %s |\n", static_cast<long long>(batch), clip_seconds, theirs("clip").c_str());
    std::printf("| bert-base-uncased, %lld captions of %lld tokens | %.3f | %s |\n", static_cast<long long>(batch),
                static_cast<long long>(kBertTokens), bert_seconds, theirs("bert").c_str());
    std::printf("| SD 1.x autoencoder, 256-px image encoded + decoded | %.3f | %s |\n", vae256_seconds, theirs("vae256").c_str());
    std::printf("| SD 1.x autoencoder, 512-px latents decoded | %.3f | %s |\n", vae512_seconds, theirs("vae512").c_str());
    std::printf("| SD 1.x UNet, one guided step at 256 px | %.3f | %s |\n", unet256_seconds, theirs("unet256").c_str());
    std::printf("| SD 1.x UNet, one guided step at 512 px | %.3f | %s |\n", unet512_seconds, theirs("unet512").c_str());
    return 0;
}
