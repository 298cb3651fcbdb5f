// Stable Diffusion's AutoencoderKL (autoencoder_kl.h). References: Rombach et al. 2022 (§3, the
// f = 8 KL autoencoder); diffusers' AutoencoderKL, Encoder, Decoder, ResnetBlock2D, Downsample2D
// (padding (0, 1, 0, 1), then a stride-2 convolution), Upsample2D (nearest ×2, then a
// convolution), the mid-block's one-head self-attention with a residual; GroupNorm ε = 1e-6, SiLU.
#include "autoencoder_kl.h"

#include "../model/attention.h"
#include "config_json.h"
#include "soul/error.h"

#include <regex>

namespace soul::pretrained {

namespace nn = torch::nn;

namespace {

constexpr double kGroupNormEps = 1e-6;   // diffusers' AutoencoderKL: resnet_eps and the attention's norm

nn::GroupNorm group_norm(int64_t groups, int64_t channels) { return nn::GroupNorm(nn::GroupNormOptions(groups, channels).eps(kGroupNormEps)); }
nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = -1) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding < 0 ? kernel / 2 : padding));
}

struct ResnetImpl : nn::Module {
    nn::GroupNorm norm1{nullptr}, norm2{nullptr};
    nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};
    ResnetImpl(int64_t in, int64_t out, int64_t groups) {
        norm1 = register_module("norm1", group_norm(groups, in));
        conv1 = register_module("conv1", conv(in, out, 3));
        norm2 = register_module("norm2", group_norm(groups, out));
        conv2 = register_module("conv2", conv(out, out, 3));
        if (in != out) conv_shortcut = register_module("conv_shortcut", conv(in, out, 1));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        auto h = conv1(torch::silu(norm1(x)));
        h = conv2(torch::silu(norm2(h)));
        return (conv_shortcut ? conv_shortcut(x) : x) + h;
    }
};
TORCH_MODULE(Resnet);

struct MidAttentionImpl : nn::Module {   // one head over every position, residual
    nn::GroupNorm norm{nullptr};
    nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr}, to_out{nullptr};
    MidAttentionImpl(int64_t channels, int64_t groups) {
        norm = register_module("group_norm", group_norm(groups, channels));
        to_q = register_module("to_q", nn::Linear(channels, channels));
        to_k = register_module("to_k", nn::Linear(channels, channels));
        to_v = register_module("to_v", nn::Linear(channels, channels));
        auto out = register_module("to_out", nn::ModuleList());
        to_out = nn::Linear(channels, channels);
        out->push_back(to_out);   // to_out.0 (to_out.1 is a dropout)
    }
    torch::Tensor forward(const torch::Tensor& x) {
        const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        const auto tokens = norm(x).view({b, c, h * w}).transpose(1, 2);   // (B, HW, C)
        const auto y = to_out(model::multi_head_attention(to_q(tokens), to_k(tokens), to_v(tokens), 1));
        return x + y.transpose(1, 2).reshape({b, c, h, w});
    }
};
TORCH_MODULE(MidAttention);

struct MidBlockImpl : nn::Module {
    nn::ModuleList resnets, attentions;
    MidBlockImpl(int64_t channels, int64_t groups) {
        resnets->push_back(Resnet(channels, channels, groups));
        resnets->push_back(Resnet(channels, channels, groups));
        attentions->push_back(MidAttention(channels, groups));
        register_module("attentions", attentions);
        register_module("resnets", resnets);
    }
    torch::Tensor forward(torch::Tensor x) {
        x = resnets[0]->as<ResnetImpl>()->forward(x);
        x = attentions[0]->as<MidAttentionImpl>()->forward(x);
        return resnets[1]->as<ResnetImpl>()->forward(x);
    }
};
TORCH_MODULE(MidBlock);

struct SamplerImpl : nn::Module {   // Downsample2D or Upsample2D: one convolution named conv
    nn::Conv2d conv_{nullptr};
    bool down;
    SamplerImpl(int64_t channels, bool down_) : down(down_) {
        conv_ = register_module("conv", down ? conv(channels, channels, 3, 2, 0) : conv(channels, channels, 3));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        if (down) return conv_(torch::constant_pad_nd(x, {0, 1, 0, 1}));
        return conv_(torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}));
    }
};
TORCH_MODULE(Sampler);

struct ResolutionBlockImpl : nn::Module {   // DownEncoderBlock2D / UpDecoderBlock2D
    nn::ModuleList resnets, samplers;
    ResolutionBlockImpl(int64_t in, int64_t out, int64_t layers, int64_t groups, bool sample, bool down) {
        for (int64_t j = 0; j < layers; ++j) resnets->push_back(Resnet(j == 0 ? in : out, out, groups));
        register_module("resnets", resnets);
        if (sample) {
            samplers->push_back(Sampler(out, down));
            register_module(down ? "downsamplers" : "upsamplers", samplers);
        }
    }
    torch::Tensor forward(torch::Tensor x) {
        for (const auto& r : *resnets) x = r->as<ResnetImpl>()->forward(x);
        for (const auto& s : *samplers) x = s->as<SamplerImpl>()->forward(x);
        return x;
    }
};
TORCH_MODULE(ResolutionBlock);

