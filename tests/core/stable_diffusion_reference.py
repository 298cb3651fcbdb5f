#!/usr/bin/python3
"""A reference for the whole Stable Diffusion pipeline (core/infer/stable_diffusion_generator.cpp),
by Debian's PyTorch alone (diffusers cannot be installed here).

  stable_diffusion_reference.py outputs DIR
      writes DIR/sd/, a tiny Stable Diffusion in diffusers' folder layout with seeded random
      weights: model_index.json, unet/ (unet_reference.py's tiny UNet), vae/ (an AutoencoderKL
      of autoencoder_reference.py's layout, f = 4), text_encoder/ (a CLIPTextModel 24 wide),
      tokenizer/ (the tokenizer fixture's vocab.json and merges.txt), scheduler/; and
      DIR/sd_expected.safetensors: what the pipeline computes in torch.nn's layers from fixed start
      noise, with the token ids Hugging Face's tokenizer gave (tests/data/tokenizers/reference.json):
        - "txt2img": the caption, classifier-free guidance 3 against the empty caption, 3 DDIM
          steps (trailing spacing, η = 0), ε-prediction;
        - "img2img": a start image encoded to its scaled posterior mean, strength 0.5 of 4 steps,
          the same model read as v-predicting (ε = √ᾱ v + √(1 − ᾱ) x_t);
      DIR/sd2-single-file.safetensors, the keys by which a 2.x single file is known (no weights
      to run); DIR/sd-small-single-file.safetensors, a 1.x single file of other sizes than the
      published model's, and what it draws ("small_txt2img").

  stable_diffusion_reference.py keys DIR
      writes DIR/stable-diffusion-v1-5-single-file.keys and stable-diffusion-2-1-single-file.keys:
      the original single files' keys and shapes (UNet, autoencoder, and 1.x's text tower).
"""
import json
import math
import os
import shutil
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import autoencoder_reference as vae_ref  # noqa: E402
import text_encoder_reference as text_ref  # noqa: E402
import unet_reference as unet_ref  # noqa: E402
from metric_reference import write_safetensors  # noqa: E402

CAPTION = "a red t-shirt in the upper left on blue stripes"
CLIP = {"vocab": 795, "positions": 77, "hidden": 24, "layers": 2, "heads": 4, "intermediate": 48}
VAE = {"channels": [8, 16, 16], "layers": 1, "groups": 4, "image": 3, "latent": 4, "scaling": 0.18215}
# A 1.x single file of other sizes than the published model's, read from its shapes
# (core/pretrained/single_file_sizes.h): Stable Diffusion's 32 norm groups, 8 heads and a 768-wide
# text tower, but two UNet blocks 32 and 64 wide with one resnet each, an f = 2 autoencoder and one
# text layer.
SMALL_UNET = dict(unet_ref.SD15, channels=[32, 64], attention=[True, False], heads=[8, 8], layers=1)
SMALL_VAE = dict(VAE, channels=[32, 32], groups=32)
SMALL_CLIP = dict(CLIP, hidden=768, layers=1, heads=12, intermediate=64)
GUIDANCE = 3.0


def clip_last_hidden_state(w, ids, clip=CLIP):
    names = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "layer_norm1", "mlp.fc1", "mlp.fc2", "layer_norm2")
    quick_gelu = lambda x: x * torch.sigmoid(1.702 * x)  # noqa: E731
    causal = torch.triu(torch.full((ids.shape[1], ids.shape[1]), float("-inf")), 1)
    x = F.embedding(ids, w["text_model.embeddings.token_embedding.weight"]) + w["text_model.embeddings.position_embedding.weight"][None, :ids.shape[1]]
    for i in range(clip["layers"]):
        x = text_ref.torch_layer(w, f"text_model.encoder.layers.{i}.", clip, True, quick_gelu, 1e-5, names)(x, src_mask=causal)
    return F.layer_norm(x, (clip["hidden"],), w["text_model.final_layer_norm.weight"], w["text_model.final_layer_norm.bias"], 1e-5)


def alpha_bars(steps=1000, start=0.00085, end=0.012):
    betas = [(math.sqrt(start) + (math.sqrt(end) - math.sqrt(start)) * t / (steps - 1)) ** 2 for t in range(steps)]
    out, product = [], 1.0
    for b in betas:
        product *= 1 - b
        out.append(product)
    return out


