// Output folders (output_folder.h).
#include "soul/output_folder.h"

#include "soul/error.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace soul {
namespace {

// The nearest existing ancestor of `path`, when it is not a folder (a file named like a folder).
std::string file_in_the_way(const fs::path& path) {
    std::error_code ec;
    for (fs::path p = path; !p.empty(); p = p.parent_path()) {
        if (fs::exists(p, ec)) return fs::is_directory(p, ec) ? "" : p.string();
        if (p == p.parent_path()) break;
    }
    return "";
}

}  // namespace

void make_output_folder(const fs::path& path) {
    const std::string folder = path.string();
    if (folder.empty()) throw Error("no output folder given");
    const std::string blocker = file_in_the_way(folder);
    if (blocker == folder) throw Error(folder, "is a file, not a folder: choose another output folder");
    if (!blocker.empty()) throw Error(folder, "cannot be created: " + blocker + " is a file, not a folder");
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec || !fs::is_directory(folder, ec)) throw Error(folder, "cannot be created as an output folder" + (ec ? ": " + ec.message() : std::string()));
}

void check_replaceable_output(const std::string& out, const std::string& what, const std::function<bool(const std::string&)>& is_ours) {
    const std::string blocker = file_in_the_way(out);
    if (blocker == out)
        throw Error(out, "is a file, not a folder; " + what + " is a folder, and a file is never replaced: choose another --out");
    if (!blocker.empty()) throw Error(out, "cannot be created: " + blocker + " is a file, not a folder");
    std::error_code ec;
    if (!fs::exists(out, ec) || fs::is_empty(out, ec) || is_ours(out)) return;
    throw Error(out, "is a folder with files that are not " + what + "; it would be replaced, so choose a new or empty folder");
}

}  // namespace soul
