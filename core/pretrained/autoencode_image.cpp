// An image through the user's Stable Diffusion autoencoder and back (soul/autoencoding.h).
#include "soul/autoencoding.h"

#include "autoencoder_kl.h"
#include "checkpoint_identity.h"
#include "single_file_sizes.h"
#include "soul/error.h"
#include "soul/runtime.h"

#include <cmath>
#include <filesystem>

namespace soul {
namespace {

namespace fs = std::filesystem;

bool has_extension(const fs::path& p, const std::vector<std::string>& extensions) {
    for (const auto& e : extensions)
        if (p.extension() == e) return true;
    return false;
}

}  // namespace

AutoencoderFiles find_autoencoder(const std::string& path) {
    const fs::path p(path);
    if (fs::is_regular_file(p)) {
        if (!has_extension(p, {".safetensors", ".ckpt", ".pt", ".pth", ".bin"}))
            throw Error(path, "is neither a Stable Diffusion folder nor a checkpoint file (.safetensors, .ckpt)");
        return {"", path};
    }
    if (!fs::is_directory(p)) throw Error(path, "does not exist (a Stable Diffusion folder, its vae/ folder or a checkpoint file)");
    const fs::path vae = fs::is_directory(p / "vae") ? p / "vae" : p;
    AutoencoderFiles files;
    files.config = (vae / "config.json").string();
    if (!fs::exists(files.config)) throw Error(vae.string(), "has no config.json (not a diffusers autoencoder folder)");
    for (const char* name : {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.safetensors"})
        if (fs::exists(vae / name)) {
            files.weights = (vae / name).string();
            break;
        }
    if (files.weights.empty()) throw Error(vae.string(), "has no diffusion_pytorch_model.safetensors or .bin (the autoencoder's weights)");
    return files;
}

AutoencodeResult autoencode_image(const std::string& model, const std::string& image_path, int64_t size) {
    const AutoencoderFiles files = find_autoencoder(model);
    if (files.config.empty()) {   // a single file: say what it is when it is not ours to read
        const auto identity = pretrained::identify_checkpoint(files.weights);
        pretrained::refuse_unsupported_checkpoint(files.weights, identity, "autoencoder");
        if (!identity.has_vae && identity.has_unet)
            throw Error(files.weights, "is " + identity.name + " without its autoencoder (no first_stage_model. keys)");
    }
    const auto config = files.config.empty() ? pretrained::autoencoder_kl_config_from_shapes(files.weights, pretrained::weight_shapes(files.weights))
                                             : pretrained::read_autoencoder_kl_config(files.config);
    pretrained::AutoencoderKL vae(config);
    if (size <= 0 || size % vae->downscale())
        throw Error("--size " + std::to_string(size) + " is not a positive multiple of the autoencoder's downscale " + std::to_string(vae->downscale()));
    const RgbImage image = read_rgb_image(image_path);
    pretrained::load_weights(*vae, files.weights, pretrained::autoencoder_kl_layout(pretrained::weight_names(files.weights)));
    const torch::Device device(default_device_name());
    vae->eval();
    vae->to(device);

    AutoencodeResult result;
    const int64_t side = std::min(image.height, image.width);
    const auto square = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, torch::kUInt8)
                            .narrow(0, (image.height - side) / 2, side)
                            .narrow(1, (image.width - side) / 2, side)
                            .contiguous();
    result.input = {size, size, resize_rgb(square.data_ptr<uint8_t>(), side, side, size)};
    const auto x = torch::from_blob(result.input.pixels.data(), {1, size, size, 3}, torch::kUInt8).permute({0, 3, 1, 2}).to(torch::kFloat32).div(127.5).sub(1);
    torch::NoGradGuard no_grad;
    const auto latents = vae->encode(x.to(device));
    const auto y = vae->decode(latents).to(torch::kCPU).clamp(-1, 1).add(1).mul(127.5).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
    result.reconstruction = {size, size, std::vector<uint8_t>(y.data_ptr<uint8_t>(), y.data_ptr<uint8_t>() + y.numel())};
    result.latent_channels = latents.size(1);
    result.latent_size = latents.size(2);
    double squared = 0;
    for (size_t i = 0; i < result.input.pixels.size(); ++i) {
        const double d = double(result.input.pixels[i]) - double(result.reconstruction.pixels[i]);
        squared += d * d;
    }
    const double mse = squared / static_cast<double>(result.input.pixels.size());
    result.psnr = mse > 0 ? 10 * std::log10(255.0 * 255.0 / mse) : INFINITY;
    result.device = device.str();
    return result;
}

}  // namespace soul
