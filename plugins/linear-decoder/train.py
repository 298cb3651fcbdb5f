#!/usr/bin/python3
"""The example decoder plugin: ridge regression from every voxel to the 8x8 image and the caption.

A linear decoder, the field's baseline (Takagi & Nishimoto 2023; Brain-Diffuser, Ozcelik &
VanRullen 2023, fit their first stage with ridge): the betas of a training trial -> the mean colour
of each block of an 8x8 grid of the seen image (the engine uses it as the palette and, upsampled,
as the img2img start) and the seen image's caption embedding in the run's text encoder. Ridge in
its dual form (Saunders et al. 1998): the kernel is (N, N) for N training rows, not (V, V).

Usage, with Debian's python3-torch and python3-numpy (docs/decoder-plugins.md):
    souldiffuser export-targets --out TARGETS
    /usr/bin/python3 plugins/linear-decoder/train.py --targets TARGETS --out ~/.local/share/souldiffuser/plugins/linear
"""
import argparse
import json
import os
import sys
from typing import Dict

import numpy as np
import torch

PALETTE_SIDE = 8                       # the paper's 8x8 colour palette
LAMBDAS = [1e1, 1e2, 1e3, 1e4, 1e5]    # penalties tried on standardised betas
HELD_OUT = 0.2                         # the last fifth of the rows chooses the penalty


def fail(message: str) -> None:
    print(f"train.py: {message}", file=sys.stderr)
    sys.exit(1)


def read_betas(dataset: str) -> np.ndarray:
    """The prepared dataset's training betas (N, V), memory-mapped from data.bin."""
    manifest_path = os.path.join(dataset, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    sections = {s["name"]: s for s in manifest["sections"]}
    if "train_betas" not in sections:
        fail(f"{manifest_path}: has no train_betas section")
    s = sections["train_betas"]
    if s["dtype"] != "float32":
        fail(f"{manifest_path}: train_betas is {s['dtype']}, not float32")
    return np.memmap(os.path.join(dataset, "data.bin"), dtype=np.float32, mode="r", offset=s["offset"], shape=tuple(s["shape"]))


class LinearDecoder(torch.nn.Module):
    """betas (B, V) -> {"low_level", "palette": (B, 3, 8, 8), "caption": (B, D)}."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.register_buffer("weight", weight)   # (V, 3*8*8 + D), the standardisation folded in
        self.register_buffer("bias", bias)

    def forward(self, betas: torch.Tensor) -> Dict[str, torch.Tensor]:
        y = torch.addmm(self.bias, betas, self.weight)
        side = 8
        image = y[:, : 3 * side * side].reshape(-1, 3, side, side).clamp(0, 1)
        return {"low_level": image, "palette": image, "caption": y[:, 3 * side * side:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", required=True, help="the folder souldiffuser export-targets wrote")
    parser.add_argument("--out", required=True, help="the plugin folder to write (decoder.json, decoder.pt)")
    parser.add_argument("--name", default="linear", help="the name --decoder takes (default: linear)")
    args = parser.parse_args()

    targets_path = os.path.join(args.targets, "targets.json")
    try:
        with open(targets_path) as f:
            targets = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{targets_path}: cannot be read ({e}); write it with souldiffuser export-targets")
    if targets.get("format") != "souldiffuser-decoder-targets":
        fail(f"{targets_path}: is not a souldiffuser-decoder-targets file")
    load = lambda name: np.load(os.path.join(args.targets, name))
    rows, row_target = load("train_rows.npy"), load("row_target.npy")
    palette, caption = load("palette.npy"), load("caption.npy")

    torch.manual_seed(0)
    betas = torch.from_numpy(np.ascontiguousarray(read_betas(targets["dataset"]["path"])[rows])).double()
    y = torch.cat([torch.from_numpy(palette).double().flatten(1), torch.from_numpy(caption).double()], 1)[torch.from_numpy(row_target)]
    mean, scale = betas.mean(0), 1.0 / betas.std(0, unbiased=False).clamp_min(1e-8)
    x = (betas - mean) * scale
    y_mean = y.mean(0)
    y = y - y_mean
    gram = x @ x.T
    n = x.shape[0]
    fitted = n - int(n * HELD_OUT)
    errors = {}
    for lam in LAMBDAS:
        alpha = torch.linalg.solve(gram[:fitted, :fitted] + lam * torch.eye(fitted, dtype=gram.dtype), y[:fitted])
        errors[lam] = float(((gram[fitted:, :fitted] @ alpha - y[fitted:]) ** 2).mean())
    lam = min(errors, key=errors.get)
    alpha = torch.linalg.solve(gram + lam * torch.eye(n, dtype=gram.dtype), y)
    # y = ((b - mean) * scale) @ (x.T @ alpha) + y_mean = b @ W + bias
    w = (x.T @ alpha) * scale[:, None]
    bias = y_mean - mean @ w
    print(f"ridge on {n} rows x {x.shape[1]} voxels; penalty {lam:g} (held-out MSE {errors[lam]:.5f})")

    module = torch.jit.script(LinearDecoder(w.float(), bias.float()))
    os.makedirs(args.out, exist_ok=True)
    module.save(os.path.join(args.out, "decoder.pt"))
    manifest = {
        "format": "souldiffuser-decoder-plugin",
        "format_version": 1,
        "name": args.name,
        "title": "linear decoder (ridge)",
        "module": "decoder.pt",
        "dataset": targets["dataset"]["fingerprint"],
        "caption_space": targets["caption_space"],
        "outputs": {"low_level": [3, PALETTE_SIDE, PALETTE_SIDE], "palette": [3, PALETTE_SIDE, PALETTE_SIDE], "caption": [int(targets["caption_dim"])]},
        "trained_by": "plugins/linear-decoder/train.py",
        "penalty": lam,
    }
    with open(os.path.join(args.out, "decoder.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(os.path.join(args.out, "decoder.json"))


if __name__ == "__main__":
    main()
