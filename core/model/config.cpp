// Training configuration files (see config.h).
#include "config.h"

#include "conv_blocks.h"

#include "soul/error.h"

#include <fstream>
#include <set>

namespace soul::model {

namespace {

using json = nlohmann::json;

struct Reader {
    const json& j;
    const std::string& path;
    std::set<std::string> seen;
    template <typename T>
    void get(const std::string& key, T& value, double lo, double hi) {
        seen.insert(key);
        if (!j.contains(key)) return;
        const json& v = j[key];
        if (!v.is_number()) throw Error(path, "key '" + key + "' must be a number");
        const double d = v.get<double>();
        if (d < lo || d > hi) throw Error(path, "key '" + key + "' is " + v.dump() + "; it must be in [" + json(lo).dump() + ", " + json(hi).dump() + "]");
        value = v.get<T>();
    }
    void stage(const std::string& key, StageSchedule& s) {
        seen.insert(key);
        if (!j.contains(key)) return;
        const json& v = j[key];
        if (!v.is_object()) throw Error(path, "key '" + key + "' must be an object {\"epochs\": N, \"lr\": X}");
        for (const auto& [k, _] : v.items())
            if (k != "epochs" && k != "lr") throw Error(path, "key '" + key + "." + k + "' is not known (epochs, lr)");
        Reader r{v, path, {}};
        r.get(std::string("epochs"), s.epochs, 0, 100000);
        r.get(std::string("lr"), s.lr, 1e-7, 1.0);
    }
};

}  // namespace

json EncoderConfig::to_json() const {
    auto st = [](const StageSchedule& s) { return json{{"epochs", s.epochs}, {"lr", s.lr}}; };
    json j = {{"name", name}, {"seed", seed}, {"image_size", image_size}, {"embed_dim", embed_dim}, {"batch_size", batch_size},
            {"weight_decay", weight_decay}, {"checkpoint_every", checkpoint_every}, {"text_width", text_width},
            {"text_layers", text_layers}, {"max_tokens", max_tokens}, {"embedding_caption_weight", embedding_caption_weight}, {"embedding", st(embedding)}, {"ssm_width", ssm_width},
            {"ssm_state", ssm_state}, {"ssm_expand", ssm_expand}, {"ssm_patch", ssm_patch}, {"ssm_global_layers", ssm_global_layers},
            {"ssm_image_weight", ssm_image_weight}, {"ssm_regression_weight", ssm_regression_weight}, {"ssm_token_readout", ssm_token_readout}, {"ssm_per_patch_weights", ssm_per_patch_weights}, {"ssmnet", st(ssmnet)},
            {"sem_width", sem_width}, {"sem_heads", sem_heads}, {"sem_layers", sem_layers}, {"sem_patch", sem_patch},
            {"sem_mask_ratio", sem_mask_ratio}, {"sem_token_readout", sem_token_readout}, {"sem_per_patch_weights", sem_per_patch_weights}, {"sembert", st(sembert)}, {"ec_hidden", ec_hidden}, {"ec_extra_images", ec_extra_images},
            {"ec_encoder", st(ec_encoder)}, {"ec_decoder", st(ec_decoder)}, {"ec_cycle", st(ec_cycle)}, {"flat_hidden", flat_hidden},
            {"baseline", st(baseline)}, {"gen_image_size", gen_image_size}, {"vae_width", vae_width},
            {"latent_channels", latent_channels}, {"vae_extra_images", vae_extra_images}, {"vae_kl_weight", vae_kl_weight}, {"vae", st(vae)},
            {"unet_width", unet_width}, {"unet_heads", unet_heads}, {"diffusion_steps", diffusion_steps},
            {"unet_caption_drop", unet_caption_drop}, {"unet_pooled_caption", unet_pooled_caption}, {"unet_extra_images", unet_extra_images}, {"unet_min_snr_gamma", unet_min_snr_gamma}, {"unet", st(unet)}, {"adapter_drop", adapter_drop}, {"adapters", st(adapters)},
            {"classifier_width", classifier_width}, {"validation_fraction", validation_fraction}, {"train_fraction", train_fraction},
            {"classifier_extra_images", classifier_extra_images}, {"classifier_position", classifier_position}, {"classifier_stages", classifier_stages}, {"classifier", st(classifier)}};
    // Written only when set, so that the runs made before the key existed read back unchanged.
    if (!caption_encoder.empty()) j["caption_encoder"] = caption_encoder;
    if (sd_adapters.epochs != EncoderConfig{}.sd_adapters.epochs || sd_adapters.lr != EncoderConfig{}.sd_adapters.lr) j["sd_adapters"] = st(sd_adapters);
    return j;
}

EncoderConfig encoder_config_from_json(const json& j, const std::string& path) {
    if (!j.is_object()) throw Error(path, "is not a JSON object");
    EncoderConfig c;
    Reader r{j, path, {}};
    r.seen.insert("name");
    r.seen.insert("description");
    if (j.contains("name")) {
        if (!j["name"].is_string()) throw Error(path, "key 'name' must be a string");
        c.name = j["name"];
    }
    r.get("seed", c.seed, 0, 1e18);
    r.get("image_size", c.image_size, 8, 256);
    r.get("embed_dim", c.embed_dim, 4, 4096);
    r.get("batch_size", c.batch_size, 2, 65536);
    r.get("weight_decay", c.weight_decay, 0, 10);
    r.get("checkpoint_every", c.checkpoint_every, 1, 1e9);
    r.get("text_width", c.text_width, 4, 4096);
    r.get("text_layers", c.text_layers, 1, 64);
    r.get("max_tokens", c.max_tokens, 2, 512);
    r.get("embedding_caption_weight", c.embedding_caption_weight, 0, 1000);
    r.stage("embedding", c.embedding);
    r.seen.insert("caption_encoder");
    if (j.contains("caption_encoder")) {
        if (!j["caption_encoder"].is_string()) throw Error(path, "key 'caption_encoder' must be a string (a BERT or CLIP folder, or empty)");
        c.caption_encoder = j["caption_encoder"];
    }
    r.get("ssm_width", c.ssm_width, 4, 4096);
    r.get("ssm_state", c.ssm_state, 1, 256);
    r.get("ssm_expand", c.ssm_expand, 1, 8);
    r.get("ssm_patch", c.ssm_patch, 1, 65536);
    r.get("ssm_global_layers", c.ssm_global_layers, 0, 64);
    r.get("ssm_image_weight", c.ssm_image_weight, 0, 1000);
    r.get("ssm_regression_weight", c.ssm_regression_weight, 0, 1000);
    r.get("ssm_token_readout", c.ssm_token_readout, 0, 64);
    r.get("ssm_per_patch_weights", c.ssm_per_patch_weights, 0, 1);
    r.stage("ssmnet", c.ssmnet);
    r.get("sem_width", c.sem_width, 4, 4096);
    r.get("sem_heads", c.sem_heads, 1, 64);
    r.get("sem_layers", c.sem_layers, 1, 64);
    r.get("sem_patch", c.sem_patch, 1, 65536);
    r.get("sem_mask_ratio", c.sem_mask_ratio, 0, 0.95);
    r.get("sem_token_readout", c.sem_token_readout, 0, 64);
    r.get("sem_per_patch_weights", c.sem_per_patch_weights, 0, 1);
    r.stage("sembert", c.sembert);
    r.get("ec_hidden", c.ec_hidden, 4, 65536);
    r.get("ec_extra_images", c.ec_extra_images, 0, 1e7);
    r.stage("ec_encoder", c.ec_encoder);
    r.stage("ec_decoder", c.ec_decoder);
    r.stage("ec_cycle", c.ec_cycle);
    r.get("flat_hidden", c.flat_hidden, 4, 65536);
    r.stage("baseline", c.baseline);
    r.get("gen_image_size", c.gen_image_size, 32, 512);
    r.get("vae_width", c.vae_width, 8, 1024);
    r.get("latent_channels", c.latent_channels, 1, 64);
    r.get("vae_extra_images", c.vae_extra_images, 0, 1e7);
    r.get("vae_kl_weight", c.vae_kl_weight, 0, 1);
    r.stage("vae", c.vae);
    r.get("unet_width", c.unet_width, 8, 1024);
    r.get("unet_heads", c.unet_heads, 1, 64);
    r.get("diffusion_steps", c.diffusion_steps, 10, 10000);
    r.get("unet_caption_drop", c.unet_caption_drop, 0, 1);
    r.get("unet_pooled_caption", c.unet_pooled_caption, 0, 1);
    r.get("unet_extra_images", c.unet_extra_images, 0, 1e6);
    r.get("unet_min_snr_gamma", c.unet_min_snr_gamma, 0, 1000);
    r.stage("unet", c.unet);
    r.get("adapter_drop", c.adapter_drop, 0, 1);
    r.stage("adapters", c.adapters);
    r.stage("sd_adapters", c.sd_adapters);
    r.get("classifier_width", c.classifier_width, 4, 1024);
    r.get("validation_fraction", c.validation_fraction, 0, 0.5);
    r.get("train_fraction", c.train_fraction, 0.01, 1);
    r.get("classifier_extra_images", c.classifier_extra_images, 0, 1e6);
    r.get("classifier_position", c.classifier_position, 0, 1);
    r.get("classifier_stages", c.classifier_stages, 1, 5);
    r.stage("classifier", c.classifier);
    for (const auto& [k, _] : j.items())
        if (!r.seen.count(k)) throw Error(path, "key '" + k + "' is not a known setting (see models/configs/README.md)");
    if (c.sem_width % c.sem_heads != 0) throw Error(path, "key 'sem_width' must be a multiple of 'sem_heads'");
    if (c.gen_image_size % 16 != 0) throw Error(path, "key 'gen_image_size' must be a multiple of 16 (the VAE divides it by 4, the UNet by 4 more)");
    if (c.vae_width % (2 * kNormGroups) != 0 || c.unet_width % kNormGroups != 0 || c.classifier_width < 1)
        throw Error(path, "keys 'vae_width' and 'unet_width' must be multiples of 16 and 8 (GroupNorm groups)");
    if ((2 * c.unet_width) % c.unet_heads != 0) throw Error(path, "key 'unet_heads' must divide 2 × 'unet_width'");
    if (c.text_width % 4 != 0) throw Error(path, "key 'text_width' must be a multiple of 4 (the text encoder's heads)");
    return c;
}

EncoderConfig read_encoder_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "no such file (a training config, e.g. models/configs/phantom-small.json)");
    json j;
    try {
        in >> j;
    } catch (const json::exception& e) {
        throw Error(path, std::string("is not valid JSON: ") + e.what());
    }
    return encoder_config_from_json(j, path);
}

}  // namespace soul::model
