#include "soul/data_paths.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace soul {

namespace {

std::string environment(const char* name) {
    const char* value = name ? std::getenv(name) : nullptr;
    return value && *value ? value : "";
}

// The running program, resolved (Linux: /proc/self/exe); empty when it cannot be read.
fs::path running_program() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe;
}

bool present(const fs::path& path, const std::string& marker) {
    std::error_code ec;
    return marker.empty() ? fs::exists(path, ec) : fs::is_regular_file(path / marker, ec);
}

}  // namespace

std::string DataLookup::places() const {
    std::string text = "looked in ";
    for (size_t i = 0; i < tried.size(); ++i) text += (i ? ", " : "") + tried[i];
    return tried.empty() ? "looked nowhere" : text;
}

std::string user_data_dir() {
    const std::string xdg = environment("XDG_DATA_HOME");
    if (!xdg.empty()) return (fs::path(xdg) / "souldiffuser").string();
    const std::string home = environment("HOME");
    return (fs::path(home.empty() ? "/" : home) / ".local/share/souldiffuser").string();
}

std::string user_cache_dir() {
    const std::string xdg = environment("XDG_CACHE_HOME");
    if (!xdg.empty()) return (fs::path(xdg) / "souldiffuser").string();
    const std::string home = environment("HOME");
    return (fs::path(home.empty() ? "/" : home) / ".cache/souldiffuser").string();
}

std::string install_data_dir() {
    const fs::path exe = running_program();
    if (exe.empty()) return "";
    return (exe.parent_path().parent_path() / "share/souldiffuser").lexically_normal().string();
}

std::string source_data_dir() {
    const fs::path exe = running_program();
    std::error_code ec;
    const fs::path build = fs::weakly_canonical(SOUL_BINARY_DIR, ec);
    if (exe.empty() || ec) return "";
    // Inside the build tree: the build folder is a prefix of the program's path.
    const auto [end, rest] = std::mismatch(build.begin(), build.end(), exe.begin(), exe.end());
    return end == build.end() ? SOUL_SOURCE_DIR : "";
}

DataLookup find_data(const std::string& relative, const std::string& flag_value, const std::string& flag_name,
                     const char* environment_variable, const std::string& marker) {
    DataLookup lookup;
    if (!flag_value.empty()) {
        lookup.path = flag_value;
        lookup.from = flag_name;
        lookup.tried.push_back(flag_value + " (" + flag_name + ")");
        return lookup;
    }
    const std::string variable = environment(environment_variable);
    if (!variable.empty()) {
        lookup.path = variable;
        lookup.from = std::string("$") + environment_variable;
        lookup.tried.push_back(variable + " ($" + environment_variable + ")");
        return lookup;
    }
    const std::pair<std::string, const char*> roots[] = {
        {user_data_dir(), "user data dir"}, {install_data_dir(), "install prefix"}, {source_data_dir(), "source tree"}};
    for (const auto& [root, name] : roots) {
        if (root.empty()) continue;
        const fs::path candidate = fs::path(root) / relative;
        lookup.tried.push_back(candidate.string() + " (" + name + ")");
        if (present(candidate, marker)) {
            lookup.path = candidate.string();
            lookup.from = name;
            return lookup;
        }
    }
    return lookup;
}

DataLookup shipped_model(const std::string& flag_value, const std::string& flag_name) {
    return find_data("models/phantom-small", flag_value, flag_name, "SOUL_MODEL_DIR", "run.json");
}

DataLookup training_config(const std::string& name_or_path) {
    std::error_code ec;
    if (name_or_path.empty() || fs::is_regular_file(name_or_path, ec) || name_or_path.find('/') != std::string::npos) {
        DataLookup given;
        given.path = name_or_path;
        given.from = "--config";
        given.tried.push_back(name_or_path);
        return given;
    }
    const std::string file = fs::path(name_or_path).extension() == ".json" ? name_or_path : name_or_path + ".json";
    return find_data("models/configs/" + file, "", "", nullptr);
}

std::vector<std::string> decoder_plugin_dirs(const std::string& flag_value) {
    std::vector<std::string> dirs;
    auto add_list = [&](const std::string& list) {
        size_t start = 0;
        while (start <= list.size()) {
            const size_t colon = std::min(list.find(':', start), list.size());
            if (colon > start) dirs.push_back(list.substr(start, colon - start));
            start = colon + 1;
        }
    };
    add_list(flag_value);
    add_list(environment("SOUL_PLUGIN_PATH"));
    for (const std::string& root : {user_data_dir(), install_data_dir(), source_data_dir()})
        if (!root.empty()) dirs.push_back((fs::path(root) / "plugins").string());
    std::vector<std::string> existing;
    for (const std::string& dir : dirs) {
        std::error_code ec;
        if (fs::is_directory(dir, ec) && std::find(existing.begin(), existing.end(), dir) == existing.end()) existing.push_back(dir);
    }
    return existing;
}

}  // namespace soul
