// A single file's sizes from its shapes (single_file_sizes.h). The key names are CompVis'
// (ldm/modules/diffusionmodules/openaimodel.py UNetModel: input_blocks numbered through, a
// resolution's resnets (.0) and transformers (.1), then its downsampler (.0.op); model.py Encoder/
// Decoder: encoder.down.N.block.M) and transformers' CLIPTextModel's under
// cond_stage_model.transformer.
#include "single_file_sizes.h"

#include "soul/error.h"

#include <algorithm>
#include <regex>

namespace soul::pretrained {
namespace {

constexpr int64_t kStableDiffusionGroups = 32;     // norm_num_groups of every published SD UNet and VAE
constexpr int64_t kClipHeadWidth = 64;             // CLIP's and OpenCLIP's text heads; 2.x's UNet heads
constexpr int64_t kStableDiffusion1Heads = 8;      // SD 1.x's num_heads, in every block
constexpr int64_t kStableDiffusion2Context = 1024; // OpenCLIP ViT-H/14's width: a 2.x UNet

// Lookups under one prefix, each error naming the file and the full key.
class Keys {
public:
    Keys(const std::string& path, const WeightShapes& shapes, std::string prefix, std::string network)
        : path_(path), shapes_(shapes), prefix_(std::move(prefix)), network_(std::move(network)) {}

    bool has(const std::string& key) const { return shapes_.count(prefix_ + key) > 0; }

    const std::vector<int64_t>& shape(const std::string& key) const {
        const auto it = shapes_.find(prefix_ + key);
        if (it == shapes_.end()) throw Error(path_, "has no " + prefix_ + key + ": not " + network_ + " in the original single file's layout");
        return it->second;
    }

    const std::vector<int64_t>& shape(const std::string& key, size_t rank) const {
        const auto& s = shape(key);
        if (s.size() != rank)
            throw Error(path_, prefix_ + key + " has shape " + shape_text(s) + ", not " + std::to_string(rank) + "-dimensional as in " + network_);
        return s;
    }

    // The largest N + 1 such that a key matches `pattern` with N as its first group (0 if none).
    int64_t count(const std::string& pattern) const {
        const std::regex re("^" + std::regex_replace(prefix_, std::regex(R"(\.)"), R"(\.)") + pattern);
        int64_t n = 0;
        std::smatch m;
        for (const auto& entry : shapes_)
            if (std::regex_search(entry.first, m, re)) n = std::max<int64_t>(n, std::stoll(m[1]) + 1);
        return n;
    }