using RenameRules = std::vector<std::pair<std::regex, std::string>>;

std::string apply_rules(const RenameRules& rules, std::string key) {
    for (const auto& [pattern, replacement] : rules) key = std::regex_replace(key, pattern, replacement);
    return key;
}

}  // namespace

struct KlEncoderImpl : nn::Module {
    nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
    nn::ModuleList down_blocks;
    MidBlock mid_block{nullptr};
    nn::GroupNorm conv_norm_out{nullptr};
    explicit KlEncoderImpl(const AutoencoderKLConfig& c) {
        const auto& ch = c.channels;
        conv_in = register_module("conv_in", conv(c.image_channels, ch.front(), 3));
        for (size_t i = 0; i < ch.size(); ++i)
            down_blocks->push_back(ResolutionBlock(i == 0 ? ch.front() : ch[i - 1], ch[i], c.layers_per_block, c.groups, i + 1 < ch.size(), true));
        register_module("down_blocks", down_blocks);
        mid_block = register_module("mid_block", MidBlock(ch.back(), c.groups));
        conv_norm_out = register_module("conv_norm_out", group_norm(c.groups, ch.back()));
        conv_out = register_module("conv_out", conv(ch.back(), 2 * c.latent_channels, 3));   // mean and log-variance
    }
    torch::Tensor forward(torch::Tensor x) {
        x = conv_in(x);
        for (const auto& b : *down_blocks) x = b->as<ResolutionBlockImpl>()->forward(x);
        return conv_out(torch::silu(conv_norm_out(mid_block(x))));
    }
};

struct KlDecoderImpl : nn::Module {
    nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
    MidBlock mid_block{nullptr};
    nn::ModuleList up_blocks;
    nn::GroupNorm conv_norm_out{nullptr};
    explicit KlDecoderImpl(const AutoencoderKLConfig& c) {
        const std::vector<int64_t> ch(c.channels.rbegin(), c.channels.rend());
        conv_in = register_module("conv_in", conv(c.latent_channels, ch.front(), 3));
        mid_block = register_module("mid_block", MidBlock(ch.front(), c.groups));
        for (size_t i = 0; i < ch.size(); ++i)
            up_blocks->push_back(ResolutionBlock(i == 0 ? ch.front() : ch[i - 1], ch[i], c.layers_per_block + 1, c.groups, i + 1 < ch.size(), false));
        register_module("up_blocks", up_blocks);
        conv_norm_out = register_module("conv_norm_out", group_norm(c.groups, ch.back()));
        conv_out = register_module("conv_out", conv(ch.back(), c.image_channels, 3));
    }
    torch::Tensor forward(torch::Tensor x) {
        x = mid_block(conv_in(x));
        for (const auto& b : *up_blocks) x = b->as<ResolutionBlockImpl>()->forward(x);
        return conv_out(torch::silu(conv_norm_out(x)));
    }
};

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderKLConfig& c) : config(c) {
    if (c.channels.empty()) throw Error("an AutoencoderKL needs at least one block");
    for (int64_t ch : c.channels)
        if (ch % c.groups) throw Error("AutoencoderKL: block width " + std::to_string(ch) + " is not a multiple of norm_num_groups " + std::to_string(c.groups));
    encoder = register_module("encoder", std::make_shared<KlEncoderImpl>(c));
    decoder = register_module("decoder", std::make_shared<KlDecoderImpl>(c));
    quant_conv = register_module("quant_conv", conv(2 * c.latent_channels, 2 * c.latent_channels, 1));
    post_quant_conv = register_module("post_quant_conv", conv(c.latent_channels, c.latent_channels, 1));
}

int64_t AutoencoderKLImpl::downscale() const { return int64_t(1) << (config.channels.size() - 1); }

torch::Tensor AutoencoderKLImpl::encode(const torch::Tensor& images) {
    const int64_t f = downscale();
    if (images.dim() != 4 || images.size(1) != config.image_channels || images.size(2) % f || images.size(3) % f)
        throw Error("the autoencoder takes (batch, " + std::to_string(config.image_channels) + ", H, W) images with H and W multiples of " +
                    std::to_string(f));
    const auto moments = quant_conv(encoder->forward(images));
    return moments.narrow(1, 0, config.latent_channels) * config.scaling_factor;   // the posterior's mean
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& latents) {
    if (latents.dim() != 4 || latents.size(1) != config.latent_channels)
        throw Error("the autoencoder decodes (batch, " + std::to_string(config.latent_channels) + ", h, w) latents");
    return decoder->forward(post_quant_conv(latents / config.scaling_factor));
}

