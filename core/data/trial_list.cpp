// Trial lists ("--trials"): which rows of a prepared dataset to reconstruct (see soul/dataset.h).
#include "soul/dataset.h"
#include "soul/error.h"

#include <charconv>

namespace soul {

std::string split_name(Split split) { return split == Split::Test ? "test" : "train"; }

namespace {

// The whole of `text` as a row number, or −1 ("3x", "x", "" and "-1" are not rows).
int64_t row_number(const std::string& text) {
    int64_t value = -1;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size() && value >= 0 ? value : -1;
}

}  // namespace

std::vector<TrialRef> parse_trials(const std::string& list, const PreparedDataset& dataset) {
    std::vector<TrialRef> trials;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = list.find(',', start);
        std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? list.size() + 1 : comma + 1;
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (item.empty()) continue;
        Split split = Split::Test;
        if (item.rfind("train:", 0) == 0) {
            split = Split::Train;
            item = item.substr(6);
        } else if (item.rfind("test:", 0) == 0) {
            item = item.substr(5);
        }
        const size_t dash = item.find('-');
        const int64_t a = row_number(item.substr(0, dash)), b = dash == std::string::npos ? a : row_number(item.substr(dash + 1));
        if (a < 0 || b < a)
            throw Error("reconstruct: --trials item '" + item + "' is not a row or a range A-B (e.g. 0,4,10-19 or train:5)");
        if (b >= dataset.size(split))
            throw Error(dataset.manifest().path, "has " + std::to_string(dataset.size(split)) + " " + split_name(split) + " rows; --trials asks for row " +
                                                     std::to_string(b));
        for (int64_t r = a; r <= b; ++r) trials.push_back({split, r});
    }
    if (trials.empty()) throw Error("reconstruct: --trials names no trial");
    return trials;
}

}  // namespace soul
