#!/usr/bin/env python3
"""Reference values for the NSD metrics (core/metrics), computed the way MindEye2's evaluation
notebook computes them (github.com/MedARC-AI/MindEyeV2 src/final_evaluations.ipynb), with Debian's
python3-torch, python3-torchvision and python3-skimage.

  metric_reference.py pixels DIR
      DIR/truth.f32 and DIR/recon.f32 hold (N, 3, 256, 256) float32 images; prints
      {"pixcorr": …, "ssim": …} as the notebook's PixCorr and SSIM cells compute them.
  metric_reference.py nets DIR
      writes each metric network with seeded random weights in its published file's layout and
      format (DIR/<file name>), an input batch per network (DIR/<id>.input.f32) and the features
      torchvision's create_feature_extractor gives for it (DIR/<id>.<layer>.f32), and
      DIR/manifest.json with the shapes.
  metric_reference.py clip DIR
      writes a tiny CLIP vision tower with the key names of openai/clip-vit-large-patch14's
      model.safetensors (text keys and logit_scale included, as in the real file) to
      DIR/clip-vit-large-patch14/model.safetensors, an input (DIR/clip.input.f32) and its image
      embedding (DIR/clip.image_embeds.f32) computed by clip_vision() below, which follows
      transformers' modeling_clip.py step by step; DIR/clip.json has the config and shapes. Until
      transformers' own outputs are fixtures (../shared/reference-fixtures, on a GPU machine), this
      is the check of the C++ port: another implementation, not the reference library.
  metric_reference.py fuzz-seeds DIR
      small inputs for the `weights` fuzz target: a state dict in the zip and legacy formats (a
      strided view, float16, int64, OrderedDict metadata), one wrapped in a checkpoint dict, and a
      safetensors file.
  metric_reference.py clip-keys
      prints every key and shape of the full-size ViT-L/14 vision tower (24 layers, width 1024,
      16 heads, MLP 4096, 14-px patches at 224 px, projection 768), from the published config.
"""
import collections
import json
import sys
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
IMSIZE = 256


