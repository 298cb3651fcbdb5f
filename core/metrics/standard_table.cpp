#include "standard_table.h"

#include "published_scores.h"
#include "soul/formats.h"

#include <algorithm>
#include <optional>
#include <sstream>

namespace soul::metrics {

namespace {

using json = nlohmann::json;

constexpr int64_t kRetrievalSubset = 300;   // MindEye2's 300-way retrieval

// Two-way columns in percent as the papers print them; correlations and distances as they are.
std::string cell(const MetricColumn& column, const std::optional<double>& value, const char* absent) {
    if (!value) return absent;
    const std::string name = column.name;
    const bool two_way = column.higher_is_better && name != "PixCorr" && name != "SSIM";
    return two_way ? fixed_digits(*value * 100, 1) + "%" : fixed3(*value);
}

std::optional<double> find_value(const std::map<std::string, double>& values, const std::string& key) {
    const auto it = values.find(key);
    return it == values.end() ? std::nullopt : std::optional<double>(it->second);
}

}  // namespace

std::string split_text(int64_t n) {
    if (n == 982) return "NSD's 982 shared images that every subject saw three times, repeats averaged (the split of MindEye1, Brain-Diffuser, Takagi & Nishimoto)";
    if (n == 1000) return "all 1000 shared NSD images, repeats averaged (MindEye2's split)";
    return std::to_string(n) + " test images, repeats averaged: not a published NSD split, so no published row compares";
}

StandardTable standard_table(const std::vector<MetricRow>& rows, const std::map<std::string, Retrieval>& retrievals,
                             const MetricNetworks& nets, int64_t n) {
    std::ostringstream md;
    const auto& columns = metric_columns();
    const int64_t subset = std::min<int64_t>(kRetrievalSubset, n);
    md << "\n## The field's standard table\n\nThe eight metrics of MindEye2's evaluation (docs/nsd-metrics.md), on " << split_text(n)
       << ". Two-way identification in %, chance 50 %; EffNet-B and SwAV: correlation distance, lower is better. Retrieval: top-1 among "
       << subset << " random test trials, averaged over 30 subsets, in the built-in image embedding (chance " << fixed3(1.0 / static_cast<double>(subset))
       << "); image: brain → image, brain: image → brain.\n\n| method |";
    for (const auto& c : columns) md << " " << c.name << (c.higher_is_better ? " ↑" : " ↓") << " |";
    md << " image ret. ↑ | brain ret. ↑ |\n|---|";
    for (size_t i = 0; i < columns.size() + 2; ++i) md << "---|";
    md << "\n";
    json out = {{"split", split_text(n)}, {"test_images", n}, {"retrieval_subset", subset}, {"rows", json::array()}, {"missing", json::object()},
                {"problems", nets.problems()}, {"published", json::array()}};
    std::map<std::string, std::string> missing;
    for (const auto& row : rows) {
        json values = json::object();
        md << "| " << row.name;
        for (const auto& c : columns) {
            const auto& v = row.values.at(c.name);
            md << " | " << cell(c, v, "n/a");
            values[c.name] = v ? json(*v) : json();
            if (!v) missing[c.name] = row.missing.at(c.name);
        }
        const auto r = retrievals.find(row.name);
        md << " | " << (r != retrievals.end() ? fixed3(r->second.forward) : std::string("—")) << " | "
           << (r != retrievals.end() ? fixed3(r->second.backward) : std::string("—")) << " |\n";
        if (r != retrievals.end()) values["image_retrieval"] = r->second.forward, values["brain_retrieval"] = r->second.backward;
        out["rows"].push_back({{"method", row.name}, {"values", values}});
    }
    const auto published = published_rows_for(n);
    for (const auto& p : published) {
        md << "| *published: " << p.method << "* (" << p.detail << ")";
        for (const auto& c : columns) md << " | " << cell(c, find_value(p.values, c.name), "—");
        for (const char* key : {"image_retrieval", "brain_retrieval"}) {
            const auto v = find_value(p.values, key);
            md << " | " << (v ? fixed3(*v) : std::string("—"));
        }
        md << " |\n";
        out["published"].push_back({{"method", p.method}, {"detail", p.detail}, {"values", p.values}, {"retrieval_space", p.retrieval_space}, {"source", p.source}});
    }
    if (!missing.empty()) {
        md << "\n";
        for (const auto& [column, why] : missing) {
            md << "- " << column << ": " << why << "\n";
            out["missing"][column] = why;
        }
    }
    for (const auto& problem : nets.problems()) md << "- **unreadable network file**: " << problem << "\n";
    if (published.empty()) {
        md << "\nNo published row compares with this split (the published NSD scores are on 982 or 1000 test images).\n";
    } else {
        md << "\nPublished rows, from their authors' own evaluation code (resources/published-nsd-metrics.json); single subjects, "
              "so they compare with a model of the same subject:\n";
        for (const auto& p : published)
            md << "- " << p.method << ": " << p.source << ". Its retrieval is in " << p.retrieval_space << ", ours in the built-in embedding.\n";
        for (const auto& left_out : published_scores().not_included) md << "- not included: " << left_out.method << " (" << left_out.why << ")\n";
    }
    return {md.str(), out};
}

}  // namespace soul::metrics