AutoencoderKLConfig read_autoencoder_kl_config(const std::string& path) {
    const auto j = read_config_json(path);
    if (j.contains("_class_name") && j["_class_name"] != "AutoencoderKL")
        throw Error(path, "_class_name " + j["_class_name"].dump() + " is not AutoencoderKL");
    AutoencoderKLConfig c;
    c.image_channels = config_size(path, j, "in_channels", c.image_channels);
    if (config_size(path, j, "out_channels", c.image_channels) != c.image_channels)
        throw Error(path, "out_channels differs from in_channels: not an image autoencoder");
    c.latent_channels = config_size(path, j, "latent_channels", c.latent_channels);
    c.layers_per_block = config_size(path, j, "layers_per_block", c.layers_per_block);
    c.groups = config_size(path, j, "norm_num_groups", c.groups);
    if (j.contains("block_out_channels")) {
        if (!j["block_out_channels"].is_array() || j["block_out_channels"].empty())
            throw Error(path, "block_out_channels is not a list of widths");
        c.channels.clear();
        for (const auto& v : j["block_out_channels"]) {
            if (!v.is_number_integer() || v.get<int64_t>() <= 0) throw Error(path, "block_out_channels holds " + v.dump() + ", not a positive width");
            c.channels.push_back(v.get<int64_t>());
        }
    }
    if (j.contains("scaling_factor")) {
        if (!j["scaling_factor"].is_number() || !(j["scaling_factor"].get<double>() > 0)) throw Error(path, "scaling_factor is not a positive number");
        c.scaling_factor = j["scaling_factor"].get<double>();
    }
    for (int64_t ch : c.channels)
        if (ch % c.groups) throw Error(path, "block width " + std::to_string(ch) + " is not a multiple of norm_num_groups");
    return c;
}

WeightLayout autoencoder_kl_layout(const std::vector<std::string>& names) {
    bool original = false;
    for (const auto& n : names) original |= n.rfind("first_stage_model.", 0) == 0 || n.find("encoder.down.") != std::string::npos;
    WeightLayout layout{"Stable Diffusion's autoencoder (AutoencoderKL)", {"first_stage_model.", "vae."}, {}, {}, {}, original};
    if (original) {
        // CompVis' names → diffusers'. Its decoder numbers the resolution blocks from the lowest
        // resolution up (up.0 is the last one run); diffusers numbers them in the order they run.
        int64_t up_blocks = 0;
        for (const auto& n : names) {
            static const std::regex up(R"((?:^|\.)decoder\.up\.(\d+)\.)");
            std::smatch m;
            if (std::regex_search(n, m, up)) up_blocks = std::max<int64_t>(up_blocks, std::stoll(m[1]) + 1);
        }
        layout.unused_prefixes = {"model.diffusion_model.", "cond_stage_model.", "model_ema.", "conditioner.", "loss.", "alphas_cumprod",
                                  "alphas_cumprod_prev", "betas", "log_one_minus_alphas_cumprod", "posterior_", "sqrt_"};
        layout.rename = [up_blocks](const std::string& key) {
            static const RenameRules rules = {
                {std::regex(R"(^encoder\.down\.(\d+)\.block\.(\d+)\.)"), "encoder.down_blocks.$1.resnets.$2."},
                {std::regex(R"(^encoder\.down\.(\d+)\.downsample\.)"), "encoder.down_blocks.$1.downsamplers.0."},
                {std::regex(R"(\.mid\.block_1\.)"), ".mid_block.resnets.0."},
                {std::regex(R"(\.mid\.block_2\.)"), ".mid_block.resnets.1."},
                {std::regex(R"(\.mid\.attn_1\.norm\.)"), ".mid_block.attentions.0.group_norm."},
                {std::regex(R"(\.mid\.attn_1\.q\.)"), ".mid_block.attentions.0.to_q."},
                {std::regex(R"(\.mid\.attn_1\.k\.)"), ".mid_block.attentions.0.to_k."},
                {std::regex(R"(\.mid\.attn_1\.v\.)"), ".mid_block.attentions.0.to_v."},
                {std::regex(R"(\.mid\.attn_1\.proj_out\.)"), ".mid_block.attentions.0.to_out.0."},
                {std::regex(R"(\.norm_out\.)"), ".conv_norm_out."},
                {std::regex(R"(\.nin_shortcut\.)"), ".conv_shortcut."},
            };
            std::string k = apply_rules(rules, key);
            static const std::regex up(R"(^decoder\.up\.(\d+)\.(block|upsample)\.)");
            std::smatch m;
            if (std::regex_search(k, m, up)) {
                const int64_t block = up_blocks - 1 - std::stoll(m[1]);
                k = "decoder.up_blocks." + std::to_string(block) + (m[2] == "block" ? ".resnets." : ".upsamplers.0.") + m.suffix().str();
            }
            return k;
        };
        return layout;
    }
    // diffusers before 0.14 named the attention's projections as the original Transformer's.
    layout.rename = [](const std::string& key) {
        static const RenameRules rules = {
            {std::regex(R"(\.attentions\.0\.query\.)"), ".attentions.0.to_q."},
            {std::regex(R"(\.attentions\.0\.key\.)"), ".attentions.0.to_k."},
            {std::regex(R"(\.attentions\.0\.value\.)"), ".attentions.0.to_v."},
            {std::regex(R"(\.attentions\.0\.proj_attn\.)"), ".attentions.0.to_out.0."},
        };
        return apply_rules(rules, key);
    };
    return layout;
}

}  // namespace soul::pretrained
