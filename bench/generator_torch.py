"""The generator's UNet, adapters and VAE in Debian's python3-torch, for bench_generator: the same
layers and shapes as core/model/{conv_blocks,unet,adapters,vae}.cpp (attention written with matmul
and softmax, as LibTorch 1.13 has no fused attention), timed the same way:
  - training samples/s of the UNet and of the VAE (forward, backward, AdamW step per batch);
  - seconds per 64x64 image: 25 DDIM steps with classifier-free guidance (the UNet on a batch of
    2: unconditional and with a caption) with colour and edge adapter features, then the VAE decoder.

Usage: /usr/bin/python3 generator_torch.py SHAPES.json RESULT.json
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

GROUPS = 8


class ResBlock(nn.Module):
    def __init__(self, cin, cout, time_width=0):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(GROUPS, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = nn.GroupNorm(GROUPS, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.time = nn.Linear(time_width, cout) if time_width else None

    def forward(self, x, t=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time is not None and t is not None:
            h = h + self.time(F.silu(t))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, width, heads, context_width=0):
        super().__init__()
        source = context_width or width
        self.heads = heads
        self.q = nn.Linear(width, width, bias=False)
        self.k = nn.Linear(source, width, bias=False)
        self.v = nn.Linear(source, width, bias=False)
        self.out = nn.Linear(width, width)

    def forward(self, x, context=None, mask=None):
        src = x if context is None else context
        b, l, w = x.shape
        h = w // self.heads
        split = lambda t: t.view(b, t.shape[1], self.heads, h).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(src)), split(self.v(src))
        scores = q @ k.transpose(-2, -1) / math.sqrt(h)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, None, :], -1e9)
        return self.out((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, l, w))


class SpatialTransformer(nn.Module):
    def __init__(self, c, heads, context_width):
        super().__init__()
        self.norm, self.proj_in, self.proj_out = nn.GroupNorm(GROUPS, c), nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.n1, self.n2, self.n3 = nn.LayerNorm(c), nn.LayerNorm(c), nn.LayerNorm(c)
        self.self_attention, self.cross_attention = Attention(c, heads), Attention(c, heads, context_width)
        self.mlp = nn.Sequential(nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c))

    def forward(self, x, context, mask):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        y = y + self.self_attention(self.n1(y))
        y = y + self.cross_attention(self.n2(y), context, mask)
        y = y + self.mlp(self.n3(y))
        return x + self.proj_out(y.transpose(1, 2).reshape(b, c, h, w))


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.cos(), angles.sin()], 1)


class UNet(nn.Module):
    def __init__(self, latent, w, heads, context_width):
        super().__init__()
        w2, tw = 2 * w, 4 * w
        self.w = w
        self.time = nn.Sequential(nn.Linear(w, tw), nn.SiLU(), nn.Linear(tw, tw))
        self.conv_in = nn.Conv2d(latent, w, 3, padding=1)
        self.res0, self.down0 = ResBlock(w, w, tw), nn.Conv2d(w, w, 3, 2, 1)
        self.res1, self.attn1, self.down1 = ResBlock(w, w2, tw), SpatialTransformer(w2, heads, context_width), nn.Conv2d(w2, w2, 3, 2, 1)
        self.mid0, self.attn_mid, self.mid1 = ResBlock(w2, w2, tw), SpatialTransformer(w2, heads, context_width), ResBlock(w2, w2, tw)
        self.up1, self.attn_up1 = ResBlock(2 * w2, w2, tw), SpatialTransformer(w2, heads, context_width)
        self.up0 = ResBlock(w2 + w, w, tw)
        self.out_norm, self.out = nn.GroupNorm(GROUPS, w), nn.Conv2d(w, latent, 3, padding=1)

    def forward(self, x, t, context, mask, adapter=None):
        time = self.time(timestep_embedding(t, self.w))
        add = (lambda h, i: h) if adapter is None else (lambda h, i: h + adapter[i])
        s0 = add(self.res0(self.conv_in(x), time), 0)
        s1 = add(self.attn1(self.res1(self.down0(s0), time), context, mask), 1)
        h = add(self.down1(s1), 2)
        h = self.mid1(self.attn_mid(self.mid0(h, time), context, mask), time)
        h = self.attn_up1(self.up1(torch.cat([F.interpolate(h, scale_factor=2.0), s1], 1), time), context, mask)
        h = self.up0(torch.cat([F.interpolate(h, scale_factor=2.0), s0], 1), time)
        return self.out(F.silu(self.out_norm(h)))


class Adapter(nn.Module):
    def __init__(self, cin, w):
        super().__init__()
        levels = [w, 2 * w, 2 * w]
        self.conv_in = nn.Conv2d(cin, w, 3, padding=1)
        self.downs = nn.ModuleList([nn.Conv2d(levels[i - 1], levels[i], 3, 2, 1) for i in range(1, 3)])
        self.blocks = nn.ModuleList([ResBlock(c, c) for c in levels])
        self.outs = nn.ModuleList([nn.Conv2d(c, c, 1) for c in levels])

    def forward(self, x):
        h, out = F.silu(self.conv_in(x)), []
        for i, block in enumerate(self.blocks):
            if i:
                h = self.downs[i - 1](h)
            h = block(h)
            out.append(self.outs[i](h))
        return out


class PlainRes(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block = ResBlock(c, c)

    def forward(self, x):
        return self.block(x)


class VAE(nn.Module):
    def __init__(self, w, latent):
        super().__init__()
        w2 = 2 * w
        self.encoder = nn.Sequential(nn.Conv2d(3, w // 2, 3, padding=1), nn.SiLU(), nn.Conv2d(w // 2, w, 4, 2, 1), PlainRes(w),
                                     nn.Conv2d(w, w2, 4, 2, 1), PlainRes(w2), nn.GroupNorm(GROUPS, w2), nn.SiLU(), nn.Conv2d(w2, 2 * latent, 1))
        self.decoder = nn.Sequential(nn.Conv2d(latent, w2, 3, padding=1), PlainRes(w2), nn.Upsample(scale_factor=2.0),
                                     nn.Conv2d(w2, w, 3, padding=1), PlainRes(w), nn.Upsample(scale_factor=2.0),
                                     nn.Conv2d(w, w // 2, 3, padding=1), nn.GroupNorm(GROUPS, w // 2), nn.SiLU(), nn.Conv2d(w // 2, 3, 3, padding=1))

    def loss(self, images):
        mean, logvar = (self.encoder(images * 2 - 1)).chunk(2, 1)
        z = mean + torch.randn_like(mean) * (0.5 * logvar.clamp(-20, 10)).exp()
        rec = F.mse_loss((self.decoder(z) + 1) / 2, images)
        return rec + 1e-5 * 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).mean()


def samples_per_second(step, batch, steps):
    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def main():
    shapes = json.load(open(sys.argv[1]))
    torch.set_num_threads(shapes["threads"])
    torch.manual_seed(0)
    b, size, lat, w = shapes["batch"], shapes["image_size"], shapes["latent_channels"], shapes["unet_width"]
    side, L, cw = size // 4, shapes["tokens"], shapes["context_width"]
    unet = UNet(lat, w, shapes["unet_heads"], cw)
    vae = VAE(shapes["vae_width"], lat)
    color, edges = Adapter(3, w), Adapter(4, w)
    result = {}

    opt = torch.optim.AdamW(unet.parameters(), lr=1e-4)
    x0, context, mask = torch.randn(b, lat, side, side), torch.randn(b, L, cw), torch.ones(b, L, dtype=torch.bool)

    def unet_step():
        t = torch.randint(0, 1000, (b,))
        noise = torch.randn_like(x0)
        loss = F.mse_loss(unet(x0 * 0.5 + noise * 0.5, t, context, mask), noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
    result["unet_train"] = samples_per_second(unet_step, b, shapes["steps"])

    vopt = torch.optim.AdamW(vae.parameters(), lr=1e-4)
    images = torch.rand(b, 3, size, size)

    def vae_step():
        loss = vae.loss(images)
        vopt.zero_grad()
        loss.backward()
        vopt.step()
    result["vae_train"] = samples_per_second(vae_step, b, shapes["steps"])

    # One image: 25 DDIM steps with guidance (batch 2) and both adapters, then the decoder.
    steps = shapes["ddim_steps"]
    with torch.no_grad():
        ctx2, mask2 = torch.randn(2, L, cw), torch.ones(2, L, dtype=torch.bool)
        palette, edge_map = torch.rand(1, 3, side, side), torch.rand(1, 4, side, side)

        def one_image():
            feats = [c + e for c, e in zip(color(palette), edges(edge_map))]
            feats = [torch.cat([f, f]) for f in feats]
            x = torch.randn(1, lat, side, side)
            for i in range(steps):
                eps = unet(torch.cat([x, x]), torch.full((2,), 999 - 40 * i), ctx2, mask2, feats)
                e = eps[:1] + 3.0 * (eps[1:] - eps[:1])
                x = x * 0.99 + e * 0.01
            return vae.decoder(x)
        one_image()
        t0 = time.perf_counter()
        repeats = shapes["image_repeats"]
        for _ in range(repeats):
            one_image()
        result["seconds_per_image"] = (time.perf_counter() - t0) / repeats
    result["torch"] = torch.__version__
    json.dump(result, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
