#!/usr/bin/python3
"""References for Stable Diffusion's autoencoder (core/pretrained/autoencoder_kl.h), by Debian's
PyTorch alone (diffusers cannot be installed here).

  autoencoder_reference.py keys DIR
      writes DIR/stable-diffusion-v1-5-vae.keys: every key and shape of the full-size AutoencoderKL
      of Stable Diffusion 1.x in diffusers' layout (block_out_channels 128, 256, 512, 512; two
      resnets a block; 32 groups; 3 image and 4 latent channels), from the published config.

  autoencoder_reference.py outputs DIR
      a tiny AutoencoderKL with seeded random weights, written in both published layouts: a
      diffusers vae/ folder (diffusion_pytorch_model.safetensors + config.json, its older
      query/key/value/proj_attn attention names in a second file) and the original single file
      (CompVis' names under first_stage_model., the attention's projections as 1x1 convolutions,
      the decoder's blocks numbered from the lowest resolution, beside UNet, text and schedule
      keys); an image and what torch.nn's own layers compute from it (encoder → quant_conv → the
      mean × scaling factor; latents → post_quant_conv → decoder), the mid-block attention as
      nn.MultiheadAttention with one head.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metric_reference import write_safetensors  # noqa: E402


def resnet_keys(p, cin, cout):
    keys = [(p + "norm1.weight", [cin]), (p + "norm1.bias", [cin]), (p + "conv1.weight", [cout, cin, 3, 3]), (p + "conv1.bias", [cout]),
            (p + "norm2.weight", [cout]), (p + "norm2.bias", [cout]), (p + "conv2.weight", [cout, cout, 3, 3]), (p + "conv2.bias", [cout])]
    if cin != cout:
        keys += [(p + "conv_shortcut.weight", [cout, cin, 1, 1]), (p + "conv_shortcut.bias", [cout])]
    return keys


def mid_keys(p, c):
    keys = resnet_keys(p + "resnets.0.", c, c) + resnet_keys(p + "resnets.1.", c, c)
    a = p + "attentions.0."
    keys += [(a + "group_norm.weight", [c]), (a + "group_norm.bias", [c])]
    for name in ("to_q", "to_k", "to_v", "to_out.0"):
        keys += [(a + name + ".weight", [c, c]), (a + name + ".bias", [c])]
    return keys


def vae_keys(cfg):
    ch, layers, img, lat = cfg["channels"], cfg["layers"], cfg["image"], cfg["latent"]
    keys = [("encoder.conv_in.weight", [ch[0], img, 3, 3]), ("encoder.conv_in.bias", [ch[0]])]
    for i, c in enumerate(ch):
        cin = ch[0] if i == 0 else ch[i - 1]
        for j in range(layers):
            keys += resnet_keys(f"encoder.down_blocks.{i}.resnets.{j}.", cin if j == 0 else c, c)
        if i + 1 < len(ch):
            keys += [(f"encoder.down_blocks.{i}.downsamplers.0.conv.weight", [c, c, 3, 3]), (f"encoder.down_blocks.{i}.downsamplers.0.conv.bias", [c])]
    keys += mid_keys("encoder.mid_block.", ch[-1])
    keys += [("encoder.conv_norm_out.weight", [ch[-1]]), ("encoder.conv_norm_out.bias", [ch[-1]]),
             ("encoder.conv_out.weight", [2 * lat, ch[-1], 3, 3]), ("encoder.conv_out.bias", [2 * lat])]
    rev = ch[::-1]
    keys += [("decoder.conv_in.weight", [rev[0], lat, 3, 3]), ("decoder.conv_in.bias", [rev[0]])]
    keys += mid_keys("decoder.mid_block.", rev[0])
    for i, c in enumerate(rev):
        cin = rev[0] if i == 0 else rev[i - 1]
        for j in range(layers + 1):
            keys += resnet_keys(f"decoder.up_blocks.{i}.resnets.{j}.", cin if j == 0 else c, c)
        if i + 1 < len(rev):
            keys += [(f"decoder.up_blocks.{i}.upsamplers.0.conv.weight", [c, c, 3, 3]), (f"decoder.up_blocks.{i}.upsamplers.0.conv.bias", [c])]
    keys += [("decoder.conv_norm_out.weight", [rev[-1]]), ("decoder.conv_norm_out.bias", [rev[-1]]),
             ("decoder.conv_out.weight", [img, rev[-1], 3, 3]), ("decoder.conv_out.bias", [img]),
             ("quant_conv.weight", [2 * lat, 2 * lat, 1, 1]), ("quant_conv.bias", [2 * lat]),
             ("post_quant_conv.weight", [lat, lat, 1, 1]), ("post_quant_conv.bias", [lat])]
    return keys


SD15 = {"channels": [128, 256, 512, 512], "layers": 2, "groups": 32, "image": 3, "latent": 4, "scaling": 0.18215}


def keys(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "stable-diffusion-v1-5-vae.keys"), "w") as f:
        f.write("# Stable Diffusion 1.x's AutoencoderKL (runwayml/stable-diffusion-v1-5 vae/) in diffusers' layout: every key and shape,\n"
                "# from the published config; written by tests/core/autoencoder_reference.py keys.\n")
        for key, shape in vae_keys(SD15):
            f.write(key + " " + " ".join(str(d) for d in shape) + "\n")


def original_name(key, blocks):
    """diffusers' name → CompVis' (ldm/modules/diffusionmodules/model.py), as the single file has it."""
    import re
    key = re.sub(r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.", r"encoder.down.\1.block.\2.", key)
    key = re.sub(r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample.", key)
    m = re.match(r"^decoder\.up_blocks\.(\d+)\.(resnets|upsamplers\.0)\.(.*)$", key)
    if m:
        inner = m.group(3) if m.group(2) == "upsamplers.0" else m.group(3)
        kind = "upsample." if m.group(2) == "upsamplers.0" else "block."
        key = f"decoder.up.{blocks - 1 - int(m.group(1))}.{kind}{inner}"
    key = key.replace(".mid_block.resnets.0.", ".mid.block_1.").replace(".mid_block.resnets.1.", ".mid.block_2.")
    key = key.replace(".mid_block.attentions.0.group_norm.", ".mid.attn_1.norm.")
    for a, b in (("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")):
        key = key.replace(f".mid_block.attentions.0.{a}.", f".mid.attn_1.{b}.")
    key = key.replace(".conv_norm_out.", ".norm_out.").replace(".conv_shortcut.", ".nin_shortcut.")
    return "first_stage_model." + key


class Model:
    """The autoencoder's forward in torch.nn's layers, reading the diffusers-named weights w."""

    def __init__(self, w, cfg):
        self.w, self.cfg = w, cfg

    def gn(self, x, p):
        return F.group_norm(x, self.cfg["groups"], self.w[p + ".weight"], self.w[p + ".bias"], 1e-6)

    def conv(self, x, p, stride=1, padding=1):
        return F.conv2d(x, self.w[p + ".weight"], self.w[p + ".bias"], stride=stride, padding=padding)

    def resnet(self, x, p):
        h = self.conv(F.silu(self.gn(x, p + "norm1")), p + "conv1")
        h = self.conv(F.silu(self.gn(h, p + "norm2")), p + "conv2")
        return (self.conv(x, p + "conv_shortcut", padding=0) if p + "conv_shortcut.weight" in self.w else x) + h

    def attention(self, x, p):
        b, c, hh, ww = x.shape
        mha = nn.MultiheadAttention(c, 1, batch_first=True)
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([self.w[p + n + ".weight"] for n in ("to_q", "to_k", "to_v")]))
            mha.in_proj_bias.copy_(torch.cat([self.w[p + n + ".bias"] for n in ("to_q", "to_k", "to_v")]))
            mha.out_proj.weight.copy_(self.w[p + "to_out.0.weight"]); mha.out_proj.bias.copy_(self.w[p + "to_out.0.bias"])
        t = self.gn(x, p + "group_norm").view(b, c, hh * ww).transpose(1, 2)
        y = mha.eval()(t, t, t, need_weights=False)[0]
        return x + y.transpose(1, 2).reshape(b, c, hh, ww)

    def mid(self, x, p):
        return self.resnet(self.attention(self.resnet(x, p + "resnets.0."), p + "attentions.0."), p + "resnets.1.")

    def encode(self, x):
        ch, layers = self.cfg["channels"], self.cfg["layers"]
        x = self.conv(x, "encoder.conv_in")
        for i in range(len(ch)):
            for j in range(layers):
                x = self.resnet(x, f"encoder.down_blocks.{i}.resnets.{j}.")
            if i + 1 < len(ch):
                x = self.conv(F.pad(x, (0, 1, 0, 1)), f"encoder.down_blocks.{i}.downsamplers.0.conv", stride=2, padding=0)
        x = self.conv(F.silu(self.gn(self.mid(x, "encoder.mid_block."), "encoder.conv_norm_out")), "encoder.conv_out")
        moments = self.conv(x, "quant_conv", padding=0)
        return moments[:, :self.cfg["latent"]] * self.cfg["scaling"]

    def decode(self, z):
        ch, layers = self.cfg["channels"], self.cfg["layers"]
        x = self.conv(self.conv(z / self.cfg["scaling"], "post_quant_conv", padding=0), "decoder.conv_in")
        x = self.mid(x, "decoder.mid_block.")
        for i in range(len(ch)):
            for j in range(layers + 1):
                x = self.resnet(x, f"decoder.up_blocks.{i}.resnets.{j}.")
            if i + 1 < len(ch):
                x = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"), f"decoder.up_blocks.{i}.upsamplers.0.conv")
        return self.conv(F.silu(self.gn(x, "decoder.conv_norm_out")), "decoder.conv_out")


def single_file_weights(w, cfg):
    """diffusers-named weights → the original single file's (first_stage_model., 1x1 convolutions)."""
    single = {}
    for k, v in w.items():
        if ".attentions.0.to_" in k and k.endswith(".weight"):
            v = v[:, :, None, None]   # the original file's 1x1 convolutions
        single[original_name(k, len(cfg["channels"]))] = v
    return single