    [[noreturn]] void fail(const std::string& what) const { throw Error(path_, what + " (" + network_ + ")"); }

private:
    const std::string& path_;
    const WeightShapes& shapes_;
    std::string prefix_, network_;
};

void require_groups(const Keys& keys, const std::vector<int64_t>& widths, int64_t groups) {
    for (int64_t w : widths)
        if (w % groups)
            keys.fail("a block " + std::to_string(w) + " wide, which Stable Diffusion's " + std::to_string(groups) + " norm groups do not divide");
}

}  // namespace

UNet2DConditionConfig unet_config_from_shapes(const std::string& path, const WeightShapes& shapes) {
    const Keys keys(path, shapes, "model.diffusion_model.", "Stable Diffusion's UNet (UNet2DConditionModel)");
    UNet2DConditionConfig c;
    const auto& conv_in = keys.shape("input_blocks.0.0.weight", 4);
    const int64_t base = conv_in[0];
    c.in_channels = conv_in[1];
    c.out_channels = keys.shape("out.2.weight", 4)[0];
    const auto& time = keys.shape("time_embed.0.weight", 2);
    if (time[0] != 4 * base || time[1] != base)
        keys.fail("time_embed.0.weight has shape " + shape_text(time) + ", not the (4 × " + std::to_string(base) + ", " + std::to_string(base) +
                  ") timestep MLP of a UNet whose first block is " + std::to_string(base) + " wide");

    // input_blocks: 0 is the input convolution; each resolution then has L layers and, but for the
    // last, a downsampler, so the first downsampler's index is L + 1 and the rest follow every L + 1.
    const int64_t inputs = keys.count(R"(input_blocks\.(\d+)\.)");
    std::vector<int64_t> downsamplers;
    for (int64_t n = 1; n < inputs; ++n)
        if (keys.has("input_blocks." + std::to_string(n) + ".0.op.weight")) downsamplers.push_back(n);
    const int64_t per = downsamplers.empty() ? inputs : downsamplers.front();
    c.layers_per_block = per - 1;
    const int64_t blocks = static_cast<int64_t>(downsamplers.size()) + 1;
    if (c.layers_per_block < 1 || inputs != blocks * per) keys.fail("input_blocks that are not resolutions of equal depth");
    for (size_t i = 0; i < downsamplers.size(); ++i)
        if (downsamplers[i] != static_cast<int64_t>(i + 1) * per) keys.fail("downsamplers at uneven steps of input_blocks");

    c.channels.clear();
    c.cross_attention.clear();
    int64_t context = 0;
    bool linear = false;
    for (int64_t b = 0; b < blocks; ++b) {
        const std::string first = "input_blocks." + std::to_string(1 + b * per) + ".";
        c.channels.push_back(keys.shape(first + "0.out_layers.3.weight", 4)[0]);
        const bool attends = keys.has(first + "1.proj_in.weight");
        c.cross_attention.push_back(attends);
        if (!attends) continue;
        if (keys.has(first + "1.transformer_blocks.1.norm1.weight")) keys.fail(first + "1 has more than one transformer block");
        // proj_in: (C, C) when linear (2.x), (C, C, 1, 1) when a convolution (1.x).
        const size_t projection_rank = keys.shape(first + "1.proj_in.weight").size();
        if (projection_rank != 2 && projection_rank != 4) keys.shape(first + "1.proj_in.weight", 4);   // names the key and its shape
        linear = projection_rank == 2;
        context = keys.shape(first + "1.transformer_blocks.0.attn2.to_k.weight", 2)[1];
    }
    if (!context) keys.fail("no down block with cross-attention: not a text-conditioned UNet");
    keys.shape("middle_block.1.transformer_blocks.0.attn2.to_k.weight", 2);
    c.context_width = context;
    c.linear_projection = linear;
    c.groups = kStableDiffusionGroups;
    require_groups(keys, c.channels, c.groups);
    c.heads.clear();
    for (int64_t w : c.channels) {
        if (context == kStableDiffusion2Context && w % kClipHeadWidth) keys.fail("a block " + std::to_string(w) + " wide, which 2.x's 64-wide heads do not divide");
        c.heads.push_back(context == kStableDiffusion2Context ? w / kClipHeadWidth : kStableDiffusion1Heads);
    }
    return c;
}

AutoencoderKLConfig autoencoder_kl_config_from_shapes(const std::string& path, const WeightShapes& shapes) {
    const bool prefixed = std::any_of(shapes.begin(), shapes.end(), [](const auto& e) { return e.first.rfind("first_stage_model.", 0) == 0; });
    const Keys keys(path, shapes, prefixed ? "first_stage_model." : "", "Stable Diffusion's autoencoder (AutoencoderKL)");
    AutoencoderKLConfig c;
    c.image_channels = keys.shape("encoder.conv_in.weight", 4)[1];
    c.latent_channels = keys.shape("decoder.conv_in.weight", 4)[1];
    const int64_t blocks = keys.count(R"(encoder\.down\.(\d+)\.)");
    c.layers_per_block = keys.count(R"(encoder\.down\.0\.block\.(\d+)\.)");
    if (blocks < 1 || c.layers_per_block < 1) keys.fail("no encoder.down.0.block.0: not an encoder of resolution blocks");
    c.channels.clear();
    for (int64_t b = 0; b < blocks; ++b)
        c.channels.push_back(keys.shape("encoder.down." + std::to_string(b) + ".block.0.conv1.weight", 4)[0]);
    c.groups = kStableDiffusionGroups;
    require_groups(keys, c.channels, c.groups);
    return c;
}

ClipTextConfig clip_text_config_from_shapes(const std::string& path, const WeightShapes& shapes) {
    const Keys keys(path, shapes, "cond_stage_model.transformer.text_model.", "CLIP's text encoder (CLIPTextModel)");
    ClipTextConfig c;
    const auto& tokens = keys.shape("embeddings.token_embedding.weight", 2);
    c.vocabulary = tokens[0];
    c.hidden = tokens[1];
    c.positions = keys.shape("embeddings.position_embedding.weight", 2)[0];
    c.layers = keys.count(R"(encoder\.layers\.(\d+)\.)");
    if (c.layers < 1) keys.fail("no encoder.layers.0");
    c.intermediate = keys.shape("encoder.layers.0.mlp.fc1.weight", 2)[0];
    if (c.hidden % kClipHeadWidth) keys.fail("a width of " + std::to_string(c.hidden) + ", which CLIP's 64-wide heads do not divide");
    c.heads = c.hidden / kClipHeadWidth;
    c.projection = 0;
    return c;
}

}  // namespace soul::pretrained
