// Output folders: made with a message rather than a std::filesystem exception, and never at the
// cost of a user's file. Every --out goes through make_output_folder; a command that replaces its
// --out when done (prepare) first asks check_replaceable_output.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace soul {

// Creates `folder` and its parents; soul::Error naming it and the reason (a file in the way, no
// permission) when that cannot be done.
void make_output_folder(const std::filesystem::path& folder);

// Refuses, before any work, an `out` that is a file, lies under a file, or is a non-empty folder
// that `is_ours` does not recognise as an earlier output of `what` (which would be replaced).
void check_replaceable_output(const std::string& out, const std::string& what, const std::function<bool(const std::string&)>& is_ours);

}  // namespace soul
