#!/usr/bin/python3
"""References for Stable Diffusion's UNet (core/pretrained/unet_2d_condition.h), by Debian's
PyTorch alone (diffusers cannot be installed here).

  unet_reference.py keys DIR
      writes DIR/stable-diffusion-v1-5-unet.keys and DIR/stable-diffusion-2-1-unet.keys: every key
      and shape of the full-size UNet2DConditionModel of Stable Diffusion 1.5 and 2.1 in diffusers'
      layout, from the published configs (block_out_channels 320, 640, 1280, 1280; three
      CrossAttnDownBlock2D and a DownBlock2D; two resnets a down block; 32 groups; cross-attention
      768 with 1x1-convolution projections (1.5), 1024 with linear ones (2.1)).

  unet_reference.py outputs DIR
      two tiny UNets with seeded random weights: one in diffusers' layout (unet/config.json +
      diffusion_pytorch_model.safetensors, 1x1-convolution projections, head counts given as
      attention_head_dim, as SD 1.x's config does) and one in the original single file's layout
      (CompVis' input_blocks/middle_block/output_blocks under model.diffusion_model., linear
      projections as 2.x, beside VAE, text-encoder and schedule keys); latents, timesteps and a
      context, and what torch.nn's own layers compute from them: F.conv2d/group_norm/layer_norm/
      gelu/interpolate, the attention as nn.MultiheadAttention.
"""
import json
import math
import os
import re
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from autoencoder_reference import random_weights  # noqa: E402
from metric_reference import write_safetensors  # noqa: E402


def resnet_keys(p, cin, cout, temb):
    keys = [(p + "norm1.weight", [cin]), (p + "norm1.bias", [cin]), (p + "conv1.weight", [cout, cin, 3, 3]), (p + "conv1.bias", [cout]),
            (p + "time_emb_proj.weight", [cout, temb]), (p + "time_emb_proj.bias", [cout]),
            (p + "norm2.weight", [cout]), (p + "norm2.bias", [cout]), (p + "conv2.weight", [cout, cout, 3, 3]), (p + "conv2.bias", [cout])]
    if cin != cout:
        keys += [(p + "conv_shortcut.weight", [cout, cin, 1, 1]), (p + "conv_shortcut.bias", [cout])]
    return keys


def transformer_keys(p, c, ctx, linear):
    proj = [c, c] if linear else [c, c, 1, 1]
    keys = [(p + "norm.weight", [c]), (p + "norm.bias", [c]), (p + "proj_in.weight", proj), (p + "proj_in.bias", [c])]
    b = p + "transformer_blocks.0."
    for n in ("norm1", "norm2", "norm3"):
        keys += [(b + n + ".weight", [c]), (b + n + ".bias", [c])]
    for a, width in (("attn1", c), ("attn2", ctx)):
        keys += [(b + a + ".to_q.weight", [c, c]), (b + a + ".to_k.weight", [c, width]), (b + a + ".to_v.weight", [c, width]),
                 (b + a + ".to_out.0.weight", [c, c]), (b + a + ".to_out.0.bias", [c])]
    keys += [(b + "ff.net.0.proj.weight", [8 * c, c]), (b + "ff.net.0.proj.bias", [8 * c]), (b + "ff.net.2.weight", [c, 4 * c]), (b + "ff.net.2.bias", [c])]
    keys += [(p + "proj_out.weight", proj), (p + "proj_out.bias", [c])]
    return keys


