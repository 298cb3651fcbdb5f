#include "published_scores.h"

#include "nsd_metrics.h"
#include "published_scores_data.h"
#include "soul/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace soul::metrics {

namespace {

using json = nlohmann::json;

constexpr const char* kDataFile = "resources/published-nsd-metrics.json";

std::string text_at(const json& object, const char* key, const std::string& file, const std::string& where) {
    if (!object.contains(key) || !object[key].is_string() || object[key].get<std::string>().empty())
        throw Error(file, where + ": \"" + key + "\" is missing or not a non-empty string");
    return object[key].get<std::string>();
}

bool known_value(const std::string& name) {
    if (name == "image_retrieval" || name == "brain_retrieval") return true;
    const auto& columns = metric_columns();
    return std::any_of(columns.begin(), columns.end(), [&](const MetricColumn& c) { return name == c.name; });
}

}  // namespace

PublishedScores parse_published_scores(const std::string& text, const std::string& file) {
    const json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) throw Error(file, "not a JSON object");
    if (!doc.contains("rows") || !doc["rows"].is_array()) throw Error(file, "\"rows\" is missing or not an array");
    PublishedScores scores;
    for (size_t i = 0; i < doc["rows"].size(); ++i) {
        const json& r = doc["rows"][i];
        const std::string where = "rows[" + std::to_string(i) + "]";
        if (!r.is_object()) throw Error(file, where + " is not an object");
        PublishedRow row;
        row.method = text_at(r, "method", file, where);
        row.detail = text_at(r, "detail", file, where);
        row.retrieval_space = text_at(r, "retrieval_space", file, where);
        row.source = text_at(r, "source", file, where);
        if (!r.contains("test_images") || !r["test_images"].is_number_integer() || r["test_images"].get<int64_t>() <= 0)
            throw Error(file, where + " (" + row.method + "): \"test_images\" is missing or not a positive integer");
        row.test_images = r["test_images"].get<int64_t>();
        if (!r.contains("values") || !r["values"].is_object() || r["values"].empty())
            throw Error(file, where + " (" + row.method + "): \"values\" is missing or empty");
        for (const auto& [name, value] : r["values"].items()) {
            if (!known_value(name)) throw Error(file, where + " (" + row.method + "): unknown column \"" + name + "\"");
            if (!value.is_number()) throw Error(file, where + " (" + row.method + "): \"" + name + "\" is not a number");
            const double v = value.get<double>();
            // Every column is a fraction: two-way and retrieval rates, correlations, distances (0–2,
            // but a reconstruction method's mean is below 1).
            if (!(v >= 0.0 && v <= 1.0)) throw Error(file, where + " (" + row.method + "): \"" + name + "\" = " + std::to_string(v) + " is outside [0, 1] (fractions, not percent)");
            row.values[name] = v;
        }
        scores.rows.push_back(std::move(row));
    }
    if (doc.contains("not_included")) {
        if (!doc["not_included"].is_array()) throw Error(file, "\"not_included\" is not an array");
        for (size_t i = 0; i < doc["not_included"].size(); ++i) {
            const json& r = doc["not_included"][i];
            const std::string where = "not_included[" + std::to_string(i) + "]";
            if (!r.is_object()) throw Error(file, where + " is not an object");
            scores.not_included.push_back({text_at(r, "method", file, where), text_at(r, "why", file, where)});
        }
    }
    return scores;
}

const PublishedScores& published_scores() {
    static const PublishedScores kScores = parse_published_scores(kPublishedNsdMetrics, kDataFile);
    return kScores;
}

std::vector<PublishedRow> published_rows_for(int64_t test_images) {
    std::vector<PublishedRow> rows;
    for (const auto& row : published_scores().rows)
        if (row.test_images == test_images) rows.push_back(row);
    return rows;
}

}  // namespace soul::metrics