def ddim(predict, x, count, strength=1.0, start=None, noise=None):
    ab = alpha_bars()
    ts = [max(0, round(1000 - i * 1000 / count) - 1) for i in range(count)]   # trailing spacing
    if start is not None:
        ts = ts[len(ts) - round(count * strength):]
        x = math.sqrt(ab[ts[0]]) * start + math.sqrt(1 - ab[ts[0]]) * noise
    for i, t in enumerate(ts):
        prev = ab[ts[i + 1]] if i + 1 < len(ts) else 1.0
        eps = predict(x, t)
        x0 = (x - math.sqrt(1 - ab[t]) * eps) / math.sqrt(ab[t])
        x = math.sqrt(prev) * x0 + math.sqrt(1 - prev) * eps
    return x


def text_to_image(unet, vae, context, noise, steps):
    def guided(x, t):
        out = unet.forward(torch.cat([x, x]), torch.tensor([t, t]), context)
        return out[:1] + GUIDANCE * (out[1:] - out[:1])
    return ((vae.decode(ddim(guided, noise, steps)) + 1) / 2).clamp(0, 1), guided


def small_single_file(folder, g, ids):
    """DIR/sd-small-single-file.safetensors (CompVis' layout: UNet, VAE and CLIP's text tower under
    cond_stage_model.transformer.) and what it draws from the caption in 3 guided DDIM steps."""
    unet_w = unet_ref.random_weights(unet_ref.unet_keys(SMALL_UNET), g)
    vae_w = vae_ref.random_weights(vae_ref.vae_keys(SMALL_VAE), g)
    clip_w = text_ref.random_weights(text_ref.clip_text_keys(dict(SMALL_CLIP, projection=0)), g)
    single = {unet_ref.original_name(k, SMALL_UNET): v for k, v in unet_w.items()}
    single.update(vae_ref.single_file_weights(vae_w, SMALL_VAE))
    single.update({"cond_stage_model.transformer." + k: v for k, v in clip_w.items()})
    single["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(SMALL_CLIP["positions"])[None]
    single["alphas_cumprod"] = torch.tensor(alpha_bars())
    write_safetensors(f"{folder}/sd-small-single-file.safetensors", single)
    noise = torch.randn(1, 4, 8, 8, generator=g)
    with torch.no_grad():
        context = clip_last_hidden_state(clip_w, ids, SMALL_CLIP)
        image, _ = text_to_image(unet_ref.Model(unet_w, SMALL_UNET), vae_ref.Model(vae_w, SMALL_VAE), context, noise, 3)
    return noise, image


def outputs(folder):
    sd = os.path.join(folder, "sd")
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        os.makedirs(os.path.join(sd, part), exist_ok=True)
    g = torch.Generator().manual_seed(23)
    unet_w = unet_ref.random_weights(unet_ref.unet_keys(unet_ref.TINY), g)
    vae_w = vae_ref.random_weights(vae_ref.vae_keys(VAE), g)
    clip_w = text_ref.random_weights(text_ref.clip_text_keys(dict(CLIP, projection=0)), g)
    clip_w = {k: v for k, v in clip_w.items() if not k.startswith("text_projection")}
    write_safetensors(f"{sd}/unet/diffusion_pytorch_model.safetensors", unet_w)
    write_safetensors(f"{sd}/vae/diffusion_pytorch_model.safetensors", vae_w)
    write_safetensors(f"{sd}/text_encoder/model.safetensors", clip_w)
    shutil.copy(f"{folder}/unet/config.json", f"{sd}/unet/config.json")
    with open(f"{sd}/vae/config.json", "w") as f:
        json.dump({"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": VAE["layers"],
                   "norm_num_groups": VAE["groups"], "block_out_channels": VAE["channels"], "scaling_factor": VAE["scaling"]}, f)
    with open(f"{sd}/text_encoder/config.json", "w") as f:
        json.dump({"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": CLIP["vocab"],
                   "max_position_embeddings": CLIP["positions"], "hidden_size": CLIP["hidden"], "num_hidden_layers": CLIP["layers"],
                   "num_attention_heads": CLIP["heads"], "intermediate_size": CLIP["intermediate"], "projection_dim": 16, "hidden_act": "quick_gelu"}, f)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(HERE, "../data/tokenizers", name), f"{sd}/tokenizer/{name}")
    with open(f"{sd}/tokenizer/special_tokens_map.json", "w") as f:
        json.dump({"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}, f)
    with open(f"{sd}/scheduler/scheduler_config.json", "w") as f:
        json.dump({"_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
                   "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": False, "steps_offset": 1}, f)
    with open(f"{sd}/model_index.json", "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
                   "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"]}, f)

    with open(os.path.join(HERE, "../data/tokenizers/reference.json")) as f:
        cases = {case["text"]: case["clip_ids_77"] for case in json.load(f)["cases"]}
    unet = unet_ref.Model(unet_w, unet_ref.TINY)
    vae = vae_ref.Model(vae_w, VAE)
    with torch.no_grad():
        context = clip_last_hidden_state(clip_w, torch.tensor([cases[""], cases[CAPTION]]))

        noise = torch.randn(1, 4, 8, 8, generator=g)
        txt2img, guided = text_to_image(unet, vae, context, noise, 3)

        ab = alpha_bars()

        def v_model(x, t):
            return math.sqrt(ab[t]) * guided(x, t) + math.sqrt(1 - ab[t]) * x

        init = torch.rand(1, 3, 32, 32, generator=g)
        start = vae.encode(init * 2 - 1)
        img2img = ((vae.decode(ddim(v_model, None, 4, 0.5, start, noise)) + 1) / 2).clamp(0, 1)
    # A 2.x single file as far as the file's keys tell (a 1024-wide cross-attention, an autoencoder),
    # which does not say what it predicts.
    write_safetensors(f"{folder}/sd2-single-file.safetensors", {
        "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3),
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": torch.zeros(8, 1024),
        "first_stage_model.decoder.conv_in.weight": torch.zeros(8, 4, 3, 3)})
    small_noise, small = small_single_file(folder, g, torch.tensor([cases[""], cases[CAPTION]]))
    write_safetensors(f"{folder}/sd_expected.safetensors", {"noise": noise, "init": init, "txt2img": txt2img, "img2img": img2img,
                                                            "small_noise": small_noise, "small_txt2img": small})
    print(json.dumps({"torch": torch.__version__, "caption": CAPTION, "guidance": GUIDANCE}))


