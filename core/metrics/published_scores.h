// Published NSD reconstruction scores, printed beside ours when the test split matches.
// The numbers and their sources live in one data file, resources/published-nsd-metrics.json,
// compiled into the engine (nothing is read or downloaded at run time). Only numbers a reader can
// check against a primary source are in it: the output cells the methods' own evaluation
// notebooks print at a named commit (MindEye2's src/final_evaluations.ipynb, MindEye1's
// src/Reconstruction_Metrics.ipynb and src/Retrievals.ipynb); what is left out says why.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace soul::metrics {

struct PublishedRow {
    std::string method;
    std::string detail;            // subject, training data, which reconstructions
    int64_t test_images = 0;       // 982 or 1000: the split the row was scored on
    std::map<std::string, double> values;   // metric_columns() names, image_retrieval, brain_retrieval
    std::string retrieval_space;   // the embedding its retrieval was computed in
    std::string source;            // where a reader checks the numbers
};

struct NotIncluded {
    std::string method, why;
};

struct PublishedScores {
    std::vector<PublishedRow> rows;
    std::vector<NotIncluded> not_included;
};

// The compiled-in data file, parsed once.
const PublishedScores& published_scores();
// The rows scored on a split of `test_images` images (none for a split no paper used).
std::vector<PublishedRow> published_rows_for(int64_t test_images);
// Parses and checks a data file's text; soul::Error naming `file` and the key at fault (unknown
// column, a two-way value outside [0, 1], a missing source, …).
PublishedScores parse_published_scores(const std::string& text, const std::string& file);

}  // namespace soul::metrics
