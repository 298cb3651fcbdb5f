// Writes tests/data/tokenizers/reference.json: what Hugging Face's own tokenizers make of tricky
// text with the tiny CLIP BPE and BERT WordPiece vocabularies of tests/data/tokenizers
// (tests/core/make_tokenizer_vocab.py). The C++ tokenizers (soul/tokenizers.h) are tested against
// it by tests/core/tst_tokenizers.cpp.
//
// Two independent implementations, which must agree before anything is written:
//   - `tokenizers` (npm): Node bindings of Hugging Face's Rust library, the one behind every
//     "fast" tokenizer of transformers;
//   - `@huggingface/tokenizers` (npm): transformers.js's pure JavaScript port.
// Both load a tokenizer.json built here with the pipeline of the published tokenizer.json of
// openai/clip-vit-large-patch14 (Stable Diffusion 1.x's text tokenizer) and of bert-base-uncased;
// only the vocabularies are the tiny ones.
//
// Run (needs npm; nothing here runs in CI):
//   mkdir -p /tmp/tok && (cd /tmp/tok && npm install tokenizers@0.23.2 @huggingface/tokenizers@0.2.0)
//   NODE_PATH=/tmp/tok/node_modules node tests/core/tokenizer_reference.cjs tests/data/tokenizers
"use strict";
const fs = require("fs");
const path = require("path");
const rust = require("tokenizers");

const dir = process.argv[2];
const clipLength = 77;   // CLIP's context length (CLIPTextConfig.max_position_embeddings)
const bertLength = 24;   // short, so that truncation is exercised

const vocab = JSON.parse(fs.readFileSync(path.join(dir, "vocab.json"), "utf8"));
const merges = fs.readFileSync(path.join(dir, "merges.txt"), "utf8").split("\n").filter((l, i) => i > 0 && l.length > 0);
const bos = vocab["<|startoftext|>"], eos = vocab["<|endoftext|>"];

function added(content, id) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true };
}
function clipJson(length) {
  return {
    version: "1.0",
    truncation: length ? { direction: "Right", max_length: length, strategy: "LongestFirst", stride: 0 } : null,
    padding: length ? { strategy: { Fixed: length }, direction: "Right", pad_to_multiple_of: null, pad_id: eos, pad_type_id: 0, pad_token: "<|endoftext|>" } : null,
    added_tokens: [added("<|startoftext|>", bos), added("<|endoftext|>", eos)],
    normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }, { type: "Lowercase" }] },
    pre_tokenizer: { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: "Removed", invert: true },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] },
    post_processor: { type: "RobertaProcessing", sep: ["<|endoftext|>", eos], cls: ["<|startoftext|>", bos], trim_offsets: false, add_prefix_space: false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: "<|endoftext|>", continuing_subword_prefix: "", end_of_word_suffix: "</w>",
             fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

const bertVocabList = fs.readFileSync(path.join(dir, "vocab.txt"), "utf8").split("\n").filter((l) => l.length > 0);
const bertVocab = Object.fromEntries(bertVocabList.map((t, i) => [t, i]));
function bertAdded(content) {
  return { id: bertVocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}
function bertJson(length) {
  return {
    version: "1.0",
    truncation: length ? { direction: "Right", max_length: length, strategy: "LongestFirst", stride: 0 } : null,
    padding: length ? { strategy: { Fixed: length }, direction: "Right", pad_to_multiple_of: null, pad_id: bertVocab["[PAD]"], pad_type_id: 0, pad_token: "[PAD]" } : null,
    added_tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(bertAdded),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: { type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } },
             { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "[SEP]", type_id: 1 } }],
      special_tokens: { "[CLS]": { id: "[CLS]", ids: [bertVocab["[CLS]"]], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [bertVocab["[SEP]"]], tokens: ["[SEP]"] } } },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: bertVocab },
  };
}

