// transformers' config.json files (config_json.h).
#include "config_json.h"

#include "soul/error.h"

#include <fstream>

namespace soul::pretrained {

nlohmann::json read_config_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "cannot be opened");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, std::string("is not JSON: ") + e.what());
    }
    if (!j.is_object()) throw Error(path, "is not a JSON object: not a model's config.json");
    return j;
}

int64_t config_size(const std::string& path, const nlohmann::json& j, const char* key, int64_t fallback) {
    if (!j.contains(key)) return fallback;
    const auto& v = j[key];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (int64_t(1) << 24))
        throw Error(path, std::string(key) + " is " + v.dump() + ", not a positive integer");
    return v.get<int64_t>();
}

void require_model_type(const std::string& path, const nlohmann::json& j, const std::vector<std::string>& accepted) {
    if (!j.contains("model_type")) return;
    const std::string type = j["model_type"].is_string() ? j["model_type"].get<std::string>() : j["model_type"].dump();
    for (const auto& a : accepted)
        if (type == a) return;
    std::string list;
    for (const auto& a : accepted) list += (list.empty() ? "" : " or ") + a;
    throw Error(path, "model_type \"" + type + "\" is not " + list);
}

}  // namespace soul::pretrained
