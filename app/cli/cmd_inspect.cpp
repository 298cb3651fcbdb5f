// `souldiffuser inspect`: what a raw NSD/phantom root or a prepared dataset holds.
#include "commands.h"

#include "soul/prepare.h"

#include <iostream>
#include <memory>

namespace cli {

Command add_inspect(CLI::App& app) {
    auto* command = app.add_subcommand("inspect", "Print what a raw NSD/phantom root or a prepared dataset holds");
    auto path = std::make_shared<std::string>();
    command->add_option("path", *path, "NSD root, phantom folder or prepared dataset")->required();
    return {command, [path] { return reporting_errors("inspect", false, [&] { std::cout << soul::inspect_dataset(*path); }); }};
}

}  // namespace cli
