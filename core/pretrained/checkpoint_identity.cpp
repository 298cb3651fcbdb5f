// What a Stable Diffusion weight file is (checkpoint_identity.h). The keys are the original
// single file's (CompVis' ldm and Stability's generative-models): model.diffusion_model. (UNet),
// first_stage_model. (VAE), cond_stage_model. (1.x/2.x text encoder), conditioner.embedders.
// (SDXL's two text encoders); LoRA files carry lora_up/lora_down (kohya's lora_unet_…, lora_te_…)
// or diffusers' .lora_A/.lora_B.
#include "checkpoint_identity.h"

#include "load_weights.h"
#include "soul/error.h"

namespace soul::pretrained {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

CheckpointIdentity identify_checkpoint(const std::string& path) {
    CheckpointIdentity id;
    for (const auto& [k, shape] : weight_shapes(path)) {
        id.lora |= contains(k, "lora_up") || contains(k, "lora_down") || contains(k, ".lora_A.") || contains(k, ".lora_B.") || starts_with(k, "lora_");
        id.xl |= starts_with(k, "conditioner.embedders.1.") || starts_with(k, "model.diffusion_model.label_emb.");
        id.has_unet |= starts_with(k, "model.diffusion_model.");
        id.has_vae |= starts_with(k, "first_stage_model.");
        id.has_text_encoder |= starts_with(k, "cond_stage_model.") || starts_with(k, "conditioner.embedders.");
        if (k == "model.diffusion_model.input_blocks.0.0.weight" && shape.size() == 4) id.unet_input_channels = shape[1];
        if (contains(k, "model.diffusion_model.") && ends_with(k, ".attn2.to_k.weight") && shape.size() == 2 && !id.context_width)
            id.context_width = shape[1];
    }
    if (id.lora) {
        id.name = "a LoRA (low-rank changes to a model, not a model)";
    } else if (id.xl) {
        id.name = "Stable Diffusion XL";
    } else if (!id.has_unet) {
        id.name = id.has_vae ? "a Stable Diffusion autoencoder alone" : "a file without a Stable Diffusion UNet";
    } else {
        id.name = id.context_width == 1024 ? "Stable Diffusion 2.x" : id.context_width == 768 ? "Stable Diffusion 1.x" : "Stable Diffusion";
        if (id.unet_input_channels == 9) id.name = "an inpainting " + id.name;
        else if (id.unet_input_channels && id.unet_input_channels != 4)
            id.name += " with a " + std::to_string(id.unet_input_channels) + "-channel UNet input (a variant: depth, instruct-pix2pix)";
    }
    return id;
}

void refuse_unsupported_checkpoint(const std::string& path, const CheckpointIdentity& identity, const std::string& part) {
    if (identity.lora)
        throw Error(path, "is " + identity.name + ": it has no " + part + " of its own; give the Stable Diffusion checkpoint it was trained for");
    if (identity.xl)
        throw Error(path, "is a " + identity.name + " checkpoint, which this engine does not read (Stable Diffusion 1.x and 2.x only); "
                          "for its " + part + " alone, give a diffusers folder with its config.json");
}

}  // namespace soul::pretrained
