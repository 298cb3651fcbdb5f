// Where SoulDiffuser finds the data it ships and the data it makes (docs/install.md).
//
// Every lookup goes, in this order:
//   command-line flag → environment variable → the user's XDG data dir → the install prefix's
//   share dir → (only for a program run from its build tree) the source tree,
// so an installed package, a user's own copy and a developer's build tree each find their own,
// and an installed program never reads a source tree that happens to be on the disk.
#pragma once

#include <string>
#include <vector>

namespace soul {

struct DataLookup {
    std::string path;                 // what was found; empty when nothing was
    std::string from;                 // where it came from: "--model", "$SOUL_MODEL_DIR", "user data dir", ...
    std::vector<std::string> tried;   // every place looked at, in order
    bool found() const { return !path.empty(); }
    // "looked in A, B, C": for error messages.
    std::string places() const;
};

// $XDG_DATA_HOME/souldiffuser, else $HOME/.local/share/souldiffuser (the XDG default).
std::string user_data_dir();
// $XDG_CACHE_HOME/souldiffuser, else $HOME/.cache/souldiffuser: what can be made again (the ridge
// baseline's training kernel); safe to delete.
std::string user_cache_dir();
// <prefix>/share/souldiffuser for the running program in <prefix>/bin; empty when unknown.
std::string install_data_dir();
// The source tree when the running program is inside the build tree it was built in; else empty.
std::string source_data_dir();

// `relative` is a path in the source tree's layout ("models/phantom-small"); a folder counts only
// if `marker` (a file inside, e.g. "run.json") is there. A flag or variable that is set is taken
// as the user's word: it is returned even when it does not exist, so the reader names it.
DataLookup find_data(const std::string& relative, const std::string& flag_value, const std::string& flag_name,
                     const char* environment_variable, const std::string& marker = "");

// The shipped model (models/phantom-small): --model → $SOUL_MODEL_DIR → the data dirs.
DataLookup shipped_model(const std::string& flag_value = "", const std::string& flag_name = "--model");

// A training config: an existing path as given, else a name ("phantom-small" or
// "phantom-small.json") found under models/configs/ of the data dirs.
DataLookup training_config(const std::string& name_or_path);

// Folders of decoder plugins (docs/decoder-plugins.md), every one that exists, in the order a name
// is looked up: `flag_value` (--plugins, ':'-separated) → $SOUL_PLUGIN_PATH (':'-separated) →
// <user data dir>/plugins → <install prefix>/plugins → (from a build tree) the source tree's
// plugins/. Unlike the other lookups they add up: a plugin is found in any of them.
std::vector<std::string> decoder_plugin_dirs(const std::string& flag_value = "");

}  // namespace soul
