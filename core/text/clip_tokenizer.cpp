// CLIP's byte-level BPE tokenizer. References: Radford et al. 2021 (CLIP; openai/CLIP
// clip/simple_tokenizer.py), Radford et al. 2019 (GPT-2's byte-to-unicode alphabet), and the
// pipeline of openai/clip-vit-large-patch14's tokenizer.json as Hugging Face's tokenizers runs it
// (normalizers NFC → Replace(\s+, " ") → Lowercase; Split on CLIP's pattern; ByteLevel without
// its own regex; BPE with end_of_word_suffix "</w>" and <|endoftext|> as the unknown token;
// RobertaProcessing). Added tokens (<|startoftext|>, <|endoftext|>) are matched in the normalised
// text, as their "normalized": true says.
#include "soul/tokenizers.h"

#include "soul/error.h"
#include "unicode_text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace soul {
namespace {

constexpr const char* kStartToken = "<|startoftext|>";
constexpr const char* kEndToken = "<|endoftext|>";
constexpr const char* kEndOfWord = "</w>";

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards, so
// that every byte is a visible character of the vocabulary.
const std::array<std::string, 256>& byte_alphabet() {
    static const std::array<std::string, 256> alphabet = [] {
        std::array<std::string, 256> a;
        auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
        int next = 0;
        for (int b = 0; b < 256; ++b) text::append_utf8(static_cast<char32_t>(printable(b) ? b : 256 + next++), a[static_cast<size_t>(b)]);
        return a;
    }();
    return alphabet;
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot be opened");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool starts_with_at(const std::u32string& s, size_t i, const std::u32string& prefix) { return s.compare(i, prefix.size(), prefix) == 0; }

// CLIP's pattern 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+, leftmost first; what
// no alternative matches (white space) is dropped.
std::vector<std::u32string> clip_words(const std::u32string& t) {
    static const std::array<std::u32string, 7> contractions = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
    auto other = [](char32_t c) { return !text::is_white_space(c) && !text::is_letter(c) && !text::is_number(c); };
    std::vector<std::u32string> words;
    for (size_t i = 0; i < t.size();) {
        const auto contraction = std::find_if(contractions.begin(), contractions.end(), [&](const std::u32string& c) { return starts_with_at(t, i, c); });
        size_t end = i;
        if (contraction != contractions.end()) {
            end = i + contraction->size();
        } else if (text::is_letter(t[i])) {
            while (end < t.size() && text::is_letter(t[end])) ++end;
        } else if (text::is_number(t[i])) {
            end = i + 1;
        } else if (other(t[i])) {
            while (end < t.size() && other(t[end])) ++end;
        } else {
            ++i;
            continue;
        }
        words.push_back(t.substr(i, end - i));
        i = end;
    }
    return words;
}

}  // namespace

ClipTokenizer ClipTokenizer::read(const std::string& folder) {
    if (!std::filesystem::is_directory(folder)) throw Error(folder, "is not a tokenizer folder (vocab.json and merges.txt)");
    for (const char* name : {"vocab.json", "merges.txt"})
        if (!std::filesystem::exists(std::filesystem::path(folder) / name))
            throw Error(folder, std::string("tokenizer folder has no ") + name + " (CLIP's BPE needs vocab.json and merges.txt)");
    return read((std::filesystem::path(folder) / "vocab.json").string(), (std::filesystem::path(folder) / "merges.txt").string());
}

ClipTokenizer ClipTokenizer::read(const std::string& vocab_json, const std::string& merges_txt) {
    ClipTokenizer t;
    nlohmann::json vocab;
    try {
        vocab = nlohmann::json::parse(read_text_file(vocab_json));
    } catch (const nlohmann::json::exception& e) {
        throw Error(vocab_json, std::string("is not JSON: ") + e.what());
    }
    if (!vocab.is_object() || vocab.empty()) throw Error(vocab_json, "is not a JSON object of token → id");
    t.tokens_.resize(vocab.size());
    for (const auto& [token, id] : vocab.items()) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= static_cast<int64_t>(vocab.size()))
            throw Error(vocab_json, "token \"" + token + "\" has id " + id.dump() + ", not an integer in [0, " + std::to_string(vocab.size()) + ")");
        const auto i = id.get<int64_t>();
        if (!t.tokens_[static_cast<size_t>(i)].empty()) throw Error(vocab_json, "id " + std::to_string(i) + " is given to two tokens");
        t.tokens_[static_cast<size_t>(i)] = token;
        t.ids_[token] = i;
    }
    for (const char* special : {kStartToken, kEndToken})
        if (!t.ids_.count(special)) throw Error(vocab_json, std::string("has no ") + special + ": not a CLIP vocabulary");
    t.start_id_ = t.ids_.at(kStartToken);
    t.end_id_ = t.pad_id_ = t.ids_.at(kEndToken);

    std::istringstream merges(read_text_file(merges_txt));
    std::string line;
    int64_t rank = 0;
    for (int line_number = 1; std::getline(merges, line); ++line_number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (line_number == 1 && line.rfind("#version", 0) == 0)) continue;
        const auto space = line.find(' ');
        if (space == std::string::npos || space == 0 || line.find(' ', space + 1) != std::string::npos || space + 1 == line.size())
            throw Error(merges_txt, "line " + std::to_string(line_number) + " is not two tokens separated by one space: \"" + line + "\"");
        const std::string left = line.substr(0, space), right = line.substr(space + 1);
        for (const std::string& part : {left, right, left + right})
            if (!t.ids_.count(part))
                throw Error(merges_txt, "line " + std::to_string(line_number) + ": \"" + part + "\" is not in " + vocab_json);
        t.merge_ranks_.emplace(line, rank++);
    }
    if (t.merge_ranks_.empty()) throw Error(merges_txt, "has no merges");
    return t;
}

