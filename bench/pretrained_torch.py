"""The full-size pretrained networks in PyTorch's own layers, for bench_pretrained: seconds (best of 3)
to encode a batch of BATCH captions with CLIP ViT-L/14's text tower (77 tokens; token and position
embeddings, 12 pre-norm nn.TransformerEncoderLayers of width 768 with quick GELU under a causal
mask, final LayerNorm) and bert-base-uncased (32 tokens; embeddings + LayerNorm, 12 post-norm
layers with GELU, pooler); and Stable Diffusion 1.x's autoencoder (tests/core/autoencoder_reference.py's
torch.nn version: a 256-px image encoded and decoded, best of 2; 512-px latents decoded, once);
and one guided step (batch 2) of Stable Diffusion 1.x's UNet (tests/core/unet_reference.py's
torch.nn version) at 256 px (best of 2) and 512 px (once).
transformers and diffusers are not packaged in Debian 12; these are the same architectures in the
layers a PyTorch user would reach for. Random weights, no gradients.

Usage: /usr/bin/python3 text_encoders_torch.py BATCH THREADS RESULT.json
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

REPEATS = 3


def best_of(f, repeats=REPEATS, warm_up=True):
    if warm_up:
        f()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main(batch, threads, result):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    quick_gelu = lambda x: x * torch.sigmoid(1.702 * x)  # noqa: E731
    clip_layers = nn.TransformerEncoder(nn.TransformerEncoderLayer(768, 12, 3072, 0.0, quick_gelu, 1e-5, batch_first=True, norm_first=True), 12,
                                        enable_nested_tensor=False).eval()
    token, position, final = nn.Embedding(49408, 768), nn.Parameter(torch.randn(77, 768)), nn.LayerNorm(768)
    ids = torch.randint(0, 49406, (batch, 77))
    causal = torch.triu(torch.full((77, 77), float("-inf")), 1)

    def clip():
        x = final(clip_layers(token(ids) + position[None], mask=causal))
        return x[:, -1]

    bert_layers = nn.TransformerEncoder(nn.TransformerEncoderLayer(768, 12, 3072, 0.0, "gelu", 1e-12, batch_first=True), 12,
                                        enable_nested_tensor=False).eval()
    words, positions, types, norm, pooler = nn.Embedding(30522, 768), nn.Embedding(512, 768), nn.Embedding(2, 768), nn.LayerNorm(768, 1e-12), nn.Linear(768, 768)
    bert_ids = torch.randint(0, 30522, (batch, 32))
    padding = torch.zeros(batch, 32, dtype=torch.bool)

    def bert():
        x = norm(words(bert_ids) + positions.weight[:32][None] + types.weight[0])
        return torch.tanh(pooler(bert_layers(x, src_key_padding_mask=padding)[:, 0]))

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "core"))
    from autoencoder_reference import SD15, Model, vae_keys
    weights = {name: torch.randn(shape) * 0.02 for name, shape in vae_keys(SD15)}
    vae = Model(weights, SD15)
    image, latents = torch.rand(1, 3, 256, 256) * 2 - 1, torch.randn(1, 4, 64, 64)
    import unet_reference
    unet_weights = unet_reference.random_weights(unet_reference.unet_keys(unet_reference.SD15), torch.Generator().manual_seed(0))
    unet = unet_reference.Model(unet_weights, unet_reference.SD15)
    context, timesteps = torch.randn(2, 77, 768), torch.tensor([500, 500])
    latents256, latents512 = torch.randn(2, 4, 32, 32), torch.randn(2, 4, 64, 64)

    with torch.no_grad():
        out = {"threads": torch.get_num_threads(), "clip": best_of(clip), "bert": best_of(bert),
               "vae256": best_of(lambda: vae.decode(vae.encode(image)), 2, False), "vae512": best_of(lambda: vae.decode(latents), 1, False),
               "unet256": best_of(lambda: unet.forward(latents256, timesteps, context), 2, False),
               "unet512": best_of(lambda: unet.forward(latents512, timesteps, context), 1, False)}
    with open(result, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
