// Stable Diffusion's UNet (unet_2d_condition.h). References: Rombach et al. 2022 (§3.3, appendix E);
// diffusers' UNet2DConditionModel and its blocks, named in the header; Ho et al. 2020's sinusoidal
// timestep features (diffusers get_timestep_embedding, flip_sin_to_cos: [cos, sin]); Vaswani et
// al. 2017's attention; Shazeer 2020, "GLU Variants Improve Transformer" (GEGLU). GroupNorm ε:
// norm_eps in the resnets and the output, 1e-6 in the transformers; LayerNorm ε = 1e-5; SiLU.
#include "unet_2d_condition.h"

#include "../model/attention.h"
#include "config_json.h"
#include "soul/error.h"

#include <cmath>
#include <regex>

namespace soul::pretrained {

namespace nn = torch::nn;

namespace {

constexpr double kTransformerGroupNormEps = 1e-6;   // Transformer2DModel's norm
constexpr double kLayerNormEps = 1e-5;              // BasicTransformerBlock's norm1..3
constexpr double kMaxPeriod = 10000;                // the timestep features' longest wavelength
constexpr int64_t kFeedForwardMultiple = 4;         // FeedForward's inner width: 4 × the block's

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}
nn::GroupNorm group_norm(int64_t groups, int64_t channels, double eps) { return nn::GroupNorm(nn::GroupNormOptions(groups, channels).eps(eps)); }
nn::LayerNorm layer_norm(int64_t width) { return nn::LayerNorm(nn::LayerNormOptions({width}).eps(kLayerNormEps)); }

struct ResnetImpl : nn::Module {   // ResnetBlock2D with a timestep embedding
    nn::GroupNorm norm1{nullptr}, norm2{nullptr};
    nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};
    nn::Linear time_emb_proj{nullptr};
    ResnetImpl(int64_t in, int64_t out, int64_t time_width, const UNet2DConditionConfig& c) {
        norm1 = register_module("norm1", group_norm(c.groups, in, c.norm_eps));
        conv1 = register_module("conv1", conv(in, out, 3));
        time_emb_proj = register_module("time_emb_proj", nn::Linear(time_width, out));
        norm2 = register_module("norm2", group_norm(c.groups, out, c.norm_eps));
        conv2 = register_module("conv2", conv(out, out, 3));
        if (in != out) conv_shortcut = register_module("conv_shortcut", conv(in, out, 1));
    }
    // time: silu(the timestep embedding), shared by every resnet.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& time) {
        auto h = conv1(torch::silu(norm1(x)));
        h = h + time_emb_proj(time).unsqueeze(-1).unsqueeze(-1);
        h = conv2(torch::silu(norm2(h)));
        return (conv_shortcut ? conv_shortcut(x) : x) + h;
    }
};
TORCH_MODULE(Resnet);

struct AttentionImpl : nn::Module {   // diffusers' Attention: q, k, v without bias; to_out.0 with
    nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr}, to_out{nullptr};
    int64_t heads;
    AttentionImpl(int64_t width, int64_t context_width, int64_t heads_) : heads(heads_) {
        to_q = register_module("to_q", nn::Linear(nn::LinearOptions(width, width).bias(false)));
        to_k = register_module("to_k", nn::Linear(nn::LinearOptions(context_width, width).bias(false)));
        to_v = register_module("to_v", nn::Linear(nn::LinearOptions(context_width, width).bias(false)));
        auto out = register_module("to_out", nn::ModuleList());
        to_out = nn::Linear(width, width);
        out->push_back(to_out);   // to_out.1 is a dropout
    }
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context) {
        return to_out(model::multi_head_attention(to_q(x), to_k(context), to_v(context), heads));
    }
};
TORCH_MODULE(Attention);

struct GegluImpl : nn::Module {   // GEGLU: one projection to twice the width; value × GELU(gate)
    nn::Linear proj{nullptr};
    GegluImpl(int64_t in, int64_t out) { proj = register_module("proj", nn::Linear(in, 2 * out)); }
    torch::Tensor forward(const torch::Tensor& x) {
        const auto parts = proj(x).chunk(2, -1);
        return parts[0] * torch::gelu(parts[1]);
    }
};
TORCH_MODULE(Geglu);

