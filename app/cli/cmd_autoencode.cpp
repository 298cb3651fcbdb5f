// `souldiffuser autoencode`: an image through your own Stable Diffusion autoencoder and back — a
// check that the files load, and what the latent space keeps (the end of every reconstruction on
// Stable Diffusion).
#include "commands.h"

#include "soul/autoencoding.h"
#include "soul/error.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace cli {

namespace {

struct AutoencodeArgs {
    std::string image, model, out;
    int64_t size = 512;   // Stable Diffusion 1.x's training resolution
};

void autoencode(const AutoencodeArgs& a) {
    if (std::filesystem::exists(a.out)) throw soul::Error(a.out, "already exists; autoencode does not replace files (pick another --out)");
    const auto result = soul::autoencode_image(a.model, a.image, a.size);
    soul::write_png(a.out, result.reconstruction);
    std::printf("%s: %lld×%lld → latents %lld×%lld×%lld → %s (PSNR %.2f dB against the resized input; on %s)\n", a.image.c_str(),
                static_cast<long long>(a.size), static_cast<long long>(a.size), static_cast<long long>(result.latent_channels),
                static_cast<long long>(result.latent_size), static_cast<long long>(result.latent_size), a.out.c_str(), result.psnr,
                result.device.c_str());
}

}  // namespace

Command add_autoencode(CLI::App& app) {
    auto* command = app.add_subcommand("autoencode", "Round-trip an image through your own Stable Diffusion autoencoder (VAE)");
    auto a = std::make_shared<AutoencodeArgs>();
    command->add_option("image", a->image, "A PNG or JPEG; its centre square is used")->required();
    command->add_option("--model", a->model,
                        "A diffusers Stable Diffusion folder (vae/), a vae/ folder, or an original single-file checkpoint (.safetensors, .ckpt)")
        ->required();
    command->add_option("--out", a->out, "The PNG to write (not replaced if it exists)")->required();
    command->add_option("--size", a->size, "Side in pixels, a multiple of 8 (default 512)");
    return {command, [a] { return reporting_errors("autoencode", false, [&] { autoencode(*a); }); }};
}

}  // namespace cli
