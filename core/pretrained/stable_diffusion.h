// Stable Diffusion 1.x and 2.x (Rombach et al. 2022) from the user's own files, with no Python
// step: the UNet (unet_2d_condition.h), the autoencoder (autoencoder_kl.h), CLIP's text encoder
// and its tokenizer (text_encoders.h, soul/tokenizers.h) and the scheduler's settings, from either
// way it is published:
//   - a diffusers folder (model_index.json; unet/, vae/, text_encoder/, tokenizer/, scheduler/
//     with their config.json files), as runwayml/stable-diffusion-v1-5 or
//     stabilityai/stable-diffusion-2-1 are downloaded;
//   - the original single file (v1-5-pruned-emaonly.safetensors, .ckpt): UNet, VAE and (1.x) the
//     text encoder in one file, sized by its cross-attention width; the tokenizer's vocab.json and
//     merges.txt come from a CLIP folder (openai/clip-vit-large-patch14), and a 2.x file's OpenCLIP
//     text encoder from a transformers/diffusers text-encoder folder.
#pragma once

#include "autoencoder_kl.h"
#include "soul/tokenizers.h"
#include "text_encoders.h"
#include "unet_2d_condition.h"

#include <torch/torch.h>

#include <memory>
#include <string>

namespace soul::pretrained {

// What the model predicts (the scheduler's prediction_type).
enum class Prediction { Epsilon, V };

struct StableDiffusionFiles {
    std::string source;   // what the user gave
    std::string name;     // "Stable Diffusion 1.x (diffusers folder)"
    std::string unet_config;    // empty: the single file's, sized by its cross-attention width
    std::string unet_weights, vae_config, vae_weights;   // vae_config empty: SD's published one
    std::string text_config, text_weights, tokenizer;    // text_config empty: CLIP ViT-L/14's text tower
    std::string pad_token;      // the tokenizer's padding ("!" in 2.x); empty: <|endoftext|>
    Prediction prediction = Prediction::Epsilon;
    int64_t train_steps = 1000;                          // the scheduler: num_train_timesteps,
    double beta_start = 0.00085, beta_end = 0.012;       // scaled-linear β from beta_start to beta_end
};

// `path`: a diffusers folder or a single file. `text_encoder`: a CLIP text-encoder folder (needed
// for a single file's tokenizer; overrides a folder's own). `prediction`: "", "epsilon" or "v"
// (needed for a 2.x single file, which does not say; overrides the scheduler config).
// soul::Error naming the folder or file and what is missing or of another model: SDXL, a LoRA,
// an inpainting UNet, a scheduler other than scaled-linear.
StableDiffusionFiles find_stable_diffusion(const std::string& path, const std::string& text_encoder = "", const std::string& prediction = "");

struct StableDiffusion {
    StableDiffusionFiles files;
    UNet2DConditionModel unet{nullptr};
    AutoencoderKL vae{nullptr};
    ClipTextModel text_encoder{nullptr};
    std::shared_ptr<ClipTokenizer> tokenizer;
    torch::Device device{torch::kCPU};
    torch::ScalarType dtype = torch::kFloat32;
    std::vector<torch::nn::Module*> modules() const;   // the UNet, the autoencoder, the text encoder
    int64_t parameters() const;
    // The side an image must be a multiple of for adapter residuals to meet every down block's
    // output: the autoencoder's downscale times the UNet's (2 per block but the last).
    int64_t adapter_size_multiple() const;
    // Captions → the UNet's context (B, 77, width): CLIP's last hidden state.
    torch::Tensor encode_captions(const std::vector<std::string>& captions);
};

// The three networks loaded (every key checked; nothing half-loaded), in eval mode on `device`
// in `dtype` (float16 or bfloat16 on CUDA; float32 on CPU, where half precision is refused).
std::unique_ptr<StableDiffusion> load_stable_diffusion(const StableDiffusionFiles& files, torch::Device device, torch::ScalarType dtype);

}  // namespace soul::pretrained
