// Stable Diffusion from the user's files (stable_diffusion.h). The folder layout is diffusers'
// (pipelines/stable_diffusion: model_index.json and one folder per component); the single file is
// CompVis'/Stability's (ldm's LatentDiffusion state dict: model.diffusion_model., first_stage_model.,
// cond_stage_model.). The scheduler facts are diffusers' DDIMScheduler/PNDMScheduler configs.
#include "stable_diffusion.h"

#include "checkpoint_identity.h"
#include "config_json.h"
#include "single_file_sizes.h"
#include "soul/error.h"
#include "soul/text_encoding.h"

#include <algorithm>
#include <filesystem>

namespace soul::pretrained {

namespace fs = std::filesystem;

namespace {

std::string first_existing(const fs::path& folder, const std::vector<const char*>& names) {
    for (const char* name : names)
        if (fs::exists(folder / name)) return (folder / name).string();
    return {};
}

std::string require_file(const fs::path& folder, const std::vector<const char*>& names, const std::string& what) {
    const std::string found = first_existing(folder, names);
    if (found.empty()) throw Error(folder.string(), "has no " + std::string(names.front()) + " (" + what + ")");
    return found;
}

Prediction parse_prediction(const std::string& where, const std::string& text) {
    if (text == "epsilon") return Prediction::Epsilon;
    if (text == "v" || text == "v_prediction") return Prediction::V;
    throw Error(where, "prediction type \"" + text + "\" is neither epsilon nor v (v_prediction)");
}

void read_scheduler(const std::string& path, StableDiffusionFiles& f) {
    const auto j = read_config_json(path);
    if (j.contains("beta_schedule") && j["beta_schedule"] != "scaled_linear")
        throw Error(path, "beta_schedule " + j["beta_schedule"].dump() + " is not Stable Diffusion's scaled_linear");
    f.train_steps = config_size(path, j, "num_train_timesteps", f.train_steps);
    for (auto [key, value] : {std::pair{"beta_start", &f.beta_start}, std::pair{"beta_end", &f.beta_end}})
        if (j.contains(key)) {
            if (!j[key].is_number() || !(j[key].get<double>() > 0) || !(j[key].get<double>() < 1)) throw Error(path, std::string(key) + " is not a number in (0, 1)");
            *value = j[key].get<double>();
        }
    if (j.contains("prediction_type")) {
        if (!j["prediction_type"].is_string()) throw Error(path, "prediction_type is not text");
        f.prediction = parse_prediction(path, j["prediction_type"].get<std::string>());
    }
}

void use_text_encoder_folder(const std::string& folder, StableDiffusionFiles& f) {
    const TextEncoderFiles text = find_text_encoder(folder);
    if (text.kind != "CLIP") throw Error(folder, "holds a " + text.kind + " text encoder; Stable Diffusion is conditioned by CLIP's");
    f.text_config = text.config;
    f.text_weights = text.weights;
    f.tokenizer = text.tokenizer;
    const std::string special = (fs::path(text.tokenizer) / "special_tokens_map.json").string();
    f.pad_token.clear();
    if (fs::exists(special)) {
        const auto j = read_config_json(special);
        if (j.contains("pad_token")) {
            const auto& pad = j["pad_token"];
            const auto token = pad.is_string() ? pad.get<std::string>() : pad.is_object() && pad.contains("content") ? pad["content"].get<std::string>() : "";
            if (token != "<|endoftext|>") f.pad_token = token;
        }
    }
}

StableDiffusionFiles find_folder(const fs::path& folder, const std::string& text_encoder, const std::string& prediction) {
    StableDiffusionFiles f;
    f.source = folder.string();
    const std::string index = (folder / "model_index.json").string();
    if (fs::exists(index)) {
        const auto j = read_config_json(index);
        const std::string pipeline = j.value("_class_name", std::string());
        if (pipeline.find("XL") != std::string::npos)
            throw Error(index, "is a " + pipeline + ": Stable Diffusion XL, which this engine does not read (1.x and 2.x only)");
    }
    for (const char* part : {"unet", "vae"})
        if (!fs::is_directory(folder / part)) throw Error(folder.string(), std::string("has no ") + part + "/ folder: not a diffusers Stable Diffusion folder");
    const std::vector<const char*> weights = {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.safetensors"};
    f.unet_config = require_file(folder / "unet", {"config.json"}, "the UNet's sizes");
    f.unet_weights = require_file(folder / "unet", weights, "the UNet's weights");
    f.vae_config = require_file(folder / "vae", {"config.json"}, "the autoencoder's sizes");
    f.vae_weights = require_file(folder / "vae", weights, "the autoencoder's weights");
    use_text_encoder_folder(text_encoder.empty() ? folder.string() : text_encoder, f);
    if (fs::exists(folder / "scheduler" / "scheduler_config.json")) read_scheduler((folder / "scheduler" / "scheduler_config.json").string(), f);
    if (!prediction.empty()) f.prediction = parse_prediction("--prediction", prediction);
    const auto unet = read_unet_2d_condition_config(f.unet_config);
    if (unet.in_channels != 4)
        throw Error(f.unet_config, "in_channels " + std::to_string(unet.in_channels) + ": " + (unet.in_channels == 9 ? "an inpainting UNet" : "a variant UNet") +
                                       ", which this engine does not run (Stable Diffusion's text-to-image UNet has 4)");
    f.name = std::string(unet.context_width == 1024 ? "Stable Diffusion 2.x" : unet.context_width == 768 ? "Stable Diffusion 1.x" : "Stable Diffusion") +
             " (diffusers folder)";
    return f;
}

StableDiffusionFiles find_single_file(const std::string& path, const std::string& text_encoder, const std::string& prediction) {
    const CheckpointIdentity id = identify_checkpoint(path);
    refuse_unsupported_checkpoint(path, id, "UNet");
    if (!id.has_unet) {
        const auto names = weight_names(path);
        const bool diffusers_unet = std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.rfind("down_blocks.", 0) == 0; });
        if (diffusers_unet && std::count(names.begin(), names.end(), "conv_in.weight"))
            throw Error(path, "is a part of a diffusers folder (its unet/ weights alone): give the folder it belongs to");
        throw Error(path, "is " + id.name + " (no key under model.diffusion_model.)");
    }
    if (id.unet_input_channels != 4) throw Error(path, "is " + id.name + ", which this engine does not run (Stable Diffusion's text-to-image UNet)");
    if (!id.has_vae) throw Error(path, "is " + id.name + " without its autoencoder (first_stage_model.): give the diffusers folder");
    if (id.context_width != 768 && id.context_width != 1024)
        throw Error(path, "has a UNet whose cross-attention width is " + std::to_string(id.context_width) + ", neither 1.x's 768 nor 2.x's 1024");
    const bool v2 = id.context_width == 1024;
    StableDiffusionFiles f;
    f.source = path;
    f.name = id.name + " (single file)";
    f.unet_weights = f.vae_weights = path;
    if (text_encoder.empty())
        throw Error(path, "is a single file, which carries no tokenizer: give a CLIP folder with --text-encoder (" +
                              std::string(v2 ? "a Stable Diffusion 2.x diffusers folder or its text_encoder, tokenizer" : "openai/clip-vit-large-patch14") + ")");
    use_text_encoder_folder(text_encoder, f);
    if (!v2 && id.has_text_encoder) {   // 1.x carries CLIP ViT-L/14's text tower under cond_stage_model.transformer.
        f.text_weights = path;
        f.text_config.clear();
    }
    if (v2 && prediction.empty())
        throw Error(path, "is a Stable Diffusion 2.x single file, which does not say what its UNet predicts: give --prediction v (the 768-px "
                          "models, v2-1_768) or --prediction epsilon (the 512-px base models)");
    if (!prediction.empty()) f.prediction = parse_prediction("--prediction", prediction);
    return f;
}

torch::nn::Module& prepared(torch::nn::Module& m, torch::Device device, torch::ScalarType dtype) {
    m.eval();
    m.to(device, dtype);
    return m;
}

}  // namespace

