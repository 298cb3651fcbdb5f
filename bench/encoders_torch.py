"""The encoders' architectures in Debian's python3-torch, for bench_encoders: the same layers and
shapes as core/model/*.cpp (SSMNet with Mamba blocks and the same chunked selective scan, SemBERT's
transformer, EdgeColorNet's decoder, the flattened baseline, the embedding space), timed the same
way: forward, backward and an AdamW step per batch. Writes samples/s per module as JSON.

Usage: /usr/bin/python3 encoders_torch.py SHAPES.json RESULT.json
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def scan(u, delta, A, Bm, Cm, D):
    """The step-by-step recurrence, as the C++ MambaBlock runs it on CPU."""
    h = u.new_zeros(u.shape[0], u.shape[2], A.shape[1])
    ys = []
    for d, x, b, c in zip(delta.unbind(1), u.unbind(1), Bm.unbind(1), Cm.unbind(1)):
        h = torch.exp(d.unsqueeze(-1) * A) * h + d.unsqueeze(-1) * x.unsqueeze(-1) * b.unsqueeze(1)
        ys.append((h * c.unsqueeze(1)).sum(-1))
    return torch.stack(ys, 1) + u * D


def scan_parallel(u, delta, A, Bm, Cm, D, chunk=32):
    b, length, e = u.shape
    decay = torch.exp(delta.unsqueeze(-1) * A)
    inp = delta.unsqueeze(-1) * u.unsqueeze(-1) * Bm.unsqueeze(2)
    h = u.new_zeros(b, e, A.shape[1])
    ys = []
    for start in range(0, length, chunk):
        n = min(chunk, length - start)
        a, bb = decay[:, start:start + n], inp[:, start:start + n]
        k = 1
        while k < n:
            bb = torch.cat([bb[:, :k], a[:, k:] * bb[:, :n - k] + bb[:, k:]], 1)
            a = torch.cat([a[:, :k], a[:, k:] * a[:, :n - k]], 1)
            k *= 2
        hs = a * h.unsqueeze(1) + bb
        ys.append((hs * Cm[:, start:start + n].unsqueeze(2)).sum(-1))
        h = hs[:, -1]
    return torch.cat(ys, 1) + u * D


class Mamba(nn.Module):
    def __init__(self, width, state, expand, conv=4):
        super().__init__()
        self.inner, self.rank, self.state = expand * width, (width + 15) // 16, state
        self.norm = nn.LayerNorm(width)
        self.in_proj = nn.Linear(width, 2 * self.inner, bias=False)
        self.conv = nn.Conv1d(self.inner, self.inner, conv, groups=self.inner, padding=conv - 1)
        self.x_proj = nn.Linear(self.inner, self.rank + 2 * state, bias=False)
        self.dt_proj = nn.Linear(self.rank, self.inner)
        self.out_proj = nn.Linear(self.inner, width, bias=False)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, state + 1).float()).repeat(self.inner, 1))
        self.D = nn.Parameter(torch.ones(self.inner))

    def forward(self, x):
        length = x.shape[1]
        u, z = self.in_proj(self.norm(x)).split(self.inner, -1)
        u = F.silu(self.conv(u.transpose(1, 2))[:, :, :length].transpose(1, 2))
        p = self.x_proj(u)
        delta = F.softplus(self.dt_proj(p[..., :self.rank]))
        Bm, Cm = p[..., self.rank:self.rank + self.state], p[..., self.rank + self.state:]
        y = scan(u, delta, -torch.exp(self.A_log), Bm, Cm, self.D)
        return x + self.out_proj(y * F.silu(z))


class Tokenizer(nn.Module):
    def __init__(self, patch, width, tokens=0):
        super().__init__()
        self.patch, self.tokens = patch, tokens
        groups = max(tokens, 1)
        self.conv = nn.Conv1d(groups, groups * width, patch, stride=patch, groups=groups)
        self.position = nn.Linear(24, width)

    def forward(self, padded, gather, centre):
        seq = padded.index_select(1, gather.reshape(-1))
        freqs = (2.0 ** torch.arange(4)) * math.pi
        ang = (centre.unsqueeze(-1) * freqs).reshape(centre.shape[0], -1)
        if self.tokens:
            t = self.conv(seq.view(seq.shape[0], self.tokens, self.patch)).view(seq.shape[0], self.tokens, -1)
        else:
            t = self.conv(seq.unsqueeze(1)).transpose(1, 2)
        return t + self.position(torch.cat([ang.sin(), ang.cos()], -1))


class SSMNet(nn.Module):
    def __init__(self, s, voxels, embed, image):
        super().__init__()
        w, self.image = s["width"], image
        self.gathers = [torch.randint(0, voxels + 1, (t, s["patch"])) for t in s["region_tokens"]]
        self.centres = [torch.rand(t, 3) * 2 - 1 for t in s["region_tokens"]]
        self.tok = nn.ModuleList(Tokenizer(s["patch"], w, t if s["per_patch_weights"] else 0) for t in s["region_tokens"])
        self.reg = nn.ModuleList(Mamba(w, s["state"], s["expand"]) for _ in self.gathers)
        self.glob = nn.ModuleList(Mamba(w, s["state"], s["expand"]) for _ in range(s["global_layers"]))
        self.region_embedding = nn.Parameter(torch.randn(len(self.gathers), w) * 0.02)
        self.norm = nn.LayerNorm(w)
        self.embed = nn.Sequential(nn.Linear(w * len(self.gathers), 2 * embed), nn.GELU(), nn.Linear(2 * embed, embed))
        self.readout = s["token_readout"]
        if self.readout:
            self.embed_token_proj = nn.Linear(w, self.readout)
            self.embed_token_readout = nn.Linear(sum(s["region_tokens"]) * self.readout, 2 * embed)
        self.token_proj = nn.Linear(w, 4)
        self.image_head = nn.Linear(sum(s["region_tokens"]) * 4, 3 * 16 * 16)

    def forward(self, betas):
        padded = torch.cat([betas, betas.new_zeros(betas.shape[0], 1)], 1)
        parts = [blk(tok(padded, g, c)) + self.region_embedding[i]
                 for i, (tok, blk, g, c) in enumerate(zip(self.tok, self.reg, self.gathers, self.centres))]
        x = torch.cat(parts, 1)
        for blk in self.glob:
            x = blk(x)
        x = self.norm(x)
        pooled, start = [], 0
        for p in parts:
            pooled.append(x[:, start:start + p.shape[1]].mean(1))
            start += p.shape[1]
        hidden = self.embed[0](torch.cat(pooled, 1))
        if self.readout:
            hidden = hidden + self.embed_token_readout(self.embed_token_proj(x).flatten(1))
        emb = F.normalize(self.embed[2](self.embed[1](hidden)), dim=1)
        seed = self.image_head(self.token_proj(x).flatten(1)).view(-1, 3, 16, 16)
        return emb, torch.sigmoid(F.interpolate(seed, size=(self.image, self.image), mode="bilinear", align_corners=False))


class Attention(nn.Module):
    def __init__(self, w, heads):
        super().__init__()
        self.h = heads
        self.q, self.k, self.v = (nn.Linear(w, w, bias=False) for _ in range(3))
        self.out = nn.Linear(w, w)

    def forward(self, x):
        b, l, w = x.shape
        sp = lambda t: t.view(b, l, self.h, w // self.h).transpose(1, 2)
        q, k, v = sp(self.q(x)), sp(self.k(x)), sp(self.v(x))
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(w // self.h), -1)
        return self.out((a @ v).transpose(1, 2).reshape(b, l, w))


class Block(nn.Module):
    def __init__(self, w, heads, hidden, dropout=0.0):
        super().__init__()
        self.n1, self.n2, self.att = nn.LayerNorm(w), nn.LayerNorm(w), Attention(w, heads)
        self.mlp = nn.Sequential(nn.Linear(w, hidden), nn.GELU(), nn.Linear(hidden, w))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.drop(self.att(self.n1(x)))
        return x + self.drop(self.mlp(self.n2(x)))


class SemBERT(nn.Module):
    def __init__(self, s, voxels, embed):
        super().__init__()
        w = s["width"]
        self.gather = torch.randint(0, voxels + 1, (s["tokens"], s["patch"]))
        self.centre = torch.rand(s["tokens"], 3) * 2 - 1
        self.tok = Tokenizer(s["patch"], w, s["tokens"] if s["per_patch_weights"] else 0)
        self.readout = s["token_readout"]
        if self.readout:
            self.token_proj = nn.Linear(w, self.readout)
            self.token_readout = nn.Linear(s["tokens"] * self.readout, w)
        self.blocks = nn.ModuleList(Block(w, s["heads"], 2 * w, 0.1) for _ in range(s["layers"]))
        self.cls, self.mask = nn.Parameter(torch.zeros(1, 1, w)), nn.Parameter(torch.zeros(1, 1, w))
        self.norm, self.head = nn.LayerNorm(w), nn.Linear(w, embed)

    def forward(self, betas):
        padded = torch.cat([betas, betas.new_zeros(betas.shape[0], 1)], 1)
        t = self.tok(padded, self.gather, self.centre)
        m = (torch.rand(t.shape[0], t.shape[1], 1) < 0.25).float()
        t = t * (1 - m) + self.mask * m
        x = torch.cat([self.cls.expand(t.shape[0], 1, -1), t], 1)
        for b in self.blocks:
            x = b(x)
        r = x[:, 0]
        if self.readout:
            r = r + self.token_readout(self.token_proj(x[:, 1:]).flatten(1))
        return F.normalize(self.head(self.norm(r)), dim=1)


def main():
    s = json.load(open(sys.argv[1]))
    torch.set_num_threads(s["threads"])
    torch.manual_seed(0)
    B, V, S, D = s["batch"], s["voxels"], s["image_size"], s["embed_dim"]
    betas, images = torch.randn(B, V), torch.rand(B, 3, S, S)
    target = F.normalize(torch.randn(B, D), dim=1)
    tokens = torch.randint(1, 2000, (B, 16))
    ev = s["ec"]["voxels"]
    ev_index = torch.arange(ev)
    h = s["ec"]["hidden"]
    ec = nn.Sequential(nn.Dropout(0.3), nn.Linear(ev, h), nn.GELU(), nn.Linear(h, h), nn.GELU())
    ec_heads = nn.ModuleList([nn.Linear(h, 192), nn.Linear(h, 256)])
    fh = s["flat_hidden"]
    flat_trunk = nn.Sequential(nn.Dropout(0.3), nn.Linear(V, fh), nn.LayerNorm(fh), nn.GELU())
    flat_res = nn.Sequential(nn.Linear(fh, fh), nn.LayerNorm(fh), nn.GELU())
    flat_heads = nn.ModuleList([nn.Linear(fh, D), nn.Linear(fh, D), nn.Linear(fh, 768), nn.Linear(fh, 192), nn.Linear(fh, 256)])
    conv = []
    for i, o in [(3, 32), (32, 64), (64, 128)]:
        conv += [nn.Conv2d(i, o, 3, 2, 1), nn.GroupNorm(8, o), nn.SiLU(), nn.Conv2d(o, o, 3, padding=1), nn.SiLU()]
    img_enc = nn.Sequential(*conv, nn.Flatten(), nn.Linear(128 * ((S + 7) // 8) ** 2, D))
    words, pos = nn.Embedding(2000, 64), nn.Embedding(16, 64)
    text_blocks = nn.ModuleList(Block(64, 4, 128) for _ in range(2))
    text_head, text_norm = nn.Linear(64, D), nn.LayerNorm(64)
    logit_scale = nn.Parameter(torch.tensor([math.log(1 / 0.07)]))

    def clip(a, b):
        logits = a @ b.t() * logit_scale.exp()
        t = torch.arange(a.shape[0])
        return (F.cross_entropy(logits, t) + F.cross_entropy(logits.t(), t)) / 2

    def text(tok):
        x = words(tok) + pos(torch.arange(tok.shape[1])).unsqueeze(0)
        for b in text_blocks:
            x = b(x)
        return F.normalize(text_head(text_norm(x).mean(1)), dim=1)

    ssm = SSMNet(s["ssm"], V, D, S)
    sem = SemBERT(s["sem"], V, D)

    def flat():
        hh = flat_trunk(betas)
        hh = hh + flat_res(hh)
        e, c, i, p, _ = (head(hh) for head in flat_heads)
        return (F.normalize(e, dim=1) - target).pow(2).sum() + (F.normalize(c, dim=1) - target).pow(2).sum() + torch.sigmoid(i).pow(2).mean() + torch.sigmoid(p).pow(2).mean()

    def ssm_loss():
        e, im = ssm(betas)
        return (e - target).pow(2).sum() + (im - images).pow(2).mean()

    def ec_loss():
        hh = ec(betas.index_select(1, ev_index))
        return torch.sigmoid(ec_heads[0](hh)).pow(2).mean() + torch.sigmoid(ec_heads[1](hh)).pow(2).mean()

    modules = {
        "embedding space (image+text)": ([img_enc, words, pos, text_blocks, text_head, text_norm], lambda: clip(F.normalize(img_enc(images * 2 - 1), dim=1), text(tokens)), [logit_scale]),
        "fMRI-SSMNet": ([ssm], ssm_loss, []),
        "fMRI-SemBERT": ([sem], lambda: (sem(betas) - target).pow(2).sum(), []),
        "fMRI-EdgeColorNet decoder": ([ec, ec_heads], ec_loss, []),
        "flattened baseline (MLP)": ([flat_trunk, flat_res, flat_heads], flat, []),
    }
    out = {}
    for name, (mods, loss, extra) in modules.items():
        params = [p for m in mods for p in m.parameters()] + extra
        opt = torch.optim.AdamW(params, lr=1e-4)

        def step():
            opt.zero_grad()
            loss().backward()
            opt.step()

        step()
        t0 = time.perf_counter()
        for _ in range(s["steps"]):
            step()
        out[name] = B / ((time.perf_counter() - t0) / s["steps"])
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