def keys(folder):
    """The original single files' UNet, VAE and (1.x) text-tower keys and shapes, in CompVis' layout."""
    os.makedirs(folder, exist_ok=True)
    for name, unet_cfg, source in (("stable-diffusion-v1-5-single-file", unet_ref.SD15, "v1-5-pruned-emaonly.safetensors (runwayml)"),
                                   ("stable-diffusion-2-1-single-file", unet_ref.SD21, "v2-1_768-ema-pruned.safetensors (stabilityai)")):
        listing = [(unet_ref.original_name(k, unet_cfg), shape) for k, shape in unet_ref.unet_keys(unet_cfg)]
        vae = vae_ref.vae_keys(vae_ref.SD15)
        attention = [k for k, shape in vae if ".attentions.0.to_" in k and k.endswith(".weight")]
        listing += [(vae_ref.original_name(k, len(vae_ref.SD15["channels"])), shape + [1, 1] if k in attention else shape) for k, shape in vae]
        if unet_cfg is unet_ref.SD15:   # 2.x's OpenCLIP tower is read from a diffusers folder instead
            listing += [("cond_stage_model.transformer." + k, shape) for k, shape in text_ref.clip_text_keys(dict(text_ref.CLIP_L14, projection=0))]
        with open(os.path.join(folder, name + ".keys"), "w") as f:
            f.write(f"# {source}: the UNet, the autoencoder{' and CLIP ViT-L/14' + chr(39) + 's text tower' if unet_cfg is unet_ref.SD15 else ''} in the\n"
                    "# original single file's layout (CompVis' ldm names), from the published configs; written by\n"
                    "# tests/core/stable_diffusion_reference.py keys.\n")
            for key, shape in listing:
                f.write(key + " " + " ".join(str(d) for d in shape) + "\n")


if __name__ == "__main__":
    {"outputs": outputs, "keys": keys}[sys.argv[1]](*sys.argv[2:])