const long = Array.from({ length: 40 }, (_, i) => `a ${["red", "blue", "green"][i % 3]} coat`).join(" and ");
const texts = [
  "a red t-shirt in the upper left on blue stripes",
  "A Red T-Shirt IN THE Upper LEFT",
  "",
  "   ",
  "  leading and trailing spaces  ",
  "tabs\tand\nnew\r\nlines\u00a0and\u2003odd\u3000spaces",
  "it's a dog, she's here; they're there; we've gone, i'm in, you'll see, he'd go",
  "IT'S HER DOG'S BONE",
  "''s 's 't 'x don't rock 'n' roll",
  "numbers: 2 trains, 10 giraffes, 3.5 km, 1,000,000 and 42nd street 2x",
  "punctuation!!! what?! (parens) [brackets] {braces} a---b ... \"quotes\" `tick` ~tilde~ $5 + 3 = 8 @home #tag 50% a&b a/b a|b a^b a_b a\\b <x>",
  "café naïve résumé Zoë ÉCOLE über",
  "cafe\u0301 decomposed e\u0301",
  "Ελληνικά ΟΔΟΣ Σ istanbul İstanbul straße ǅ",
  "emoji 🚲 bike 👩‍👩‍👧 family 🇫🇷 flag ❤️",
  "中文 字 汉字 and 日本語 かな 한국어",
  "zero\u200bwidth soft\u00adhyphen control\u0007bell\u0000nul replacement\ufffd",
  "a <|startoftext|> b <|endoftext|> c <|ENDOFTEXT|>d<|endoftext|>",
  "a [MASK] here [unk] [SEP]x [CLS][PAD]",
  "!'s wow!'re x'' 'll'd",
  "snowy-forest train_station giraffe's zebras' runners",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b",
  "unbelievableness preprocessing x-ray",
  long,
];

function run(json, text) {
  const t = rust.Tokenizer.fromString(JSON.stringify(json));
  return t.encode(text).then((e) => ({ ids: e.getIds(), tokens: e.getTokens() }));
}

async function main() {
  const js = require("@huggingface/tokenizers");
  const jsClip = new js.Tokenizer(clipJson(0), {});
  const jsBert = new js.Tokenizer(bertJson(0), {});
  const cases = [];
  const disagreements = [];
  for (const text of texts) {
    const clip = await run(clipJson(0), text);
    const clipFixed = await run(clipJson(clipLength), text);
    const bert = await run(bertJson(0), text);
    const bertFixed = await run(bertJson(bertLength), text);
    const jsClipIds = Array.from(jsClip.encode(text).ids);
    const jsBertIds = Array.from(jsBert.encode(text).ids);
    if (JSON.stringify(jsClipIds) !== JSON.stringify(clip.ids)) disagreements.push({ text, model: "clip", rust: clip.ids, js: jsClipIds });
    if (JSON.stringify(jsBertIds) !== JSON.stringify(bert.ids)) disagreements.push({ text, model: "bert", rust: bert.ids, js: jsBertIds });
    cases.push({ text, clip_ids: clip.ids, clip_tokens: clip.tokens, clip_ids_77: clipFixed.ids,
                 bert_ids: bert.ids, bert_tokens: bert.tokens, bert_ids_24: bertFixed.ids });
  }
  const out = {
    about: "Hugging Face tokenizers (Rust, npm tokenizers) on the tiny vocabularies of this folder; written by tests/core/tokenizer_reference.cjs",
    versions: { tokenizers: require("tokenizers/package.json").version, node: process.version },
    clip_length: clipLength, bert_length: bertLength,
    javascript_port_disagrees_on: disagreements.map((d) => ({ text: d.text, model: d.model, javascript: d.js })),
    cases,
  };
  fs.writeFileSync(path.join(dir, "reference.json"), JSON.stringify(out, null, 1) + "\n");
  console.log(`${cases.length} texts; the JavaScript port disagrees with the Rust library on ${disagreements.length}`);
  for (const d of disagreements) console.log(d.model, JSON.stringify(d.text), "\n rust", JSON.stringify(d.rust), "\n js  ", JSON.stringify(d.js));
}
main().catch((e) => { console.error(e); process.exit(1); });