struct TransformerBlockImpl : nn::Module {   // BasicTransformerBlock: self-attention, cross-attention, GEGLU MLP
    nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
    Attention attn1{nullptr}, attn2{nullptr};
    Geglu geglu{nullptr};
    nn::Linear ff_out{nullptr};
    TransformerBlockImpl(int64_t width, int64_t context_width, int64_t heads) {
        norm1 = register_module("norm1", layer_norm(width));
        attn1 = register_module("attn1", Attention(width, width, heads));
        norm2 = register_module("norm2", layer_norm(width));
        attn2 = register_module("attn2", Attention(width, context_width, heads));
        norm3 = register_module("norm3", layer_norm(width));
        auto ff = register_module("ff", std::make_shared<nn::Module>());
        nn::ModuleList net;
        geglu = Geglu(width, kFeedForwardMultiple * width);
        ff_out = nn::Linear(kFeedForwardMultiple * width, width);
        net->push_back(geglu);
        net->push_back(nn::Identity());   // net.1 is a dropout
        net->push_back(ff_out);
        ff->register_module("net", net);
    }
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& context) {
        auto h = norm1(x);
        x = x + attn1(h, h);
        x = x + attn2(norm2(x), context);
        return x + ff_out(geglu(norm3(x)));
    }
};
TORCH_MODULE(TransformerBlock);

struct SpatialTransformerImpl : nn::Module {   // Transformer2DModel over the feature map's positions
    nn::GroupNorm norm{nullptr};
    nn::Conv2d conv_in{nullptr}, conv_out{nullptr};   // 1.x
    nn::Linear linear_in{nullptr}, linear_out{nullptr};   // 2.x
    TransformerBlock block{nullptr};
    SpatialTransformerImpl(int64_t width, int64_t heads, const UNet2DConditionConfig& c) {
        norm = register_module("norm", group_norm(c.groups, width, kTransformerGroupNormEps));
        if (c.linear_projection) linear_in = register_module("proj_in", nn::Linear(width, width));
        else conv_in = register_module("proj_in", conv(width, width, 1));
        auto blocks = register_module("transformer_blocks", nn::ModuleList());
        block = TransformerBlock(width, c.context_width, heads);
        blocks->push_back(block);
        if (c.linear_projection) linear_out = register_module("proj_out", nn::Linear(width, width));
        else conv_out = register_module("proj_out", conv(width, width, 1));
    }
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context) {
        const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        auto t = norm(x);
        if (conv_in) t = conv_in(t);
        t = t.permute({0, 2, 3, 1}).reshape({b, h * w, c});
        if (linear_in) t = linear_in(t);
        t = block(t, context);
        if (linear_out) t = linear_out(t);
        t = t.reshape({b, h, w, c}).permute({0, 3, 1, 2});
        if (conv_out) t = conv_out(t);
        return t + x;
    }
};
TORCH_MODULE(SpatialTransformer);

struct ConvHolderImpl : nn::Module {   // Downsample2D / Upsample2D: one convolution named conv
    nn::Conv2d conv_{nullptr};
    ConvHolderImpl(int64_t channels, int64_t stride) { conv_ = register_module("conv", conv(channels, channels, 3, stride)); }
};
TORCH_MODULE(ConvHolder);

// timesteps (B) → (B, width) sinusoidal features (diffusers get_timestep_embedding).
torch::Tensor timestep_features(const torch::Tensor& timesteps, int64_t width, bool flip_sin_to_cos, double freq_shift) {
    const int64_t half = width / 2;
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(timesteps.device());
    const auto frequencies = torch::exp(-std::log(kMaxPeriod) * torch::arange(half, options) / (static_cast<double>(half) - freq_shift));
    const auto angles = timesteps.to(torch::kFloat32).unsqueeze(1) * frequencies.unsqueeze(0);
    return flip_sin_to_cos ? torch::cat({torch::cos(angles), torch::sin(angles)}, 1) : torch::cat({torch::sin(angles), torch::cos(angles)}, 1);
}

}  // namespace

