// Caption tokenizer (see tokenizer.h).
#include "tokenizer.h"

#include "soul/error.h"

#include <algorithm>
#include <cctype>
#include <fstream>

namespace soul::model {

std::vector<std::string> CaptionTokenizer::words(const std::string& text) {
    std::vector<std::string> out;
    std::string word;
    for (char ch : text) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (std::isalnum(c)) {
            word += static_cast<char>(std::tolower(c));
        } else if (!word.empty()) {
            out.push_back(word);
            word.clear();
        }
    }
    if (!word.empty()) out.push_back(word);
    return out;
}

CaptionTokenizer CaptionTokenizer::fit(const std::vector<std::string>& captions) {
    std::map<std::string, int64_t> count;
    for (const auto& c : captions)
        for (const auto& w : words(c)) ++count[w];
    std::vector<std::pair<std::string, int64_t>> sorted(count.begin(), count.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    CaptionTokenizer t;
    t.vocabulary_ = {"<pad>", "<unk>"};
    for (const auto& [w, _] : sorted) t.vocabulary_.push_back(w);
    for (size_t i = 0; i < t.vocabulary_.size(); ++i) t.index_[t.vocabulary_[i]] = static_cast<int64_t>(i);
    return t;
}

CaptionTokenizer CaptionTokenizer::from_json(const nlohmann::json& j) {
    CaptionTokenizer t;
    t.vocabulary_ = j.get<std::vector<std::string>>();
    for (size_t i = 0; i < t.vocabulary_.size(); ++i) t.index_[t.vocabulary_[i]] = static_cast<int64_t>(i);
    return t;
}

CaptionTokenizer CaptionTokenizer::read(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "cannot be opened (a run folder holds its vocabulary there)");
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) throw Error(path, "is not valid JSON");
    if (!j.is_array() || j.size() < 2) throw Error(path, "is not a vocabulary (a JSON list of words starting \"<pad>\", \"<unk>\")");
    for (size_t i = 0; i < j.size(); ++i)
        if (!j[i].is_string()) throw Error(path, "word " + std::to_string(i) + " is " + j[i].dump() + ", not text");
    if (j[kPad] != "<pad>" || j[kUnknown] != "<unk>") throw Error(path, "does not start with \"<pad>\", \"<unk>\" (not a vocabulary of this program?)");
    return from_json(j);
}

nlohmann::json CaptionTokenizer::to_json() const { return vocabulary_; }

std::vector<int64_t> CaptionTokenizer::encode(const std::string& text, int64_t length) const {
    std::vector<int64_t> ids(static_cast<size_t>(length), kPad);
    const auto ws = words(text);
    for (size_t i = 0; i < ws.size() && static_cast<int64_t>(i) < length; ++i) {
        auto it = index_.find(ws[i]);
        ids[i] = it == index_.end() ? kUnknown : it->second;
    }
    return ids;
}

}  // namespace soul::model