StableDiffusionFiles find_stable_diffusion(const std::string& path, const std::string& text_encoder, const std::string& prediction) {
    if (!fs::exists(path)) throw Error(path, "does not exist (a diffusers Stable Diffusion folder or a .safetensors/.ckpt checkpoint)");
    return fs::is_directory(path) ? find_folder(path, text_encoder, prediction) : find_single_file(path, text_encoder, prediction);
}

std::vector<torch::nn::Module*> StableDiffusion::modules() const { return {unet.ptr().get(), vae.ptr().get(), text_encoder.ptr().get()}; }

int64_t StableDiffusion::parameters() const {
    int64_t n = 0;
    for (const torch::nn::Module* m : modules())
        for (const auto& p : m->parameters()) n += p.numel();
    return n;
}

int64_t StableDiffusion::adapter_size_multiple() const { return vae->downscale() << (unet->config.channels.size() - 1); }

torch::Tensor StableDiffusion::encode_captions(const std::vector<std::string>& captions) {
    auto ids = torch::empty({static_cast<int64_t>(captions.size()), text_encoder->config.positions}, torch::kInt64);
    for (size_t i = 0; i < captions.size(); ++i) {
        const auto row = tokenizer->encode(captions[i], text_encoder->config.positions);
        std::copy(row.begin(), row.end(), ids[static_cast<int64_t>(i)].data_ptr<int64_t>());
    }
    return text_encoder->forward(ids.to(device), tokenizer->end_id()).last_hidden_state;
}