def unet_keys(cfg):
    ch, attn, layers, ctx, linear = cfg["channels"], cfg["attention"], cfg["layers"], cfg["context"], cfg["linear"]
    temb = 4 * ch[0]
    keys = [("conv_in.weight", [ch[0], cfg["in"], 3, 3]), ("conv_in.bias", [ch[0]]),
            ("time_embedding.linear_1.weight", [temb, ch[0]]), ("time_embedding.linear_1.bias", [temb]),
            ("time_embedding.linear_2.weight", [temb, temb]), ("time_embedding.linear_2.bias", [temb])]
    for i, c in enumerate(ch):
        for j in range(layers):
            keys += resnet_keys(f"down_blocks.{i}.resnets.{j}.", (ch[0] if i == 0 else ch[i - 1]) if j == 0 else c, c, temb)
            if attn[i]:
                keys += transformer_keys(f"down_blocks.{i}.attentions.{j}.", c, ctx, linear)
        if i + 1 < len(ch):
            keys += [(f"down_blocks.{i}.downsamplers.0.conv.weight", [c, c, 3, 3]), (f"down_blocks.{i}.downsamplers.0.conv.bias", [c])]
    keys += resnet_keys("mid_block.resnets.0.", ch[-1], ch[-1], temb) + transformer_keys("mid_block.attentions.0.", ch[-1], ctx, linear)
    keys += resnet_keys("mid_block.resnets.1.", ch[-1], ch[-1], temb)
    n = len(ch)
    for i in range(n):
        level = n - 1 - i
        c = ch[level]
        prev = ch[-1] if i == 0 else ch[level + 1]
        skip_in = ch[0] if level == 0 else ch[level - 1]
        for j in range(layers + 1):
            skip = skip_in if j == layers else c
            keys += resnet_keys(f"up_blocks.{i}.resnets.{j}.", (prev if j == 0 else c) + skip, c, temb)
            if attn[level]:
                keys += transformer_keys(f"up_blocks.{i}.attentions.{j}.", c, ctx, linear)
        if i + 1 < n:
            keys += [(f"up_blocks.{i}.upsamplers.0.conv.weight", [c, c, 3, 3]), (f"up_blocks.{i}.upsamplers.0.conv.bias", [c])]
    keys += [("conv_norm_out.weight", [ch[0]]), ("conv_norm_out.bias", [ch[0]]), ("conv_out.weight", [cfg["out"], ch[0], 3, 3]), ("conv_out.bias", [cfg["out"]])]
    return keys


SD15 = {"channels": [320, 640, 1280, 1280], "attention": [True, True, True, False], "heads": [8, 8, 8, 8], "layers": 2, "groups": 32,
        "context": 768, "linear": False, "in": 4, "out": 4}
SD21 = dict(SD15, heads=[5, 10, 20, 20], context=1024, linear=True)


def keys(folder):
    os.makedirs(folder, exist_ok=True)
    for name, cfg, source in (("stable-diffusion-v1-5-unet", SD15, "runwayml/stable-diffusion-v1-5"),
                              ("stable-diffusion-2-1-unet", SD21, "stabilityai/stable-diffusion-2-1")):
        with open(os.path.join(folder, name + ".keys"), "w") as f:
            f.write(f"# {source}'s UNet2DConditionModel (unet/) in diffusers' layout: every key and shape, from the published config;\n"
                    "# written by tests/core/unet_reference.py keys.\n")
            for key, shape in unet_keys(cfg):
                f.write(key + " " + " ".join(str(d) for d in shape) + "\n")


RESNET_ORIGINAL = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
                   "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def original_name(key, cfg):
    """diffusers' name → CompVis' (ldm/modules/diffusionmodules/openaimodel.py), as the single file has it."""
    per = cfg["layers"] + 1
    key = re.sub(r"\.resnets\.(\d+)\.(norm1|conv1|time_emb_proj|norm2|conv2|conv_shortcut)\.",
                 lambda m: f".resnets.{m.group(1)}.{RESNET_ORIGINAL[m.group(2)]}.", key)
    fixed = {"conv_in.": "input_blocks.0.0.", "time_embedding.linear_1.": "time_embed.0.", "time_embedding.linear_2.": "time_embed.2.",
             "conv_norm_out.": "out.0.", "conv_out.": "out.2.", "mid_block.resnets.0.": "middle_block.0.",
             "mid_block.attentions.0.": "middle_block.1.", "mid_block.resnets.1.": "middle_block.2."}
    for a, b in fixed.items():
        if key.startswith(a):
            return "model.diffusion_model." + b + key[len(a):]
    m = re.match(r"^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$", key)
    if m:
        i, j = int(m.group(1)), int(m.group(3))
        key = f"input_blocks.{1 + i * per + j}.{0 if m.group(2) == 'resnets' else 1}.{m.group(4)}"
    m = re.match(r"^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$", key)
    if m:
        key = f"input_blocks.{(int(m.group(1)) + 1) * per}.0.op.{m.group(2)}"
    m = re.match(r"^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$", key)
    if m:
        i, j = int(m.group(1)), int(m.group(3))
        key = f"output_blocks.{i * per + j}.{0 if m.group(2) == 'resnets' else 1}.{m.group(4)}"
    m = re.match(r"^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)$", key)
    if m:
        i = int(m.group(1))
        level = len(cfg["channels"]) - 1 - i
        key = f"output_blocks.{i * per + per - 1}.{2 if cfg['attention'][level] else 1}.conv.{m.group(2)}"
    return "model.diffusion_model." + key