struct TimestepEmbeddingImpl : nn::Module {
    nn::Linear linear_1{nullptr}, linear_2{nullptr};
    TimestepEmbeddingImpl(int64_t in, int64_t out) {
        linear_1 = register_module("linear_1", nn::Linear(in, out));
        linear_2 = register_module("linear_2", nn::Linear(out, out));
    }
    torch::Tensor forward(const torch::Tensor& x) { return linear_2(torch::silu(linear_1(x))); }
};

// A resolution's resnets, each followed by its transformer when the block has cross-attention.
struct ResolutionLayers {
    nn::ModuleList resnets, attentions, samplers;
    void add(int64_t in, int64_t out, bool attention, int64_t heads, const UNet2DConditionConfig& c) {
        resnets->push_back(Resnet(in, out, c.time_embedding(), c));
        if (attention) attentions->push_back(SpatialTransformer(out, heads, c));
    }
    torch::Tensor layer(size_t j, torch::Tensor x, const torch::Tensor& time, const torch::Tensor& context) {
        x = resnets[j]->as<ResnetImpl>()->forward(x, time);
        return attentions->size() ? attentions[j]->as<SpatialTransformerImpl>()->forward(x, context) : x;
    }
    void register_in(nn::Module& block, const char* samplers_name) {
        if (attentions->size()) block.register_module("attentions", attentions);
        block.register_module("resnets", resnets);
        if (samplers->size()) block.register_module(samplers_name, samplers);
    }
};

struct UnetDownBlockImpl : nn::Module {   // CrossAttnDownBlock2D or DownBlock2D
    ResolutionLayers layers;
    UnetDownBlockImpl(int64_t in, int64_t out, bool attention, int64_t heads, bool downsample, const UNet2DConditionConfig& c) {
        for (int64_t j = 0; j < c.layers_per_block; ++j) layers.add(j == 0 ? in : out, out, attention, heads, c);
        if (downsample) layers.samplers->push_back(ConvHolder(out, 2));
        layers.register_in(*this, "downsamplers");
    }
    // Appends each layer's output (and the downsampled one) to skips, for the up blocks. An
    // adapter's residual joins the last layer's output, skip included (diffusers'
    // down_intrablock_additional_residuals).
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& time, const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                          const torch::Tensor& residual) {
        for (size_t j = 0; j < layers.resnets->size(); ++j) {
            x = layers.layer(j, x, time, context);
            if (j + 1 == layers.resnets->size() && residual.defined()) x = x + residual.to(x.scalar_type());
            skips.push_back(x);
        }
        if (layers.samplers->size()) skips.push_back(x = layers.samplers[0]->as<ConvHolderImpl>()->conv_(x));
        return x;
    }
};

struct UnetMidBlockImpl : nn::Module {   // UNetMidBlock2DCrossAttn: resnet, transformer, resnet
    nn::ModuleList resnets, attentions;
    UnetMidBlockImpl(int64_t width, int64_t heads, const UNet2DConditionConfig& c) {
        attentions->push_back(SpatialTransformer(width, heads, c));
        resnets->push_back(Resnet(width, width, c.time_embedding(), c));
        resnets->push_back(Resnet(width, width, c.time_embedding(), c));
        register_module("attentions", attentions);
        register_module("resnets", resnets);
    }
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& time, const torch::Tensor& context) {
        x = resnets[0]->as<ResnetImpl>()->forward(x, time);
        x = attentions[0]->as<SpatialTransformerImpl>()->forward(x, context);
        return resnets[1]->as<ResnetImpl>()->forward(x, time);
    }
};