void ClipTokenizer::set_pad_token(const std::string& token) {
    const auto it = ids_.find(token);
    if (it == ids_.end()) throw Error("pad token \"" + token + "\" is not in the CLIP vocabulary");
    pad_id_ = it->second;
}

const std::string& ClipTokenizer::token(int64_t id) const {
    static const std::string none;
    return id >= 0 && id < vocabulary_size() ? tokens_[static_cast<size_t>(id)] : none;
}

std::vector<int64_t> ClipTokenizer::bpe(const std::string& word) const {
    std::vector<std::string> symbols;
    for (unsigned char b : word) symbols.push_back(byte_alphabet()[b]);
    symbols.back() += kEndOfWord;
    while (symbols.size() > 1) {
        int64_t best = INT64_MAX;
        for (size_t i = 0; i + 1 < symbols.size(); ++i) {
            const auto it = merge_ranks_.find(symbols[i] + " " + symbols[i + 1]);
            if (it != merge_ranks_.end()) best = std::min(best, it->second);
        }
        if (best == INT64_MAX) break;
        std::vector<std::string> merged;
        for (size_t i = 0; i < symbols.size(); ++i) {
            if (i + 1 < symbols.size()) {
                const auto it = merge_ranks_.find(symbols[i] + " " + symbols[i + 1]);
                if (it != merge_ranks_.end() && it->second == best) {
                    merged.push_back(symbols[i] + symbols[i + 1]);
                    ++i;
                    continue;
                }
            }
            merged.push_back(symbols[i]);
        }
        symbols = std::move(merged);
    }
    std::vector<int64_t> ids;
    for (const auto& s : symbols) {
        const auto it = ids_.find(s);
        ids.push_back(it == ids_.end() ? end_id_ : it->second);   // <|endoftext|> is CLIP's unknown token
    }
    return ids;
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& utf8) const {
    std::u32string normal;
    bool in_space = false;
    for (char32_t c : text::nfc(text::from_utf8(utf8, "caption text"))) {
        if (text::is_white_space(c)) {
            if (!in_space) normal.push_back(U' ');
            in_space = true;
        } else {
            normal.push_back(c);
            in_space = false;
        }
    }
    normal = text::lower_each(normal);

    std::vector<int64_t> ids{start_id_};
    const std::u32string start = text::from_utf8(kStartToken, kStartToken), end = text::from_utf8(kEndToken, kEndToken);
    size_t from = 0;
    auto add_words = [&](const std::u32string& piece) {
        for (const auto& word : clip_words(piece)) {
            const auto pieces = bpe(text::to_utf8(word));
            ids.insert(ids.end(), pieces.begin(), pieces.end());
        }
    };
    for (size_t i = 0; i < normal.size();) {
        const bool is_start = starts_with_at(normal, i, start), is_end = starts_with_at(normal, i, end);
        if (!is_start && !is_end) {
            ++i;
            continue;
        }
        add_words(normal.substr(from, i - from));
        ids.push_back(is_start ? start_id_ : end_id_);
        i += is_start ? start.size() : end.size();
        from = i;
    }
    add_words(normal.substr(from));
    ids.push_back(end_id_);
    return ids;
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& text, int64_t length) const {
    return text::fit_to_length(encode(text), length, end_id_, pad_id_, "CLIP");
}

}  // namespace soul
