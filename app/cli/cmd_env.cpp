// `souldiffuser env`: the compute environment and where the data is found.
#include "commands.h"

#include "soul/data_paths.h"
#include "soul/default_subject.h"
#include "soul/runtime.h"

#include <iostream>

namespace cli {

namespace {

std::string describe_data_paths() {
    std::string text = "data (flag → environment → user data dir → install prefix → source tree, build tree only):\n";
    text += "  user data dir:  " + soul::user_data_dir() + "\n";
    text += "  install prefix: " + soul::install_data_dir() + "\n";
    const std::string source = soul::source_data_dir();
    text += "  source tree:    " + (source.empty() ? std::string("(not used: this program is not in its build tree)") : source) + "\n";
    const soul::DataLookup model = soul::shipped_model();
    text += "  shipped model:  " + (model.found() ? model.path + " (" + model.from + ")" : "not found; " + model.places()) + "\n";
    const soul::DefaultSubject subject = soul::default_subject();
    text += "  default subject: " + subject.phantom + (soul::phantom_complete(subject.phantom) ? "" : " (not made yet)") + "\n";
    text += "                   " + subject.prepared + (soul::prepared_complete(subject.prepared) ? "" : " (not made yet)") + "\n";
    return text;
}

}  // namespace

Command add_env(CLI::App& app) {
    auto* command = app.add_subcommand("env", "Print the compute environment (LibTorch, CUDA/cuDNN, GPUs, threads, build flags) and where the data is found");
    return {command, [] {
                return reporting_errors("env", false, [] { std::cout << soul::describe(soul::compute_environment()) << describe_data_paths(); });
            }};
}

}  // namespace cli
