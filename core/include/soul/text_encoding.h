// Captions through a pretrained text encoder read from the user's own files (CLIP's text tower or
// BERT; core/pretrained/text_encoders.h), with its tokenizer (soul/tokenizers.h): what the CLI's
// `encode-text` prints and what research scale conditions on. No LibTorch in this header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace soul {

// Where a text encoder's files are. `folder` is one of
//   - a transformers model folder: config.json, model.safetensors (or pytorch_model.bin) and the
//     tokenizer's files (vocab.json + merges.txt for CLIP, vocab.txt for BERT), as
//     openai/clip-vit-large-patch14 and bert-base-uncased are published;
//   - a diffusers Stable Diffusion folder: text_encoder/ (config.json, model.safetensors) and
//     tokenizer/ (vocab.json, merges.txt).
// soul::Error naming the folder and the file that is missing, or a config of another model.
struct TextEncoderFiles {
    std::string kind;   // "CLIP" or "BERT", from config.json's model_type
    std::string config, weights, tokenizer;
};
TextEncoderFiles find_text_encoder(const std::string& folder);

struct CaptionEmbedding {
    std::string text;
    std::vector<int64_t> ids;          // what the encoder took: start … end, padded to its context
    std::vector<std::string> tokens;   // the tokens of `ids` before the padding
    std::vector<float> embedding;      // see TextEncoderSummary::embedding_name
};

struct TextEncoderSummary {
    std::string kind, device;
    std::string embedding_name;   // CLIP: "text_embeds" (projected; "pooled" without a projection); BERT: "pooler_output"
    int64_t layers = 0, width = 0, context = 0, parameters = 0;
};

// Each text tokenized (cut to the encoder's context: 77 for CLIP, at most 512 for BERT) and
// encoded on the default device (soul/runtime.h). Errors as find_text_encoder, the tokenizers
// and the weight loader give them, naming the file.
std::vector<CaptionEmbedding> embed_captions(const std::string& folder, const std::vector<std::string>& texts,
                                             TextEncoderSummary* summary = nullptr);

}  // namespace soul
