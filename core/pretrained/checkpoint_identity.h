// What a Stable Diffusion weight file is, from its keys and shapes alone, so that a file of
// another model is named and refused rather than half-read: SD 1.x and 2.x (by the UNet's
// cross-attention width, 768 or 1024), SDXL (its second text encoder and the UNet's label
// embedding), an inpainting or other variant UNet (input channels other than 4), a LoRA (low-rank
// deltas, not a model), or a file with no UNet (a VAE or text encoder alone).
#pragma once

#include <cstdint>
#include <string>

namespace soul::pretrained {

struct CheckpointIdentity {
    std::string name;               // "Stable Diffusion 1.x", "Stable Diffusion XL", "a LoRA", …
    bool lora = false, xl = false;
    bool has_unet = false, has_vae = false, has_text_encoder = false;
    int64_t unet_input_channels = 0;   // 4, or 9 for inpainting, 8 for instruct-pix2pix, 5 for depth
    int64_t context_width = 0;         // the UNet's cross-attention width: 768 (1.x), 1024 (2.x), 2048 (XL); 0 unknown
};

// An original single-file checkpoint (.safetensors, .ckpt); soul::Error(path, ...) as the readers give it.
CheckpointIdentity identify_checkpoint(const std::string& path);

// soul::Error(path, ...) naming what the file is when it is a LoRA or an SDXL checkpoint, which
// this engine does not read (`part`: what the caller wanted from it, "the autoencoder").
void refuse_unsupported_checkpoint(const std::string& path, const CheckpointIdentity& identity, const std::string& part);

}  // namespace soul::pretrained
