// `souldiffuser export`: a figure rendered headless from a saved view description (the studio
// writes one beside every figure it exports).
#include "commands.h"

#include "soul/figure.h"

#include <iostream>
#include <memory>

namespace cli {

namespace {

struct ExportArgs {
    std::string view, out;
    int scale = 0;   // 0: the description's
};

}  // namespace

Command add_export(CLI::App& app) {
    auto* command = app.add_subcommand("export", "Render a figure headless from a saved view description (the studio writes one beside every figure)");
    auto a = std::make_shared<ExportArgs>();
    command->add_option("--view", a->view, "A view description (JSON)")->required();
    command->add_option("--out", a->out, "The PNG to write")->required();
    command->add_option("--scale", a->scale, "1–4 (default: the description's)");
    return {command, [a] {
                return reporting_errors("export", true, [&] {
                    soul::ViewDescription view = soul::read_view_description(a->view);
                    if (a->scale != 0) view.scale = a->scale;
                    std::cout << soul::export_figure(view, a->out, terminal_progress()) << "\n";
                });
            }};
}

}  // namespace cli
