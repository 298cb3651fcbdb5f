// TrialCatalog: the trials of a prepared dataset as the workbench's browser lists them — split,
// row, image, captions, repeats — and the filter behind its search box (Qt-free presenter).
#pragma once

#include "soul/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace soului {

struct TrialEntry {
    soul::Split split = soul::Split::Test;
    int64_t row = 0;
    int32_t image = 0, nsdId = 0;
    int32_t repeats = 1;                 // test rows: how many presentations were averaged
    std::string captions;                // all captions of the image, joined, lower case
    std::string title;                   // "test 12 · nsd 345 · a red dress ..."
};

class TrialCatalog {
public:
    // Every test row, then every `trainEvery`-th training row (0: none).
    explicit TrialCatalog(const soul::PreparedDataset& dataset, int64_t trainEvery = 0);
    const std::vector<TrialEntry>& entries() const { return m_entries; }
    // Indices of the entries whose captions contain every word of `query` (case-insensitive) and,
    // with `onlySplit`, that are of `split`, and with at least `minRepeats` repeats.
    std::vector<size_t> filter(const std::string& query, bool onlySplit = false, soul::Split split = soul::Split::Test,
                               int32_t minRepeats = 0) const;

private:
    std::vector<TrialEntry> m_entries;
};

}  // namespace soului
