// A training configuration (models/configs/*.json): sizes of every module and the schedule of
// every stage. Unknown keys and out-of-range values are refused with the file and key named.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace soul::model {

struct StageSchedule {
    int64_t epochs = 1;
    double lr = 1e-3;
};

struct EncoderConfig {
    std::string name;
    uint64_t seed = 1;
    double validation_fraction = 0;   // training images held out to choose settings on (evaluate --split validation)
    // The share of the training images (with all their trials) the fMRI encoders learn from, for
    // sample-efficiency curves; drawn by a hash of (seed, image) after the validation split.
    double train_fraction = 1;
    int64_t image_size = 32;          // side of images inside the encoders and their targets
    int64_t embed_dim = 64;           // the shared image/text embedding space
    int64_t batch_size = 32;
    double weight_decay = 0.01;
    int64_t checkpoint_every = 200;   // steps between checkpoints within a stage
    // embedding space
    int64_t text_width = 64, text_layers = 2, max_tokens = 16;
    // Weight of a second InfoNCE between two captions of the same image (SimCSE-style, Gao et al.
    // 2021, with the image's other captions as positives): the text side then keeps what the
    // captions agree on (the object's category, across synonyms) even where the small image
    // encoder cannot yet see it. 0 = image–caption loss only.
    double embedding_caption_weight = 0.0;
    StageSchedule embedding{20, 2e-3};
    // A pretrained text encoder's folder (BERT, as the paper; or CLIP's text tower): SemBERT and the
    // flattened baseline then predict its caption embeddings and captions are retrieved in its
    // space (core/train/caption_table.h). Empty: the built-in text encoder above.
    std::string caption_encoder;
    // fMRI-SSMNet
    int64_t ssm_width = 48, ssm_state = 8, ssm_expand = 2, ssm_patch = 128, ssm_global_layers = 1;
    double ssm_image_weight = 1.0, ssm_regression_weight = 1.0;
    int64_t ssm_token_readout = 0;       // features per token in SSMNet's spatial embedding readout; 0 = pooled only
    int64_t ssm_per_patch_weights = 0;   // 1: the tokenizer reads each patch with its own filters
    StageSchedule ssmnet{15, 1e-3};
    // fMRI-SemBERT
    int64_t sem_width = 64, sem_heads = 4, sem_layers = 2, sem_patch = 32;
    double sem_mask_ratio = 0.25;
    int64_t sem_token_readout = 0;       // features per token in SemBERT's spatial readout; 0 = [CLS] only
    int64_t sem_per_patch_weights = 0;   // 1: the tokenizer reads each patch with its own filters
    StageSchedule sembert{15, 1e-3};
    // fMRI-EdgeColorNet
    int64_t ec_hidden = 256, ec_extra_images = 2000;
    StageSchedule ec_encoder{10, 1e-3}, ec_decoder{15, 1e-3}, ec_cycle{5, 5e-4};
    // flattened baseline
    int64_t flat_hidden = 512;
    StageSchedule baseline{15, 1e-3};
    // the generator (box d): VAE, UNet, adapters, and the classifier that scores its images
    int64_t gen_image_size = 64;      // the generator's images; latents are a quarter of the side
    int64_t vae_width = 32, latent_channels = 4, vae_extra_images = 2000;
    double vae_kl_weight = 1e-5;
    StageSchedule vae{10, 1e-3};
    int64_t unet_width = 64, unet_heads = 4, diffusion_steps = 1000;
    double unet_caption_drop = 0.1;   // classifier-free guidance: captions dropped in training
    int64_t unet_pooled_caption = 0;  // 1: the caption's mean token also joins the timestep embedding
    int64_t unet_extra_images = 0;    // captioned phantom scenes without fMRI added to the UNet's training
    double unet_min_snr_gamma = 0;    // > 0: the UNet's and adapters' ε-loss weighted by min(SNR, γ) / SNR (Min-SNR-γ)
    StageSchedule unet{40, 5e-4};
    double adapter_drop = 0.5;        // each condition is left out of a training row with this chance
    StageSchedule adapters{15, 5e-4};
    // The adapters for the user's Stable Diffusion (stage sd_adapters), with adapter_drop as above.
    StageSchedule sd_adapters{2, 1e-4};
    int64_t classifier_width = 16;
    int64_t classifier_extra_images = 0;   // phantom scenes without fMRI added to the judge's training (test garments left out)
    int64_t classifier_position = 0;       // 1: the judge also regresses the object's position
    int64_t classifier_stages = 3;         // convolution stages (each halves the side)
    StageSchedule classifier{10, 2e-3};

    nlohmann::json to_json() const;
};

// Reads and validates a config file; throws soul::Error naming the file and the key.
EncoderConfig read_encoder_config(const std::string& path);
EncoderConfig encoder_config_from_json(const nlohmann::json& j, const std::string& path);

}  // namespace soul::model