struct UnetUpBlockImpl : nn::Module {   // CrossAttnUpBlock2D or UpBlock2D: each layer takes a skip
    ResolutionLayers layers;
    // previous: the width coming up from below; skip_in: the width of the matching down block's input.
    UnetUpBlockImpl(int64_t previous, int64_t out, int64_t skip_in, bool attention, int64_t heads, bool upsample, const UNet2DConditionConfig& c) {
        for (int64_t j = 0; j <= c.layers_per_block; ++j) {
            const int64_t skip = j == c.layers_per_block ? skip_in : out;
            layers.add((j == 0 ? previous : out) + skip, out, attention, heads, c);
        }
        if (upsample) layers.samplers->push_back(ConvHolder(out, 1));
        layers.register_in(*this, "upsamplers");
    }
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& time, const torch::Tensor& context, std::vector<torch::Tensor>& skips) {
        for (size_t j = 0; j < layers.resnets->size(); ++j) {
            x = layers.layer(j, torch::cat({x, skips.back()}, 1), time, context);
            skips.pop_back();
        }
        if (layers.samplers->size()) {
            // Nearest ×2, to the next skip's size: an odd side halved by the stride-2 convolution comes back to it.
            const std::vector<int64_t> size = skips.empty() ? std::vector<int64_t>{2 * x.size(2), 2 * x.size(3)}
                                                            : std::vector<int64_t>{skips.back().size(2), skips.back().size(3)};
            x = layers.samplers[0]->as<ConvHolderImpl>()->conv_(torch::upsample_nearest2d(x, size));
        }
        return x;
    }
};

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNet2DConditionConfig& c) : config(c) {
    const size_t blocks = c.channels.size();
    if (blocks == 0 || c.cross_attention.size() != blocks || c.heads.size() != blocks)
        throw Error("a UNet2DConditionModel needs as many block types and head counts as block widths");
    for (size_t i = 0; i < blocks; ++i) {
        if (c.channels[i] % c.groups) throw Error("UNet2DConditionModel: block width " + std::to_string(c.channels[i]) + " is not a multiple of norm_num_groups");
        if (c.channels[i] % c.heads[i])
            throw Error("UNet2DConditionModel: block width " + std::to_string(c.channels[i]) + " does not split into " + std::to_string(c.heads[i]) + " heads");
    }
    conv_in = register_module("conv_in", conv(c.in_channels, c.channels.front(), 3));
    time_embedding = register_module("time_embedding", std::make_shared<TimestepEmbeddingImpl>(c.channels.front(), c.time_embedding()));
    for (size_t i = 0; i < blocks; ++i)
        down_blocks->push_back(std::make_shared<UnetDownBlockImpl>(i == 0 ? c.channels.front() : c.channels[i - 1], c.channels[i], c.cross_attention[i],
                                                                   c.heads[i], i + 1 < blocks, c));
    register_module("down_blocks", down_blocks);
    mid_block = register_module("mid_block", std::make_shared<UnetMidBlockImpl>(c.channels.back(), c.heads.back(), c));
    for (size_t i = 0; i < blocks; ++i) {
        const size_t level = blocks - 1 - i;   // the down block this up block mirrors
        const int64_t previous = i == 0 ? c.channels.back() : c.channels[level + 1];
        const int64_t skip_in = level == 0 ? c.channels.front() : c.channels[level - 1];
        up_blocks->push_back(std::make_shared<UnetUpBlockImpl>(previous, c.channels[level], skip_in, c.cross_attention[level], c.heads[level], i + 1 < blocks, c));
    }
    register_module("up_blocks", up_blocks);
    conv_norm_out = register_module("conv_norm_out", group_norm(c.groups, c.channels.front(), c.norm_eps));
    conv_out = register_module("conv_out", conv(c.channels.front(), c.out_channels, 3));
}