std::unique_ptr<StableDiffusion> load_stable_diffusion(const StableDiffusionFiles& files, torch::Device device, torch::ScalarType dtype) {
    if (device.is_cpu() && dtype != torch::kFloat32)
        throw Error(files.source, "half precision is for CUDA; on the CPU Stable Diffusion runs in float32 (LibTorch's CPU kernels for float16 are slow or missing)");
    auto sd = std::make_unique<StableDiffusion>();
    sd->files = files;
    sd->device = device;
    sd->dtype = dtype;
    // A single file carries no config: its sizes are read from its shapes.
    const WeightShapes single = files.unet_config.empty() ? weight_shapes(files.unet_weights) : WeightShapes{};
    std::vector<std::string> single_names;
    for (const auto& entry : single) single_names.push_back(entry.first);
    const UNet2DConditionConfig unet_config =
        files.unet_config.empty() ? unet_config_from_shapes(files.unet_weights, single) : read_unet_2d_condition_config(files.unet_config);
    sd->unet = UNet2DConditionModel(unet_config);
    const auto unet_names = files.unet_config.empty() ? single_names : weight_names(files.unet_weights);
    load_weights(*sd->unet, files.unet_weights, unet_2d_condition_layout(unet_names, unet_config.layers_per_block));

    sd->vae = AutoencoderKL(files.vae_config.empty() ? autoencoder_kl_config_from_shapes(files.vae_weights, single)
                                                     : read_autoencoder_kl_config(files.vae_config));
    load_weights(*sd->vae, files.vae_weights, autoencoder_kl_layout(files.vae_config.empty() ? single_names : weight_names(files.vae_weights)));

    ClipTextConfig text_config = files.text_config.empty() ? clip_text_config_from_shapes(files.text_weights, single) : read_clip_text_config(files.text_config);
    const auto text_names = files.text_weights == files.unet_weights ? single_names : weight_names(files.text_weights);
    if (std::find(text_names.begin(), text_names.end(), "text_projection.weight") == text_names.end()) text_config.projection = 0;
    if (text_config.hidden != unet_config.context_width)
        throw Error(files.text_weights, "is a text encoder " + std::to_string(text_config.hidden) + " wide; the UNet attends to " +
                                            std::to_string(unet_config.context_width) + "-wide features (1.x: CLIP ViT-L/14; 2.x: OpenCLIP ViT-H/14)");
    sd->text_encoder = ClipTextModel(text_config);
    load_weights(*sd->text_encoder, files.text_weights, clip_text_layout());

    sd->tokenizer = std::make_shared<ClipTokenizer>(ClipTokenizer::read(files.tokenizer));
    if (!files.pad_token.empty()) sd->tokenizer->set_pad_token(files.pad_token);
    for (torch::nn::Module* m : sd->modules()) prepared(*m, device, dtype);
    return sd;
}

}  // namespace soul::pretrained
