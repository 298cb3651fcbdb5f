// transformers' config.json files, read for the sizes of the pretrained networks.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace soul::pretrained {

// The JSON object in `path`; soul::Error(path, ...) if it cannot be read or is not an object.
nlohmann::json read_config_json(const std::string& path);
// j[key] as a positive integer, `fallback` when absent; soul::Error naming `path` and `key` otherwise.
int64_t config_size(const std::string& path, const nlohmann::json& j, const char* key, int64_t fallback);
// soul::Error naming the model_type when it is present and none of `accepted`.
void require_model_type(const std::string& path, const nlohmann::json& j, const std::vector<std::string>& accepted);

}  // namespace soul::pretrained
