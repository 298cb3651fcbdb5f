// The subcommands of `souldiffuser`, one file each: each registers its options on the app and
// returns what runs it (cli_common.h). main.cpp lists them in the order `--help` shows.
#pragma once

#include "cli_common.h"

namespace cli {

Command add_info(CLI::App& app);
Command add_labels(CLI::App& app);
Command add_phantom(CLI::App& app);
Command add_prepare(CLI::App& app);
Command add_inspect(CLI::App& app);
Command add_train(CLI::App& app);
Command add_evaluate_encoders(CLI::App& app);
Command add_generate(CLI::App& app);
Command add_evaluate_generator(CLI::App& app);
Command add_reconstruct(CLI::App& app);
Command add_evaluate(CLI::App& app);
Command add_decoders(CLI::App& app);
Command add_export_targets(CLI::App& app);
Command add_export_model(CLI::App& app);
Command add_export(CLI::App& app);
Command add_env(CLI::App& app);
Command add_default_subject(CLI::App& app);
Command add_encode_text(CLI::App& app);
Command add_autoencode(CLI::App& app);

}  // namespace cli
