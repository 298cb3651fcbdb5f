// `souldiffuser evaluate`: reconstructions scored on the test images against the flattened
// baseline, ridge regression, every decoder plugin for the dataset, the ablations, the double dissociation and the oracle.
#include "commands.h"

#include "soul/reconstruct.h"

#include <iostream>
#include <memory>

namespace cli {

Command add_evaluate(CLI::App& app) {
    auto* command =
        app.add_subcommand("evaluate", "Score reconstructions on the test images against the flattened baseline, ridge regression, decoder plugins and ablations");
    auto o = std::make_shared<soul::EvaluateOptions>();
    command->add_option("run", o->run, "The run folder")->required();
    command->add_option("--data", o->data, "Prepared dataset (default: the one the run was trained on; the default subject for a shipped model)");
    command->add_option("--out", o->out, "Report folder (default RUN/evaluation-reconstruction)");
    add_sampler_options(command, o->sampler, kSchedule);
    command->add_option("--limit", o->limit, "Score only the first N test images");
    command->add_option("--split", o->split, "test (default; the final numbers) or validation (the training images a run held out, to choose settings on)")
        ->check(CLI::IsMember({"test", "validation"}));
    command->add_option("--metric-nets", o->metric_nets,
                        "Folder with the field's metric networks (AlexNet, Inception v3, EfficientNet-B1, SwAV ResNet-50, CLIP ViT-L/14; docs/nsd-metrics.md "
                        "lists the files): their columns of the standard table are n/a without them")
        ->check(CLI::ExistingDirectory);
    add_stable_diffusion_options(command, o->stable_diffusion);
    add_plugins_option(command, o->plugins);
    add_device_option(command, o->device);
    return {command, [o] {
                return reporting_errors("evaluate", true, [&] {
                    soul::EvaluateOptions options = *o;
                    options.data = data_or_default(options.run, options.data);
                    std::cout << soul::evaluate_reconstructions(options, terminal_progress());
                });
            }};
}

}  // namespace cli
