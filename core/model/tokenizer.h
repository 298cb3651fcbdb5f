// The caption tokenizer of the built-in text encoder: lower-case words of letters and digits,
// a vocabulary built from the training captions (most frequent first), <pad> = 0, <unk> = 1.
// A stand-in for BERT's WordPiece (design.md §2 table), fit to the caption vocabulary.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace soul::model {

class CaptionTokenizer {
public:
    static constexpr int64_t kPad = 0, kUnknown = 1;
    CaptionTokenizer() = default;
    static CaptionTokenizer fit(const std::vector<std::string>& captions);
    static CaptionTokenizer from_json(const nlohmann::json& j);
    // A run's vocab.json: a JSON list of words starting <pad>, <unk>; soul::Error naming the file
    // and what is wrong otherwise.
    static CaptionTokenizer read(const std::string& path);
    nlohmann::json to_json() const;
    static std::vector<std::string> words(const std::string& text);
    // Token ids, cut or padded with kPad to `length`.
    std::vector<int64_t> encode(const std::string& text, int64_t length) const;
    int64_t size() const { return static_cast<int64_t>(vocabulary_.size()); }

private:
    std::vector<std::string> vocabulary_;
    std::map<std::string, int64_t> index_;
};

}  // namespace soul::model
