"""How far the category can be read on the phantom, outside the engine, as the upper bounds that
docs/encoders.md ("Category") compares the encoders with:

  voxels:  a ridge classifier (one-hot least squares in dual form) from the training betas to the
           phantom's ground-truth category, scored on the test images (repeats averaged), for all
           visual voxels and for each NSD stream;
  images:  the embedding space's image encoder architecture (core/model/embedding_space.cpp),
           trained *supervised* on the category of the training stimuli, scored on the test
           stimuli: what a CNN of that size can see in this many images at all.

Usage: /usr/bin/python3 tools/analysis/category_ceilings.py PREPARED PHANTOM [--image-size 32] [--epochs 15]
(PREPARED: a `souldiffuser prepare` folder; PHANTOM: the phantom it was prepared from.)
Needs Debian's python3-numpy and python3-torch.
"""
import argparse
import csv
import json
import os

import numpy as np
import torch
import torch.nn.functional as F


def read_section(folder, sections, name):
    s = sections[name]
    count = int(np.prod(s["shape"]))
    return np.fromfile(os.path.join(folder, "data.bin"), dtype=np.dtype(s["dtype"]), count=count, offset=s["offset"]).reshape(s["shape"])


def ridge_accuracy(train_x, train_y, test_x, test_y, ridges):
    mean = train_x.mean(0)
    a, b = train_x - mean, test_x - mean
    kernel, cross = a @ a.T, b @ a.T
    y = F.one_hot(train_y, 10).double()
    y = y - y.mean(0)
    out = []
    for lam in ridges:
        alpha = torch.linalg.solve(kernel + lam * torch.eye(kernel.shape[0], dtype=kernel.dtype), y)
        out.append(((cross @ alpha).argmax(1) == test_y).double().mean().item())
    return out


def image_encoder(size):
    layers, c = [], 3
    for o in (32, 64, 128):
        layers += [torch.nn.Conv2d(c, o, 3, 2, 1), torch.nn.GroupNorm(8, o), torch.nn.SiLU(), torch.nn.Conv2d(o, o, 3, 1, 1), torch.nn.SiLU()]
        c = o
    side = (size + 7) // 8
    return torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(128 * side * side, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("prepared")
    p.add_argument("phantom")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=15)
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    manifest = json.load(open(os.path.join(args.prepared, "manifest.json")))
    sections = {s["name"]: s for s in manifest["sections"]}
    rd = lambda name: read_section(args.prepared, sections, name)
    category = {}
    for row in csv.DictReader(open(os.path.join(args.phantom, "phantom", "scenes.csv"))):
        category[int(row["nsdId"])] = int(row["category"])
    nsd_id = rd("image_nsd_id")
    image_category = torch.tensor([category[int(i)] for i in nsd_id])
    train_image, test_image = torch.tensor(rd("train_image")).long(), torch.tensor(rd("test_image")).long()

    train_x, test_x = torch.tensor(rd("train_betas")).double(), torch.tensor(rd("test_betas")).double()
    stream = torch.tensor(rd("voxel_stream"))
    ridges = [1e2, 1e3, 1e4, 1e5]
    print("category from voxels, ridge classifier; accuracy on the test images at ridge", ridges)
    names = {1: "early", 2: "midventral", 3: "midlateral", 4: "midparietal", 5: "ventral", 6: "lateral", 7: "parietal"}
    for label, keep in [("all visual voxels", stream > 0)] + [(names[s], stream == s) for s in range(1, 8)]:
        acc = ridge_accuracy(train_x[:, keep], image_category[train_image], test_x[:, keep], image_category[test_image], ridges)
        print(f"  {label:18s} {int(keep.sum()):6d} voxels  " + "  ".join(f"{a:.2f}" for a in acc))

    images = torch.tensor(rd("images")).permute(0, 3, 1, 2).float() / 255
    images = F.interpolate(images, size=(args.image_size, args.image_size), mode="area")
    seen = torch.unique(train_image)
    net = image_encoder(args.image_size)
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    for epoch in range(args.epochs):
        order = seen[torch.randperm(len(seen))]
        for i in range(0, len(order), 32):
            batch = order[i:i + 32]
            loss = F.cross_entropy(net(images[batch] * 2 - 1), image_category[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = (net(images[test_image] * 2 - 1).argmax(1) == image_category[test_image]).float().mean().item()
    print(f"category from the stimuli, the image encoder trained supervised on {len(seen)} images at {args.image_size} px "
          f"for {args.epochs} epochs: {acc:.2f} on the test images")


if __name__ == "__main__":
    main()