torch::Tensor UNet2DConditionModelImpl::forward(const torch::Tensor& sample, const torch::Tensor& timesteps, const torch::Tensor& context,
                                               const std::vector<torch::Tensor>& down_residuals) {
    if (!down_residuals.empty() && down_residuals.size() != down_blocks->size())
        throw Error("the UNet takes one adapter residual per down block (" + std::to_string(down_blocks->size()) + "), not " +
                    std::to_string(down_residuals.size()));
    if (sample.dim() != 4 || sample.size(1) != config.in_channels)
        throw Error("the UNet takes (batch, " + std::to_string(config.in_channels) + ", h, w) latents");
    if (context.dim() != 3 || context.size(0) != sample.size(0) || context.size(2) != config.context_width)
        throw Error("the UNet's context is (batch, tokens, " + std::to_string(config.context_width) + "): the text encoder's token features");
    const auto t = timesteps.dim() == 0 ? timesteps.expand({sample.size(0)}) : timesteps;
    const auto features = timestep_features(t, config.channels.front(), config.flip_sin_to_cos, config.freq_shift).to(sample.scalar_type());
    const auto time = torch::silu(time_embedding->forward(features));
    std::vector<torch::Tensor> skips;
    auto x = conv_in(sample);
    skips.push_back(x);
    for (size_t i = 0; i < down_blocks->size(); ++i)
        x = down_blocks[i]->as<UnetDownBlockImpl>()->forward(x, time, context, skips, down_residuals.empty() ? torch::Tensor() : down_residuals[i]);
    x = mid_block->forward(x, time, context);
    for (const auto& b : *up_blocks) x = b->as<UnetUpBlockImpl>()->forward(x, time, context, skips);
    return conv_out(torch::silu(conv_norm_out(x)));
}

UNet2DConditionConfig stable_diffusion_1_unet_config() { return {}; }

UNet2DConditionConfig stable_diffusion_2_unet_config() {
    UNet2DConditionConfig c;
    c.heads = {5, 10, 20, 20};   // 64-wide heads
    c.context_width = 1024;
    c.linear_projection = true;
    return c;
}

namespace {

std::vector<int64_t> config_sizes(const std::string& path, const nlohmann::json& j, const char* key, size_t count, std::vector<int64_t> fallback) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    const auto& v = j[key];
    if (v.is_number_integer() && v.get<int64_t>() > 0) return std::vector<int64_t>(count, v.get<int64_t>());
    if (!v.is_array() || v.size() != count) throw Error(path, std::string(key) + " is neither a positive integer nor a list of one per block");
    std::vector<int64_t> out;
    for (const auto& e : v) {
        if (!e.is_number_integer() || e.get<int64_t>() <= 0) throw Error(path, std::string(key) + " holds " + e.dump() + ", not a positive integer");
        out.push_back(e.get<int64_t>());
    }
    return out;
}

std::vector<std::string> block_types(const std::string& path, const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || !j[key].is_array()) throw Error(path, std::string("has no ") + key + " list");
    std::vector<std::string> out;
    for (const auto& e : j[key]) {
        if (!e.is_string()) throw Error(path, std::string(key) + " holds " + e.dump() + ", not a block type");
        out.push_back(e.get<std::string>());
    }
    return out;
}

bool is_set(const nlohmann::json& j, const char* key) { return j.contains(key) && !j[key].is_null() && j[key] != false; }

}  // namespace

