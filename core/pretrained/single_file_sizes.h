// The sizes of the networks in an original single-file Stable Diffusion checkpoint (CompVis'
// ldm layout: model.diffusion_model., first_stage_model., cond_stage_model.transformer.), read
// from its tensors' shapes, since such a file carries no config.json. This is how the single-file
// loaders of the field work out what they hold (ComfyUI's comfy/model_detection.py
// detect_unet_config, stable-diffusion.cpp's model.cpp): a fine-tuned or resized model loads with
// its own widths, not the published ones.
//
// What shapes cannot say comes from the cross-attention width, as the published models fix it:
// 768 (1.x, CLIP ViT-L/14) has 8 heads in every block; 1024 (2.x, OpenCLIP ViT-H/14) 64-wide
// heads; the norms' 32 groups and the timestep features are the same in both.
#pragma once

#include "autoencoder_kl.h"
#include "load_weights.h"
#include "text_encoders.h"
#include "unet_2d_condition.h"

#include <string>

namespace soul::pretrained {

// The UNet under model.diffusion_model.: input/output channels, block widths and kinds (with or
// without cross-attention), resnets per block, projections (1×1 convolution or linear) and the
// cross-attention width. soul::Error(path, ...) naming the key when the structure is not Stable
// Diffusion's: a key missing or of the wrong rank, downsamplers not evenly spaced, more than one
// transformer a block, a timestep MLP of another width, no cross-attention anywhere.
UNet2DConditionConfig unet_config_from_shapes(const std::string& path, const WeightShapes& shapes);

// The autoencoder under first_stage_model. (or a standalone original VAE file without the prefix):
// image and latent channels, block widths and resnets per block. The latent scale stays 0.18215.
AutoencoderKLConfig autoencoder_kl_config_from_shapes(const std::string& path, const WeightShapes& shapes);

// 1.x's CLIP text tower under cond_stage_model.transformer.: vocabulary, positions, width, layers,
// MLP width (64-wide heads, quick GELU, no projection: Stable Diffusion uses the hidden states).
ClipTextConfig clip_text_config_from_shapes(const std::string& path, const WeightShapes& shapes);

}  // namespace soul::pretrained
