// BERT's WordPiece tokenizer. References: Devlin et al. 2019 (BERT; google-research/bert
// tokenization.py), Wu et al. 2016 (WordPiece), and the pipeline of bert-base-uncased's
// tokenizer.json as Hugging Face's tokenizers runs it: BertNormalizer (clean_text,
// handle_chinese_chars, strip_accents following lowercase, lowercase), BertPreTokenizer, WordPiece
// (prefix "##", at most 100 characters a word), TemplateProcessing [CLS] $A [SEP]. The special
// tokens are matched in the raw text first, as their "normalized": false says.
#include "soul/tokenizers.h"

#include "soul/error.h"
#include "unicode_text.h"

#include <array>
#include <filesystem>
#include <fstream>

namespace soul {
namespace {

constexpr std::array<const char*, 5> kSpecialTokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
constexpr const char* kContinuation = "##";

// BertNormalizer, in its order: drop NUL, U+FFFD and other control characters; white space to a
// space; spaces around CJK ideographs; NFD without non-spacing marks (the accents); lower case.
std::u32string bert_normalize(const std::u32string& raw) {
    std::u32string clean;
    for (char32_t c : raw) {
        const bool line_space = c == U'\t' || c == U'\n' || c == U'\r';
        if (c == 0 || c == 0xFFFD || (!line_space && text::is_other(c))) continue;
        if (line_space || text::is_white_space(c)) {
            clean.push_back(U' ');
        } else if (text::is_cjk_ideograph(c)) {
            clean += {U' ', c, U' '};
        } else {
            clean.push_back(c);
        }
    }
    std::u32string stripped;
    for (char32_t c : text::nfd(clean))
        if (!text::is_nonspacing_mark(c)) stripped.push_back(c);
    return text::lower_each(stripped);
}

// BertPreTokenizer: split at white space (dropped) and around each punctuation character (kept).
std::vector<std::u32string> bert_words(const std::u32string& t) {
    std::vector<std::u32string> words;
    std::u32string word;
    auto flush = [&] {
        if (!word.empty()) words.push_back(word);
        word.clear();
    };
    for (char32_t c : t) {
        if (text::is_white_space(c)) {
            flush();
        } else if (text::is_punctuation(c)) {
            flush();
            words.push_back(std::u32string(1, c));
        } else {
            word.push_back(c);
        }
    }
    flush();
    return words;
}

}  // namespace

WordPieceTokenizer WordPieceTokenizer::read(const std::string& path_in) {
    std::string path = path_in;
    if (std::filesystem::is_directory(path)) {
        path = (std::filesystem::path(path) / "vocab.txt").string();
        if (!std::filesystem::exists(path)) throw Error(path_in, "tokenizer folder has no vocab.txt (BERT's WordPiece vocabulary)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot be opened");
    WordPieceTokenizer t;
    std::string line;
    for (int64_t id = 0; std::getline(in, line); ++id) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        text::from_utf8(line, path + " line " + std::to_string(id + 1));
        t.tokens_.push_back(line);
        if (line.empty()) continue;
        if (!t.ids_.emplace(line, id).second) throw Error(path, "line " + std::to_string(id + 1) + ": token \"" + line + "\" is listed twice");
    }
    if (t.ids_.empty()) throw Error(path, "is empty: not a WordPiece vocabulary");
    for (const char* special : {"[CLS]", "[SEP]", "[PAD]", "[UNK]"})
        if (!t.ids_.count(special)) throw Error(path, std::string("has no ") + special + ": not a BERT vocabulary");
    t.cls_id_ = t.ids_.at("[CLS]");
    t.sep_id_ = t.ids_.at("[SEP]");
    t.pad_id_ = t.ids_.at("[PAD]");
    t.unknown_id_ = t.ids_.at("[UNK]");
    return t;
}

const std::string& WordPieceTokenizer::token(int64_t id) const {
    static const std::string none;
    return id >= 0 && id < vocabulary_size() ? tokens_[static_cast<size_t>(id)] : none;
}

// Greedy longest match first; a word with a part no piece covers becomes [UNK] as a whole.
void WordPieceTokenizer::add_pieces(const std::u32string& word, std::vector<int64_t>& out) const {
    if (static_cast<int64_t>(word.size()) > kMaxCharactersPerWord) {
        out.push_back(unknown_id_);
        return;
    }
    std::vector<int64_t> pieces;
    for (size_t start = 0; start < word.size();) {
        int64_t found = -1;
        size_t end = word.size();
        for (; end > start; --end) {
            const std::string piece = (start > 0 ? kContinuation : "") + text::to_utf8(word.substr(start, end - start));
            const auto it = ids_.find(piece);
            if (it != ids_.end()) {
                found = it->second;
                break;
            }
        }
        if (found < 0) {
            out.push_back(unknown_id_);
            return;
        }
        pieces.push_back(found);
        start = end;
    }
    out.insert(out.end(), pieces.begin(), pieces.end());
}

std::vector<int64_t> WordPieceTokenizer::encode(const std::string& utf8) const {
    const std::u32string raw = text::from_utf8(utf8, "caption text");
    std::vector<int64_t> ids{cls_id_};
    auto add_text = [&](const std::u32string& piece) {
        for (const auto& word : bert_words(bert_normalize(piece))) add_pieces(word, ids);
    };
    size_t from = 0;
    for (size_t i = 0; i < raw.size();) {
        size_t matched = 0;
        int64_t special_id = -1;
        for (const char* special : kSpecialTokens) {
            const std::u32string s = text::from_utf8(special, special);
            const auto it = ids_.find(special);
            if (it != ids_.end() && raw.compare(i, s.size(), s) == 0) {
                matched = s.size();
                special_id = it->second;
                break;
            }
        }
        if (!matched) {
            ++i;
            continue;
        }
        add_text(raw.substr(from, i - from));
        ids.push_back(special_id);
        i += matched;
        from = i;
    }
    add_text(raw.substr(from));
    ids.push_back(sep_id_);
    return ids;
}

std::vector<int64_t> WordPieceTokenizer::encode(const std::string& text, int64_t length) const {
    return text::fit_to_length(encode(text), length, sep_id_, pad_id_, "BERT");
}

}  // namespace soul