UNet2DConditionConfig read_unet_2d_condition_config(const std::string& path) {
    const auto j = read_config_json(path);
    if (j.contains("_class_name") && j["_class_name"] != "UNet2DConditionModel")
        throw Error(path, "_class_name " + j["_class_name"].dump() + " is not UNet2DConditionModel (Stable Diffusion's UNet)");
    if (is_set(j, "addition_embed_type"))
        throw Error(path, "has addition_embed_type " + j["addition_embed_type"].dump() + ": a Stable Diffusion XL UNet, which this engine does not read (1.x and 2.x only)");
    for (const char* unsupported : {"class_embed_type", "encoder_hid_dim", "dual_cross_attention", "only_cross_attention", "center_input_sample"})
        if (is_set(j, unsupported)) throw Error(path, std::string("sets ") + unsupported + ": a UNet variant this engine does not read (Stable Diffusion 1.x and 2.x's)");
    if (j.contains("transformer_layers_per_block") && !j["transformer_layers_per_block"].is_null() && j["transformer_layers_per_block"] != 1)
        throw Error(path, "has transformer_layers_per_block " + j["transformer_layers_per_block"].dump() + " (Stable Diffusion 1.x and 2.x have 1)");
    if (j.contains("resnet_time_scale_shift") && j["resnet_time_scale_shift"] != "default")
        throw Error(path, "resnet_time_scale_shift " + j["resnet_time_scale_shift"].dump() + " is not Stable Diffusion's (\"default\")");
    UNet2DConditionConfig c;
    c.in_channels = config_size(path, j, "in_channels", c.in_channels);
    c.out_channels = config_size(path, j, "out_channels", c.out_channels);
    c.layers_per_block = config_size(path, j, "layers_per_block", c.layers_per_block);
    c.groups = config_size(path, j, "norm_num_groups", c.groups);
    if (j.contains("cross_attention_dim") && !j["cross_attention_dim"].is_number_integer())
        throw Error(path, "cross_attention_dim " + j["cross_attention_dim"].dump() + " is not one width (Stable Diffusion 1.x and 2.x's)");
    c.context_width = config_size(path, j, "cross_attention_dim", c.context_width);
    if (j.contains("block_out_channels")) c.channels = config_sizes(path, j, "block_out_channels", j["block_out_channels"].size(), c.channels);
    const auto down = block_types(path, j, "down_block_types"), up = block_types(path, j, "up_block_types");
    if (down.size() != c.channels.size() || up.size() != down.size())
        throw Error(path, "down_block_types, up_block_types and block_out_channels differ in length");
    c.cross_attention.clear();
    for (size_t i = 0; i < down.size(); ++i) {
        if (down[i] != "CrossAttnDownBlock2D" && down[i] != "DownBlock2D") throw Error(path, "down block type \"" + down[i] + "\" is not Stable Diffusion's");
        const bool attention = down[i] == "CrossAttnDownBlock2D";
        if (up[down.size() - 1 - i] != (attention ? "CrossAttnUpBlock2D" : "UpBlock2D"))
            throw Error(path, "up_block_types do not mirror down_block_types (" + up[down.size() - 1 - i] + " against " + down[i] + ")");
        c.cross_attention.push_back(attention);
    }
    if (j.contains("mid_block_type") && !j["mid_block_type"].is_null() && j["mid_block_type"] != "UNetMidBlock2DCrossAttn")
        throw Error(path, "mid_block_type " + j["mid_block_type"].dump() + " is not Stable Diffusion's (UNetMidBlock2DCrossAttn)");
    // diffusers reads num_attention_heads, or else attention_head_dim, as the head count.
    c.heads = config_sizes(path, j, is_set(j, "num_attention_heads") ? "num_attention_heads" : "attention_head_dim", c.channels.size(), c.heads);
    if (j.contains("norm_eps")) {
        if (!j["norm_eps"].is_number() || !(j["norm_eps"].get<double>() > 0)) throw Error(path, "norm_eps is not a positive number");
        c.norm_eps = j["norm_eps"].get<double>();
    }
    if (j.contains("use_linear_projection")) c.linear_projection = j["use_linear_projection"] == true;
    if (j.contains("flip_sin_to_cos")) c.flip_sin_to_cos = j["flip_sin_to_cos"] == true;
    if (j.contains("freq_shift")) {
        if (!j["freq_shift"].is_number()) throw Error(path, "freq_shift is not a number");
        c.freq_shift = j["freq_shift"].get<double>();
    }
    for (size_t i = 0; i < c.channels.size(); ++i) {
        if (c.channels[i] % c.groups) throw Error(path, "block width " + std::to_string(c.channels[i]) + " is not a multiple of norm_num_groups");
        if (c.channels[i] % c.heads[i]) throw Error(path, "block width " + std::to_string(c.channels[i]) + " does not split into " + std::to_string(c.heads[i]) + " heads");
    }
    return c;
}

