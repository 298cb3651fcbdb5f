// `souldiffuser decoders`: the brain decoders a run can use — built in and plugins — and for each
// plugin that cannot decode for this run, why.
#include "commands.h"

#include "soul/reconstruct.h"

#include <iostream>
#include <memory>

namespace cli {

namespace {

struct DecodersArgs {
    std::string run, data, plugins, device = "cpu";
};

void list_decoders(const DecodersArgs& a) {
    const std::string run = model_or_shipped(a.run);
    soul::ReconstructionEngine engine(run, data_or_default(run, a.data), a.device, soul::decoder_plugin_dirs(a.plugins));
    for (const soul::DecoderInfo& d : engine.decoders()) {
        if (d.name.empty()) {
            std::cout << "unreadable plugin: " << d.problem << "\n";
            continue;
        }
        std::cout << d.name << "\t" << d.title << "\t" << d.origin;
        if (!d.problem.empty()) std::cout << "\tcannot decode for this run: " << d.problem;
        std::cout << "\n";
    }
    std::cout << "baseline\t" << engine.baseline_name() << "\t(the run's baseline)\n";
}

}  // namespace

Command add_decoders(CLI::App& app) {
    auto* command = app.add_subcommand("decoders", "List the brain decoders --decoder takes for a run: built in and decoder plugins");
    auto a = std::make_shared<DecodersArgs>();
    command->add_option("--model", a->run, "The run folder or a model (default: the shipped one)");
    command->add_option("--data", a->data, "Prepared dataset (default: the one the run was trained on; the default subject for the shipped model)");
    add_plugins_option(command, a->plugins);
    return {command, [a] { return reporting_errors("decoders", false, [&] { list_decoders(*a); }); }};
}

}  // namespace cli
