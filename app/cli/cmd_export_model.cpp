// `souldiffuser export-model`: a finished run made small for shipping (inference weights, half precision).
#include "commands.h"

#include "soul/train.h"

#include <iostream>
#include <memory>

namespace cli {

namespace {

struct ExportModelArgs {
    soul::ExportModelOptions options;
    bool float32 = false;
};

}  // namespace

Command add_export_model(CLI::App& app) {
    auto* command = app.add_subcommand("export-model", "Make a finished run small for shipping: inference weights only, half precision");
    auto a = std::make_shared<ExportModelArgs>();
    command->add_option("run", a->options.run, "The run folder")->required();
    command->add_option("--out", a->options.out, "The model folder to write (new or empty)")->required();
    command->add_flag("--float32", a->float32, "Keep single precision (default: half)");
    return {command, [a] {
                return reporting_errors("export-model", true, [&] {
                    soul::ExportModelOptions o = a->options;
                    o.half = !a->float32;
                    std::cout << soul::export_model(o, terminal_progress());
                });
            }};
}

}  // namespace cli
