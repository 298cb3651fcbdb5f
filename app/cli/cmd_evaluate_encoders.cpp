// `souldiffuser evaluate-encoders`: a run's encoders and the flattened baseline on the test images.
#include "commands.h"

#include "soul/train.h"

#include <iostream>
#include <memory>

namespace cli {

Command add_evaluate_encoders(CLI::App& app) {
    auto* command = app.add_subcommand("evaluate-encoders", "Score a run's encoders and the flattened baseline on the held-out test images");
    auto o = std::make_shared<soul::EvaluateEncodersOptions>();
    command->add_option("run", o->run, "The run folder")->required();
    command->add_option("--data", o->data, "Prepared dataset (default: the one the run was trained on)");
    command->add_option("--out", o->out, "Report folder (default RUN/evaluation)");
    add_device_option(command, o->device);
    return {command, [o] {
                return reporting_errors("evaluate-encoders", true, [&] { std::cout << soul::evaluate_encoders(*o, terminal_progress()); });
            }};
}

}  // namespace cli
