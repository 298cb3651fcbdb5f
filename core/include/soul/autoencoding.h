// An image through Stable Diffusion's autoencoder read from the user's own files
// (core/pretrained/autoencoder_kl.h): encode to latents and decode back, the round trip every
// reconstruction on Stable Diffusion ends with. What `souldiffuser autoencode` runs; a check that
// the files load and what the autoencoder keeps of an image. No LibTorch in this header.
#pragma once

#include "soul/formats.h"

#include <cstdint>
#include <string>

namespace soul {

// Where the autoencoder's weights and config are. `path` is a diffusers Stable Diffusion folder
// (vae/ with config.json and diffusion_pytorch_model.safetensors or .bin), a vae/ folder itself,
// or an original single-file checkpoint (.safetensors, .ckpt; Stable Diffusion 1.x's sizes).
struct AutoencoderFiles {
    std::string config;    // empty for a single file
    std::string weights;
};
AutoencoderFiles find_autoencoder(const std::string& path);

struct AutoencodeResult {
    RgbImage input, reconstruction;   // the centre square at `size`, and its round trip
    int64_t latent_channels = 0, latent_size = 0;
    double psnr = 0;                  // of the reconstruction against the input, dB
    std::string device;
};

// `size`: the side the image's centre square is resized to, a multiple of the autoencoder's
// downscale (8 for Stable Diffusion). soul::Error naming the file for a bad image, missing or
// foreign weights, or a size that is not a multiple.
AutoencodeResult autoencode_image(const std::string& model, const std::string& image, int64_t size);

}  // namespace soul