WeightLayout unet_2d_condition_layout(const std::vector<std::string>& names, int64_t layers_per_block) {
    bool original = false;
    for (const auto& n : names) original |= n.rfind("model.diffusion_model.", 0) == 0;
    WeightLayout layout{"Stable Diffusion's UNet (UNet2DConditionModel)", {"model.diffusion_model.", "unet."}, {}, {}, {}, false};
    if (!original) return layout;
    layout.unused_prefixes = {"first_stage_model.", "cond_stage_model.", "model_ema.", "conditioner.", "loss.", "alphas_cumprod", "alphas_cumprod_prev",
                              "betas", "log_one_minus_alphas_cumprod", "posterior_", "sqrt_", "logvar"};
    // CompVis' openaimodel.py numbers the down path's layers in one list (input_blocks: the input
    // convolution, then per resolution L resnets (+ transformer) and a downsampler), the up path's
    // in another (output_blocks: per resolution L + 1 resnets (+ transformer), the last with the
    // upsampler); a layer's resnet is .0, its transformer .1, an upsampler after them.
    const int64_t per = layers_per_block + 1;
    layout.rename = [per](const std::string& key) {
        static const std::regex resnet_part(R"(\.(in_layers\.0|in_layers\.2|emb_layers\.1|out_layers\.0|out_layers\.3|skip_connection)\.)");
        static const std::map<std::string, std::string> resnet_names = {{"in_layers.0", "norm1"},   {"in_layers.2", "conv1"},
                                                                        {"emb_layers.1", "time_emb_proj"}, {"out_layers.0", "norm2"},
                                                                        {"out_layers.3", "conv2"},  {"skip_connection", "conv_shortcut"}};
        static const std::regex input(R"(^input_blocks\.(\d+)\.(\d+)\.(.*)$)"), output(R"(^output_blocks\.(\d+)\.(\d+)\.(.*)$)"),
            middle(R"(^middle_block\.(\d+)\.(.*)$)");
        std::string k = key;
        std::smatch m;
        if (std::regex_search(k, m, resnet_part)) k = m.prefix().str() + "." + resnet_names.at(m[1]) + "." + m.suffix().str();
        if (k.rfind("time_embed.0.", 0) == 0) return "time_embedding.linear_1." + k.substr(13);
        if (k.rfind("time_embed.2.", 0) == 0) return "time_embedding.linear_2." + k.substr(13);
        if (k.rfind("out.0.", 0) == 0) return "conv_norm_out." + k.substr(6);
        if (k.rfind("out.2.", 0) == 0) return "conv_out." + k.substr(6);
        if (std::regex_match(k, m, input)) {
            const int64_t n = std::stoll(m[1]), part = std::stoll(m[2]);
            if (n == 0) return "conv_in." + m[3].str();
            const int64_t block = (n - 1) / per, layer = (n - 1) % per;
            const std::string p = "down_blocks." + std::to_string(block) + ".";
            if (layer == per - 1) return p + "downsamplers.0.conv." + std::regex_replace(m[3].str(), std::regex(R"(^op\.)"), "");
            return p + (part == 0 ? "resnets." : "attentions.") + std::to_string(layer) + "." + m[3].str();
        }
        if (std::regex_match(k, m, middle)) {
            const int64_t part = std::stoll(m[1]);
            return std::string("mid_block.") + (part == 1 ? "attentions.0." : part == 0 ? "resnets.0." : "resnets.1.") + m[2].str();
        }
        if (std::regex_match(k, m, output)) {
            const int64_t n = std::stoll(m[1]), part = std::stoll(m[2]);
            const std::string p = "up_blocks." + std::to_string(n / per) + ".", rest = m[3].str();
            if (part == 0) return p + "resnets." + std::to_string(n % per) + "." + rest;
            if (rest.rfind("conv.", 0) == 0) return p + "upsamplers.0." + rest;
            return p + "attentions." + std::to_string(n % per) + "." + rest;
        }
        return k;
    };
    return layout;
}

}  // namespace soul::pretrained
