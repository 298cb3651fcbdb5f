// The field's standard table as `souldiffuser evaluate` writes it: our rows (one per method),
// the published rows for the same split (published_scores.h) under them, and what is missing and
// why. Markdown for report.md and the `standard_metrics` section of report.json.
#pragma once

#include "nsd_metrics.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace soul::metrics {

// The split's name, so that the reader knows which published rows compare: 982 (MindEye1,
// Brain-Diffuser, Takagi & Nishimoto), 1000 (MindEye2), anything else "not a published split".
std::string split_text(int64_t test_images);

struct StandardTable {
    std::string markdown;
    nlohmann::json report;
};

// `retrievals`: by method name, for the rows that have a brain embedding.
StandardTable standard_table(const std::vector<MetricRow>& rows, const std::map<std::string, Retrieval>& retrievals,
                             const MetricNetworks& nets, int64_t test_images);

}  // namespace soul::metrics