def pixels(folder):
    from skimage.color import rgb2gray
    from skimage.metrics import structural_similarity as ssim
    from torchvision import transforms

    def load(name):
        return torch.from_numpy(np.fromfile(f"{folder}/{name}.f32", dtype=np.float32).reshape(-1, 3, IMSIZE, IMSIZE))

    all_images, all_recons = load("truth"), load("recon")
    preprocess = transforms.Compose([transforms.Resize(425, interpolation=transforms.InterpolationMode.BILINEAR)])
    flat_images = preprocess(all_images).reshape(len(all_images), -1).cpu()
    flat_recons = preprocess(all_recons).view(len(all_recons), -1).cpu()
    pixcorr = np.mean([np.corrcoef(flat_images[i], flat_recons[i])[0][1] for i in range(len(all_images))])
    img_gray = rgb2gray(preprocess(all_images).permute((0, 2, 3, 1)).cpu())
    recon_gray = rgb2gray(preprocess(all_recons).permute((0, 2, 3, 1)).cpu())
    scores = [ssim(rec, im, multichannel=True, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
              for im, rec in zip(img_gray, recon_gray)]
    print(json.dumps({"pixcorr": float(pixcorr), "ssim": float(np.mean(scores))}))


def randomise(model, seed):
    """Seeded weights, and BatchNorm statistics away from 0/1 so that they matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith("running_mean") or name.endswith("bias"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif name.endswith("weight") and t.dim() == 1:
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
            else:
                fan_in = max(1, t[0].numel())
                t.copy_(torch.randn(t.shape, generator=g) * (2.0 / fan_in) ** 0.5)
    return model.eval()


def nets(folder):
    from torchvision.models import alexnet, efficientnet_b1, inception_v3, resnet50
    from torchvision.models.feature_extraction import create_feature_extractor

    # (id, file, model, layers, input size, how it is saved)
    specs = [
        ("alexnet", "alexnet-owt-7be5be79.pth", alexnet(), ["features.4", "features.11"], 256, "legacy"),
        ("inception", "inception_v3_google-0cc3c7bd.pth", inception_v3(init_weights=False, aux_logits=True, transform_input=True),
         ["avgpool"], 342, "zip"),
        ("efficientnet", "efficientnet_b1-c27df63c.pth", efficientnet_b1(), ["avgpool"], 255, "zip"),
        ("swav", "swav_800ep_pretrain.pth.tar", resnet50(), ["avgpool"], 224, "swav"),
    ]
    manifest = {}
    for seed, (ident, file, model, layers, size, layout) in enumerate(specs):
        randomise(model, seed)
        state = model.state_dict()
        if layout == "swav":
            # SwAV's checkpoint: DistributedDataParallel's "module." prefix, its projection head and
            # prototypes, no fc; saved by PyTorch 1.4 (the legacy format).
            state = collections.OrderedDict(("module." + k, v) for k, v in state.items() if not k.startswith("fc."))
            state["module.projection_head.0.weight"] = torch.randn(2048, 2048)
            state["module.projection_head.0.bias"] = torch.randn(2048)
            state["module.prototypes.weight"] = torch.randn(3000, 128)
        torch.save(state, f"{folder}/{file}", _use_new_zipfile_serialization=(layout == "zip"))
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.randn(2, 3, size, size, generator=g)
        x.numpy().astype(np.float32).tofile(f"{folder}/{ident}.input.f32")
        extractor = create_feature_extractor(model, return_nodes=layers).eval()
        with torch.no_grad():
            out = extractor(x)
        manifest[ident] = {"input": list(x.shape), "layers": {}}
        for layer in layers:
            f = out[layer].flatten(1)
            f.numpy().astype(np.float32).tofile(f"{folder}/{ident}.{layer}.f32")
            manifest[ident]["layers"][layer] = list(f.shape)
    with open(f"{folder}/manifest.json", "w") as m:
        json.dump(manifest, m)


def clip_keys_of(hidden, layers, intermediate, patch, image, projection):
    keys = [("vision_model.embeddings.class_embedding", [hidden]),
            ("vision_model.embeddings.patch_embedding.weight", [hidden, 3, patch, patch]),
            ("vision_model.embeddings.position_embedding.weight", [(image // patch) ** 2 + 1, hidden]),
            ("vision_model.pre_layrnorm.weight", [hidden]), ("vision_model.pre_layrnorm.bias", [hidden])]
    for i in range(layers):
        p = f"vision_model.encoder.layers.{i}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            keys += [(p + f"self_attn.{proj}.weight", [hidden, hidden]), (p + f"self_attn.{proj}.bias", [hidden])]
        keys += [(p + "layer_norm1.weight", [hidden]), (p + "layer_norm1.bias", [hidden]),
                 (p + "mlp.fc1.weight", [intermediate, hidden]), (p + "mlp.fc1.bias", [intermediate]),
                 (p + "mlp.fc2.weight", [hidden, intermediate]), (p + "mlp.fc2.bias", [hidden]),
                 (p + "layer_norm2.weight", [hidden]), (p + "layer_norm2.bias", [hidden])]
    keys += [("vision_model.post_layernorm.weight", [hidden]), ("vision_model.post_layernorm.bias", [hidden]),
             ("visual_projection.weight", [projection, hidden])]
    return keys


def clip_vision(w, x, cfg):
    """CLIPVisionModelWithProjection's forward, after transformers' modeling_clip.py."""
    import torch.nn.functional as F
    d, heads = cfg["hidden"], cfg["heads"]
    ln = lambda h, name: F.layer_norm(h, (d,), w[name + ".weight"], w[name + ".bias"], 1e-5)
    patches = F.conv2d(x, w["vision_model.embeddings.patch_embedding.weight"], stride=cfg["patch"]).flatten(2).transpose(1, 2)
    cls = w["vision_model.embeddings.class_embedding"].expand(x.shape[0], 1, -1)
    h = torch.cat([cls, patches], 1) + w["vision_model.embeddings.position_embedding.weight"][None]
    h = ln(h, "vision_model.pre_layrnorm")
    b, n, hd = h.shape[0], h.shape[1], d // heads
    for i in range(cfg["layers"]):
        p = f"vision_model.encoder.layers.{i}."
        lin = lambda t, name: F.linear(t, w[p + name + ".weight"], w[p + name + ".bias"])
        r, h = h, ln(h, p + "layer_norm1")
        q = (lin(h, "self_attn.q_proj") * hd ** -0.5).view(b, n, heads, hd).transpose(1, 2)
        k = lin(h, "self_attn.k_proj").view(b, n, heads, hd).transpose(1, 2)
        v = lin(h, "self_attn.v_proj").view(b, n, heads, hd).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2), -1) @ v
        h = r + lin(a.transpose(1, 2).reshape(b, n, d), "self_attn.out_proj")
        r, h = h, ln(h, p + "layer_norm2")
        h = lin(h, "mlp.fc1")
        h = r + lin(h * torch.sigmoid(1.702 * h), "mlp.fc2")
    return F.linear(ln(h[:, 0], "vision_model.post_layernorm"), w["visual_projection.weight"])


def write_safetensors(path, tensors):
    """The safetensors format by hand (Debian 12 has no python3-safetensors): header, then data."""
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}[t.dtype],
                        "shape": list(t.shape), "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def clip(folder):
    import os
    cfg = {"hidden": 64, "layers": 2, "heads": 4, "intermediate": 128, "patch": 14, "image": 56, "projection": 32}
    g = torch.Generator().manual_seed(7)
    w = {}
    for name, shape in clip_keys_of(cfg["hidden"], cfg["layers"], cfg["intermediate"], cfg["patch"], cfg["image"], cfg["projection"]):
        if name.endswith("norm.weight") or name.endswith("norm1.weight") or name.endswith("norm2.weight") or "layrnorm.weight" in name:
            w[name] = torch.rand(shape, generator=g) * 0.5 + 0.75
        elif len(shape) == 1:
            w[name] = torch.randn(shape, generator=g) * 0.1
        else:
            w[name] = torch.randn(shape, generator=g) * (1.0 / shape[-1]) ** 0.5
    stored = dict(w)
    # What the real file holds beside the vision tower.
    stored["text_model.embeddings.token_embedding.weight"] = torch.randn(10, cfg["hidden"], generator=g)
    stored["text_projection.weight"] = torch.randn(cfg["projection"], cfg["hidden"], generator=g)
    stored["logit_scale"] = torch.tensor(4.6052)
    stored["vision_model.embeddings.position_ids"] = torch.arange((cfg["image"] // cfg["patch"]) ** 2 + 1)[None]
    os.makedirs(f"{folder}/clip-vit-large-patch14", exist_ok=True)
    write_safetensors(f"{folder}/clip-vit-large-patch14/model.safetensors", stored)
    x = torch.randn(2, 3, cfg["image"], cfg["image"], generator=g)
    with torch.no_grad():
        embeds = clip_vision(w, x, cfg)
    x.numpy().astype(np.float32).tofile(f"{folder}/clip.input.f32")
    embeds.numpy().astype(np.float32).tofile(f"{folder}/clip.image_embeds.f32")
    with open(f"{folder}/clip.json", "w") as f:
        json.dump({"config": cfg, "input": list(x.shape), "image_embeds": list(embeds.shape)}, f)


def fuzz_seeds(folder):
    torch.manual_seed(0)
    sd = collections.OrderedDict()
    sd["a.weight"] = torch.randn(3, 4)
    sd["b.num_batches_tracked"] = torch.tensor(7)
    sd["view"] = torch.randn(5, 4)[1:4, 1:3]
    sd["half"] = torch.randn(2, 2).half()
    sd._metadata = {"": {"version": 1}}
    torch.save(sd, f"{folder}/seed-zip.pth")
    torch.save(sd, f"{folder}/seed-legacy.pth", _use_new_zipfile_serialization=False)
    torch.save({"state_dict": sd, "epoch": 3}, f"{folder}/seed-wrapped.pth", _use_new_zipfile_serialization=False)
    write_safetensors(f"{folder}/seed-tensors.safetensors", {"w": torch.randn(2, 3), "h": torch.randn(4).half(), "i": torch.arange(3)})


def clip_keys(_=None):
    for name, shape in clip_keys_of(1024, 24, 4096, 14, 224, 768):
        print(name, " ".join(str(s) for s in shape))


if __name__ == "__main__":
    {"pixels": pixels, "nets": nets, "clip": clip, "fuzz-seeds": fuzz_seeds, "clip-keys": clip_keys}[sys.argv[1]](*sys.argv[2:])