class Model:
    """The UNet's forward in torch.nn's layers, reading the diffusers-named weights w."""

    def __init__(self, w, cfg):
        self.w, self.cfg = w, cfg
        self.attentions = {}   # nn.MultiheadAttention modules, made once each


    def conv(self, x, p, stride=1):
        k = self.w[p + ".weight"]
        return F.conv2d(x, k, self.w[p + ".bias"], stride=stride, padding=k.shape[-1] // 2)

    def gn(self, x, p, eps):
        return F.group_norm(x, self.cfg["groups"], self.w[p + ".weight"], self.w[p + ".bias"], eps)

    def ln(self, x, p):
        return F.layer_norm(x, x.shape[-1:], self.w[p + ".weight"], self.w[p + ".bias"], 1e-5)

    def linear(self, x, p):
        return F.linear(x, self.w[p + ".weight"], self.w.get(p + ".bias"))

    def resnet(self, x, temb, p):
        h = self.conv(F.silu(self.gn(x, p + "norm1", 1e-5)), p + "conv1")
        h = h + self.linear(F.silu(temb), p + "time_emb_proj")[:, :, None, None]
        h = self.conv(F.silu(self.gn(h, p + "norm2", 1e-5)), p + "conv2")
        return (self.conv(x, p + "conv_shortcut") if p + "conv_shortcut.weight" in self.w else x) + h

    def attention(self, x, ctx, p, heads):
        if p in self.attentions:
            return self.attentions[p](x, ctx, ctx, need_weights=False)[0]
        c = x.shape[-1]
        mha = nn.MultiheadAttention(c, heads, kdim=ctx.shape[-1], vdim=ctx.shape[-1], batch_first=True)   # q, k, v biases zeroed
        q, k, v = (self.w[p + n + ".weight"] for n in ("to_q", "to_k", "to_v"))
        with torch.no_grad():
            if mha._qkv_same_embed_dim:
                mha.in_proj_weight.copy_(torch.cat([q, k, v]))
            else:
                mha.q_proj_weight.copy_(q); mha.k_proj_weight.copy_(k); mha.v_proj_weight.copy_(v)
            mha.in_proj_bias.zero_()
            mha.out_proj.weight.copy_(self.w[p + "to_out.0.weight"]); mha.out_proj.bias.copy_(self.w[p + "to_out.0.bias"])
        self.attentions[p] = mha.eval()
        return mha(x, ctx, ctx, need_weights=False)[0]

    def transformer(self, x, ctx, p, heads):
        b, c, hh, ww = x.shape
        t = self.gn(x, p + "norm", 1e-6)
        if not self.cfg["linear"]:
            t = self.conv(t, p + "proj_in")
        t = t.permute(0, 2, 3, 1).reshape(b, hh * ww, c)
        if self.cfg["linear"]:
            t = self.linear(t, p + "proj_in")
        bp = p + "transformer_blocks.0."
        h = self.ln(t, bp + "norm1")
        t = t + self.attention(h, h, bp + "attn1.", heads)
        t = t + self.attention(self.ln(t, bp + "norm2"), ctx, bp + "attn2.", heads)
        hidden, gate = self.linear(self.ln(t, bp + "norm3"), bp + "ff.net.0.proj").chunk(2, dim=-1)
        t = t + self.linear(hidden * F.gelu(gate), bp + "ff.net.2")
        if self.cfg["linear"]:
            t = self.linear(t, p + "proj_out")
        t = t.reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        if not self.cfg["linear"]:
            t = self.conv(t, p + "proj_out")
        return t + x

    def forward(self, x, t, ctx):
        ch, attn, heads, layers = self.cfg["channels"], self.cfg["attention"], self.cfg["heads"], self.cfg["layers"]
        half = ch[0] // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        angles = t.float()[:, None] * freqs[None]
        temb = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
        temb = self.linear(F.silu(self.linear(temb, "time_embedding.linear_1")), "time_embedding.linear_2")
        x = self.conv(x, "conv_in")
        skips = [x]
        for i in range(len(ch)):
            for j in range(layers):
                x = self.resnet(x, temb, f"down_blocks.{i}.resnets.{j}.")
                if attn[i]:
                    x = self.transformer(x, ctx, f"down_blocks.{i}.attentions.{j}.", heads[i])
                skips.append(x)
            if i + 1 < len(ch):
                x = self.conv(x, f"down_blocks.{i}.downsamplers.0.conv", stride=2)
                skips.append(x)
        x = self.resnet(x, temb, "mid_block.resnets.0.")
        x = self.transformer(x, ctx, "mid_block.attentions.0.", heads[-1])
        x = self.resnet(x, temb, "mid_block.resnets.1.")
        n = len(ch)
        for i in range(n):
            level = n - 1 - i
            for j in range(layers + 1):
                x = self.resnet(torch.cat([x, skips.pop()], dim=1), temb, f"up_blocks.{i}.resnets.{j}.")
                if attn[level]:
                    x = self.transformer(x, ctx, f"up_blocks.{i}.attentions.{j}.", heads[level])
            if i + 1 < n:
                x = self.conv(F.interpolate(x, size=skips[-1].shape[-2:], mode="nearest"), f"up_blocks.{i}.upsamplers.0.conv")
        return self.conv(F.silu(self.gn(x, "conv_norm_out", 1e-5)), "conv_out")


TINY = {"channels": [16, 32, 32], "attention": [True, True, False], "heads": [2, 4, 4], "layers": 2, "groups": 8,
        "context": 24, "linear": False, "in": 4, "out": 4}
TINY_LINEAR = dict(TINY, heads=[4, 8, 8], context=20, linear=True)


def outputs(folder):
    os.makedirs(f"{folder}/unet", exist_ok=True)
    g = torch.Generator().manual_seed(11)
    w = random_weights(unet_keys(TINY), g)
    write_safetensors(f"{folder}/unet/diffusion_pytorch_model.safetensors", w)
    with open(f"{folder}/unet/config.json", "w") as f:
        json.dump({"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu", "attention_head_dim": TINY["heads"],
                   "block_out_channels": TINY["channels"], "center_input_sample": False, "cross_attention_dim": TINY["context"],
                   "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"], "downsample_padding": 1,
                   "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": TINY["layers"], "mid_block_scale_factor": 1,
                   "norm_eps": 1e-05, "norm_num_groups": TINY["groups"], "out_channels": 4, "sample_size": 8,
                   "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]}, f)
    w2 = random_weights(unet_keys(TINY_LINEAR), g)
    single = {original_name(k, TINY_LINEAR): v for k, v in w2.items()}
    single["first_stage_model.decoder.conv_in.weight"] = torch.randn(8, 4, 3, 3, generator=g)
    single["cond_stage_model.model.ln_final.weight"] = torch.ones(8)
    single["alphas_cumprod"] = torch.linspace(0.99, 0.01, 10)
    write_safetensors(f"{folder}/sd-unet-single-file.safetensors", single)

    result = {}
    for name, weights, cfg, shape in (("", w, TINY, (2, 4, 8, 8)), ("odd_", w, TINY, (1, 4, 5, 7)), ("linear_", w2, TINY_LINEAR, (2, 4, 8, 8))):
        latents = torch.randn(*shape, generator=g)
        timesteps = torch.tensor([999, 1][:shape[0]])
        context = torch.randn(shape[0], 7, cfg["context"], generator=g)
        with torch.no_grad():
            out = Model(weights, cfg).forward(latents, timesteps, context)
        result.update({name + "latents": latents, name + "timesteps": timesteps, name + "context": context, name + "output": out})
    write_safetensors(f"{folder}/unet_expected.safetensors", result)
    print(json.dumps({"torch": torch.__version__}))


if __name__ == "__main__":
    {"keys": keys, "outputs": outputs}[sys.argv[1]](*sys.argv[2:])
