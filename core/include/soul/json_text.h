// JSON as text for files the engine writes. Paths and captions come from the user's file system
// and may not be UTF-8 (a Latin-1 folder name): nlohmann's dump() throws on those, so invalid
// bytes are written as U+FFFD instead, and the file is still written.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace soul {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace soul
