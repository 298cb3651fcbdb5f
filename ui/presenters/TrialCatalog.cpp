#include "TrialCatalog.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace soului {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace

TrialCatalog::TrialCatalog(const soul::PreparedDataset& dataset, int64_t trainEvery) {
    auto add = [&](soul::Split split, int64_t row) {
        TrialEntry e;
        e.split = split;
        e.row = row;
        e.image = dataset.image_of(split, row);
        e.nsdId = dataset.nsd_id(e.image);
        e.repeats = split == soul::Split::Test ? dataset.repeats(row) : 1;
        const auto& captions = dataset.captions(e.image);
        for (const auto& c : captions) e.captions += lower(c) + " | ";
        e.title = std::string(split == soul::Split::Test ? "test " : "train ") + std::to_string(row) + " · nsd " + std::to_string(e.nsdId) +
                  (captions.empty() ? std::string() : " · " + captions.front());
        m_entries.push_back(std::move(e));
    };
    for (int64_t r = 0; r < dataset.size(soul::Split::Test); ++r) add(soul::Split::Test, r);
    if (trainEvery > 0)
        for (int64_t r = 0; r < dataset.size(soul::Split::Train); r += trainEvery) add(soul::Split::Train, r);
}

std::vector<size_t> TrialCatalog::filter(const std::string& query, bool onlySplit, soul::Split split, int32_t minRepeats) const {
    std::vector<std::string> words;
    std::istringstream in(lower(query));
    for (std::string w; in >> w;) words.push_back(w);
    std::vector<size_t> out;
    for (size_t i = 0; i < m_entries.size(); ++i) {
        const TrialEntry& e = m_entries[i];
        if (onlySplit && e.split != split) continue;
        if (e.repeats < minRepeats) continue;
        if (std::all_of(words.begin(), words.end(), [&](const std::string& w) { return e.captions.find(w) != std::string::npos; })) out.push_back(i);
    }
    return out;
}

}  // namespace soului