def random_weights(key_list, g):
    w = {}
    for name, shape in key_list:
        if "norm" in name and name.endswith(".weight"):
            w[name] = torch.rand(shape, generator=g) * 0.5 + 0.75
        elif len(shape) == 1:
            w[name] = torch.randn(shape, generator=g) * 0.1
        else:
            fan_in = 1
            for d in shape[1:]:
                fan_in *= d
            w[name] = torch.randn(shape, generator=g) * (1.0 / fan_in) ** 0.5
    return w


def outputs(folder):
    os.makedirs(f"{folder}/vae", exist_ok=True)
    cfg = {"channels": [8, 16, 16], "layers": 1, "groups": 4, "image": 3, "latent": 4, "scaling": 0.18215}
    g = torch.Generator().manual_seed(5)
    w = random_weights(vae_keys(cfg), g)
    write_safetensors(f"{folder}/vae/diffusion_pytorch_model.safetensors", w)
    with open(f"{folder}/vae/config.json", "w") as f:
        json.dump({"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": cfg["layers"],
                   "norm_num_groups": cfg["groups"], "block_out_channels": cfg["channels"], "scaling_factor": cfg["scaling"],
                   "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3, "act_fn": "silu"}, f)
    old = {}
    for k, v in w.items():   # diffusers < 0.14
        for a, b in (("to_q", "query"), ("to_k", "key"), ("to_v", "value"), ("to_out.0", "proj_attn")):
            k = k.replace(f".attentions.0.{a}.", f".attentions.0.{b}.")
        old[k] = v
    write_safetensors(f"{folder}/vae_old_names.safetensors", old)
    single = single_file_weights(w, cfg)
    single["model.diffusion_model.input_blocks.0.0.weight"] = torch.randn(8, 4, 3, 3, generator=g)
    single["cond_stage_model.transformer.text_model.final_layer_norm.weight"] = torch.ones(8)
    single["alphas_cumprod"] = torch.linspace(0.99, 0.01, 10)
    write_safetensors(f"{folder}/sd-single-file.safetensors", single)
    # Files of other models, named by their keys (core/pretrained/checkpoint_identity.h).
    attn2 = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
    write_safetensors(f"{folder}/sd2-inpainting.safetensors", dict(single, **{
        "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 9, 3, 3), attn2: torch.zeros(8, 1024)}))
    write_safetensors(f"{folder}/sdxl.safetensors", dict(single, **{
        "conditioner.embedders.1.model.ln_final.weight": torch.ones(8), "model.diffusion_model.label_emb.0.0.weight": torch.zeros(8, 16),
        attn2: torch.zeros(8, 2048)}))
    write_safetensors(f"{folder}/lora.safetensors", {
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 8),
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": torch.zeros(8, 4)})
    write_safetensors(f"{folder}/unet-only.safetensors", {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3),
                                                         attn2: torch.zeros(8, 768)})

    model = Model(w, cfg)
    image = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    latents = torch.randn(2, 4, 4, 4, generator=g)
    with torch.no_grad():
        write_safetensors(f"{folder}/vae_expected.safetensors",
                          {"image": image, "encoded": model.encode(image), "latents": latents, "decoded": model.decode(latents)})
    print(json.dumps({"torch": torch.__version__}))


if __name__ == "__main__":
    {"keys": keys, "outputs": outputs}[sys.argv[1]](*sys.argv[2:])
