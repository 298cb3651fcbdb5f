#!/usr/bin/python3
"""References for the pretrained text encoders (core/pretrained/text_encoders.h), by Debian's
PyTorch alone (transformers cannot be installed here).

  text_encoder_reference.py keys DIR
      writes DIR/clip-vit-large-patch14-text.keys and DIR/bert-base-uncased.keys: every key and
      shape of the full-size CLIP ViT-L/14 text tower (CLIPTextModelWithProjection: 12 layers,
      width 768, 12 heads, MLP 3072, 77 positions, 49408 tokens, projection 768) and of BertModel
      for bert-base-uncased (12 layers, width 768, 12 heads, 3072, 512 positions, 30522 tokens,
      2 token types), from their published configs.

  text_encoder_reference.py outputs DIR
      tiny configs with seeded random weights under the Hugging Face key names, written as
      safetensors the way the published files are laid out (CLIP: a whole CLIP model file with
      vision keys and logit_scale; BERT: BertForPreTraining's "bert." prefix, the old
      LayerNorm.gamma/beta names, a "cls." head), token ids, and what PyTorch's own transformer
      modules compute from them: torch.nn.TransformerEncoderLayer (norm_first with quick GELU and a
      causal mask for CLIP; post-norm with exact GELU and a key padding mask for BERT), its
      nn.MultiheadAttention taking the q/k/v weights stacked. The layer math is PyTorch's, not a
      second copy of ours.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metric_reference import write_safetensors  # noqa: E402


def clip_text_keys(c):
    keys = [("text_model.embeddings.token_embedding.weight", [c["vocab"], c["hidden"]]),
            ("text_model.embeddings.position_embedding.weight", [c["positions"], c["hidden"]])]
    h, m = c["hidden"], c["intermediate"]
    for i in range(c["layers"]):
        p = f"text_model.encoder.layers.{i}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            keys += [(p + f"self_attn.{proj}.weight", [h, h]), (p + f"self_attn.{proj}.bias", [h])]
        keys += [(p + "layer_norm1.weight", [h]), (p + "layer_norm1.bias", [h]),
                 (p + "mlp.fc1.weight", [m, h]), (p + "mlp.fc1.bias", [m]),
                 (p + "mlp.fc2.weight", [h, m]), (p + "mlp.fc2.bias", [h]),
                 (p + "layer_norm2.weight", [h]), (p + "layer_norm2.bias", [h])]
    keys += [("text_model.final_layer_norm.weight", [h]), ("text_model.final_layer_norm.bias", [h])]
    if c["projection"]:
        keys += [("text_projection.weight", [c["projection"], h])]
    return keys


def bert_keys(c):
    h, m = c["hidden"], c["intermediate"]
    keys = [("embeddings.word_embeddings.weight", [c["vocab"], h]),
            ("embeddings.position_embeddings.weight", [c["positions"], h]),
            ("embeddings.token_type_embeddings.weight", [c["types"], h]),
            ("embeddings.LayerNorm.weight", [h]), ("embeddings.LayerNorm.bias", [h])]
    for i in range(c["layers"]):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            keys += [(p + f"attention.self.{name}.weight", [h, h]), (p + f"attention.self.{name}.bias", [h])]
        keys += [(p + "attention.output.dense.weight", [h, h]), (p + "attention.output.dense.bias", [h]),
                 (p + "attention.output.LayerNorm.weight", [h]), (p + "attention.output.LayerNorm.bias", [h]),
                 (p + "intermediate.dense.weight", [m, h]), (p + "intermediate.dense.bias", [m]),
                 (p + "output.dense.weight", [h, m]), (p + "output.dense.bias", [h]),
                 (p + "output.LayerNorm.weight", [h]), (p + "output.LayerNorm.bias", [h])]
    keys += [("pooler.dense.weight", [h, h]), ("pooler.dense.bias", [h])]
    return keys


CAPTIONS = ("a red t-shirt in the upper left on blue stripes", "A Red T-Shirt IN THE Upper LEFT",
            "it's a dog, she's here; they're there; we've gone, i'm in, you'll see, he'd go")
CLIP_L14 = {"vocab": 49408, "positions": 77, "hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072, "projection": 768}
BERT_BASE = {"vocab": 30522, "positions": 512, "types": 2, "hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072}


def keys(folder):
    os.makedirs(folder, exist_ok=True)
    for name, title, listing in (
            ("clip-vit-large-patch14-text.keys", "CLIP ViT-L/14's text tower (openai/clip-vit-large-patch14, CLIPTextModelWithProjection)",
             clip_text_keys(CLIP_L14)),
            ("bert-base-uncased.keys", "bert-base-uncased (BertModel; the file's \"bert.\" prefix and heads aside)", bert_keys(BERT_BASE))):
        with open(os.path.join(folder, name), "w") as f:
            f.write(f"# {title} in Hugging Face's layout: every key and shape,\n"
                    "# from the published config; written by tests/core/text_encoder_reference.py keys.\n")
            for key, shape in listing:
                f.write(key + " " + " ".join(str(d) for d in shape) + "\n")


def random_weights(listing, g):
    w = {}
    for name, shape in listing:
        if "norm" in name.lower() and name.endswith(".weight"):
            w[name] = torch.rand(shape, generator=g) * 0.5 + 0.75
        elif len(shape) == 1:
            w[name] = torch.randn(shape, generator=g) * 0.1
        elif "embedding" in name:
            w[name] = torch.randn(shape, generator=g) * 0.5
        else:
            w[name] = torch.randn(shape, generator=g) * (1.0 / shape[-1]) ** 0.5
    return w


def torch_layer(w, p, c, norm_first, activation, eps, names):
    """One nn.TransformerEncoderLayer holding the weights under prefix p; names maps its parts."""
    layer = nn.TransformerEncoderLayer(c["hidden"], c["heads"], c["intermediate"], dropout=0.0, activation=activation,
                                       layer_norm_eps=eps, batch_first=True, norm_first=norm_first)
    q, k, v, out, ln1, fc1, fc2, ln2 = (p + n for n in names)
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.cat([w[q + ".weight"], w[k + ".weight"], w[v + ".weight"]]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([w[q + ".bias"], w[k + ".bias"], w[v + ".bias"]]))
        layer.self_attn.out_proj.weight.copy_(w[out + ".weight"]); layer.self_attn.out_proj.bias.copy_(w[out + ".bias"])
        layer.norm1.weight.copy_(w[ln1 + ".weight"]); layer.norm1.bias.copy_(w[ln1 + ".bias"])
        layer.linear1.weight.copy_(w[fc1 + ".weight"]); layer.linear1.bias.copy_(w[fc1 + ".bias"])
        layer.linear2.weight.copy_(w[fc2 + ".weight"]); layer.linear2.bias.copy_(w[fc2 + ".bias"])
        layer.norm2.weight.copy_(w[ln2 + ".weight"]); layer.norm2.bias.copy_(w[ln2 + ".bias"])
    return layer.eval()


def clip_outputs(folder, g, texts):
    # The vocabulary and context of the tokenizer fixture (tests/data/tokenizers): 795 tokens,
    # <|endoftext|> the largest id as in CLIP's, 77 positions.
    c = {"vocab": 795, "positions": 77, "hidden": 32, "layers": 3, "heads": 4, "intermediate": 64, "projection": 24}
    end = c["vocab"] - 1
    w = random_weights(clip_text_keys(c), g)
    stored = dict(w)   # what the CLIP model file holds beside the text tower
    stored["vision_model.embeddings.class_embedding"] = torch.randn(8, generator=g)
    stored["visual_projection.weight"] = torch.randn(24, 8, generator=g)
    stored["logit_scale"] = torch.tensor(4.6052)
    stored["text_model.embeddings.position_ids"] = torch.arange(c["positions"])[None]
    write_safetensors(f"{folder}/clip_text.safetensors", stored)
    # Stable Diffusion's text_encoder folder: CLIPTextModel, no projection, half precision.
    write_safetensors(f"{folder}/clip_text_f16.safetensors", {k: v.half() for k, v in w.items() if not k.startswith("text_projection")})

    ids = torch.tensor([case["clip_ids_77"] for case in texts], dtype=torch.int64)
    quick_gelu = lambda x: x * torch.sigmoid(1.702 * x)  # noqa: E731
    names = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "layer_norm1", "mlp.fc1", "mlp.fc2", "layer_norm2")
    layers = [torch_layer(w, f"text_model.encoder.layers.{i}.", c, True, quick_gelu, 1e-5, names) for i in range(c["layers"])]
    causal = torch.triu(torch.full((ids.shape[1], ids.shape[1]), float("-inf")), 1)
    with torch.no_grad():
        x = F.embedding(ids, w["text_model.embeddings.token_embedding.weight"]) + w["text_model.embeddings.position_embedding.weight"][None, :ids.shape[1]]
        states = [x]
        for layer in layers:
            x = layer(x, src_mask=causal)
            states.append(x)
        last = F.layer_norm(x, (c["hidden"],), w["text_model.final_layer_norm.weight"], w["text_model.final_layer_norm.bias"], 1e-5)
        pooled = last[torch.arange(3), (ids == end).int().argmax(1)]
        embeds = pooled @ w["text_projection.weight"].T
    write_safetensors(f"{folder}/clip_text_expected.safetensors",
                      {"ids": ids, "last_hidden_state": last, "penultimate_hidden_state": states[-2], "pooled": pooled, "text_embeds": embeds})
    return c


def bert_outputs(folder, g, texts, length):
    # The vocabulary of the tokenizer fixture: 181 pieces, [PAD] 0, [CLS] 2, [SEP] 3.
    c = {"vocab": 181, "positions": 24, "types": 2, "hidden": 32, "layers": 2, "heads": 4, "intermediate": 48}
    w = random_weights(bert_keys(c), g)
    stored = {}
    for k, v in w.items():   # BertForPreTraining's file: the prefix, the old LayerNorm names, the heads
        k = "bert." + k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        stored[k] = v
    stored["cls.predictions.bias"] = torch.randn(c["vocab"], generator=g)
    stored["cls.seq_relationship.weight"] = torch.randn(2, c["hidden"], generator=g)
    write_safetensors(f"{folder}/bert.safetensors", stored)

    ids = torch.tensor([case[f"bert_ids_{length}"] for case in texts], dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for row, case in enumerate(texts):
        mask[row, :min(len(case["bert_ids"]), length)] = 1
    names = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "attention.output.LayerNorm",
             "intermediate.dense", "output.dense", "output.LayerNorm")
    layers = [torch_layer(w, f"encoder.layer.{i}.", c, False, F.gelu, 1e-12, names) for i in range(c["layers"])]
    # With gradients on, so that PyTorch takes its general path, which computes the padded
    # positions too (its inference fast path would leave them zero; transformers computes them).
    x = (F.embedding(ids, w["embeddings.word_embeddings.weight"]) + w["embeddings.position_embeddings.weight"][None, :ids.shape[1]]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = F.layer_norm(x, (c["hidden"],), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], 1e-12)
    for layer in layers:
        x = layer(x, src_key_padding_mask=mask == 0)
    x = x.detach()
    pooled = torch.tanh(F.linear(x[:, 0], w["pooler.dense.weight"], w["pooler.dense.bias"]))
    write_safetensors(f"{folder}/bert_expected.safetensors", {"ids": ids, "attention_mask": mask, "last_hidden_state": x, "pooler_output": pooled})
    return c


def outputs(folder):
    os.makedirs(folder, exist_ok=True)
    g = torch.Generator().manual_seed(11)
    # Three captions of the tokenizers' reference, tokenized there by Hugging Face's library, so
    # that text → tokens → embedding is checked end to end.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../data/tokenizers/reference.json")) as f:
        reference = json.load(f)
    texts = [case for case in reference["cases"] if case["text"] in CAPTIONS]
    assert len(texts) == len(CAPTIONS)
    clip = clip_outputs(folder, g, texts)
    bert = bert_outputs(folder, g, texts, reference["bert_length"])
    clip_config = {"model_type": "clip_text_model", "vocab_size": clip["vocab"], "max_position_embeddings": clip["positions"],
                   "hidden_size": clip["hidden"], "num_hidden_layers": clip["layers"], "num_attention_heads": clip["heads"],
                   "intermediate_size": clip["intermediate"], "projection_dim": clip["projection"], "hidden_act": "quick_gelu"}
    with open(f"{folder}/clip_config.json", "w") as f:   # a CLIPConfig, the text part inside, as the CLIP model's file has it
        json.dump({"model_type": "clip", "text_config": clip_config, "vision_config": {"hidden_size": 8}}, f)
    with open(f"{folder}/bert_config.json", "w") as f:
        json.dump({"model_type": "bert", "vocab_size": bert["vocab"], "max_position_embeddings": bert["positions"], "type_vocab_size": bert["types"],
                   "hidden_size": bert["hidden"], "num_hidden_layers": bert["layers"], "num_attention_heads": bert["heads"],
                   "intermediate_size": bert["intermediate"], "hidden_act": "gelu"}, f)
    print(json.dumps({"torch": torch.__version__, "captions": [case["text"] for case in texts]}))


if __name__ == "__main__":
    {"keys": keys, "outputs": outputs}[sys.argv[1]](*sys.argv[2:])
