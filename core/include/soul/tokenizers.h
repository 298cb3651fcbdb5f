// The tokenizers of the pretrained text encoders, read from the files their publishers ship, and
// exactly as Hugging Face's tokenizers library runs them (tests/core/tst_tokenizers.cpp checks
// every id against its output, tests/data/tokenizers/reference.json):
//   - ClipTokenizer: CLIP's byte-level BPE (Radford et al. 2021; Sennrich et al. 2016, "Neural
//     Machine Translation of Rare Words with Subword Units"), the text tokenizer of Stable
//     Diffusion 1.x and 2.x. The pipeline of openai/clip-vit-large-patch14's tokenizer.json: NFC,
//     runs of white space to one space, lower case; words by CLIP's pattern (contractions, runs of
//     letters, single digits, runs of other symbols); UTF-8 bytes mapped to GPT-2's printable
//     alphabet; BPE merges by rank, "</w>" ending each word; <|startoftext|> … <|endoftext|>.
//   - WordPieceTokenizer: BERT's (Devlin et al. 2019; bert-base-uncased's tokenizer.json):
//     control characters dropped, white space unified, CJK ideographs split, accents stripped,
//     lower case; words split at white space and punctuation; greedy longest-match "##" pieces,
//     [UNK] for a word that cannot be built or is over 100 characters; [CLS] … [SEP].
// Neither needs LibTorch; Unicode properties and normalisation come from ICU.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace soul {

class ClipTokenizer {
public:
    static constexpr int64_t kContextLength = 77;   // CLIPTextConfig.max_position_embeddings

    // `folder` holds vocab.json and merges.txt: a diffusers checkpoint's `tokenizer/` folder, or
    // openai/clip-vit-large-patch14's files. soul::Error naming the file and what is wrong: a
    // missing file, a vocabulary that is not a JSON object of token → id, a merge line that is
    // not two tokens, a merge whose result or parts are not in the vocabulary, no
    // <|startoftext|> / <|endoftext|>.
    static ClipTokenizer read(const std::string& folder);
    static ClipTokenizer read(const std::string& vocab_json, const std::string& merges_txt);

    // <|startoftext|>, the tokens of `text` (UTF-8; soul::Error if it is not), <|endoftext|>.
    std::vector<int64_t> encode(const std::string& text) const;
    // The same cut to `length` (the end token kept) and padded with pad_id(), as a text encoder
    // takes it: Stable Diffusion 1.x pads with <|endoftext|>, 2.x with "!" (set_pad_token).
    std::vector<int64_t> encode(const std::string& text, int64_t length) const;

    void set_pad_token(const std::string& token);   // soul::Error if not in the vocabulary
    int64_t start_id() const { return start_id_; }
    int64_t end_id() const { return end_id_; }
    int64_t pad_id() const { return pad_id_; }
    int64_t vocabulary_size() const { return static_cast<int64_t>(tokens_.size()); }
    const std::string& token(int64_t id) const;   // "" for an id outside the vocabulary

private:
    std::vector<int64_t> bpe(const std::string& word) const;

    std::unordered_map<std::string, int64_t> ids_;
    std::vector<std::string> tokens_;
    std::unordered_map<std::string, int64_t> merge_ranks_;   // "left right" → rank
    int64_t start_id_ = 0, end_id_ = 0, pad_id_ = 0;
};

class WordPieceTokenizer {
public:
    static constexpr int64_t kMaxCharactersPerWord = 100;   // BertTokenizer's max_input_chars_per_word

    // `path` is a vocab.txt (one token per line, the id is the line number) or a folder holding
    // one, as bert-base-uncased ships it. soul::Error naming the file: missing, empty, a token
    // listed twice, no [CLS], [SEP], [PAD] or [UNK].
    static WordPieceTokenizer read(const std::string& path);

    // [CLS], the pieces of `text` (UTF-8), [SEP].
    std::vector<int64_t> encode(const std::string& text) const;
    // The same cut to `length` ([SEP] kept) and padded with [PAD]; the attention mask is
    // 1 for the first encode(text).size() (at most `length`) positions.
    std::vector<int64_t> encode(const std::string& text, int64_t length) const;

    int64_t cls_id() const { return cls_id_; }
    int64_t sep_id() const { return sep_id_; }
    int64_t pad_id() const { return pad_id_; }
    int64_t unknown_id() const { return unknown_id_; }
    int64_t vocabulary_size() const { return static_cast<int64_t>(tokens_.size()); }
    const std::string& token(int64_t id) const;

private:
    void add_pieces(const std::u32string& word, std::vector<int64_t>& out) const;

    std::unordered_map<std::string, int64_t> ids_;
    std::vector<std::string> tokens_;
    int64_t cls_id_ = 0, sep_id_ = 0, pad_id_ = 0, unknown_id_ = 0;
};

}  // namespace soul
