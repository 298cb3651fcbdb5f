// `souldiffuser evaluate-generator`: the generator with conditions from the true test stimuli (the
// oracle: the upper bound of reconstruction from fMRI).
#include "commands.h"

#include "soul/generate.h"

#include <iostream>
#include <memory>

namespace cli {

Command add_evaluate_generator(CLI::App& app) {
    auto* command = app.add_subcommand("evaluate-generator", "Score the generator with conditions from the true test stimuli (the oracle upper bound)");
    auto o = std::make_shared<soul::EvaluateGeneratorOptions>();
    command->add_option("run", o->run, "The run folder")->required();
    command->add_option("--data", o->data, "Prepared dataset (default: the one the run was trained on)");
    command->add_option("--out", o->out, "Report folder (default RUN/generator-evaluation)");
    add_sampler_options(command, o->sampler, kSchedule);
    command->add_option("--limit", o->limit, "Score only the first N test images");
    command->add_option("--split", o->split,
                        "test (default; the final numbers), validation (the training images a run held out, to choose settings on) or train (images "
                        "the generator learned from: does it draw what it saw?)")
        ->check(CLI::IsMember({"test", "validation", "train"}));
    add_device_option(command, o->device);
    return {command, [o] {
                return reporting_errors("evaluate-generator", true, [&] { std::cout << soul::evaluate_generator(*o, terminal_progress()); });
            }};
}

}  // namespace cli
