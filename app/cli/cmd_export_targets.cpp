// `souldiffuser export-targets`: a run's training targets as NumPy files, for training a decoder
// plugin in Python (docs/decoder-plugins.md).
#include "commands.h"

#include "soul/reconstruct.h"

#include <iostream>
#include <memory>

namespace cli {

Command add_export_targets(CLI::App& app) {
    auto* command = app.add_subcommand(
        "export-targets", "Write what a decoder plugin learns to give (images, palettes, edges, caption embeddings of the training images) as NumPy files");
    auto o = std::make_shared<soul::DecoderTargetsOptions>();
    command->add_option("--model", o->run, "The run folder or a model (default: the shipped one)");
    command->add_option("--data", o->data, "Prepared dataset (default: the one the run was trained on; the default subject for the shipped model)");
    command->add_option("--out", o->out, "Folder for targets.json and the .npy files")->required();
    return {command, [o] {
                return reporting_errors("export-targets", true, [&] {
                    soul::DecoderTargetsOptions options = *o;
                    options.run = model_or_shipped(options.run);
                    options.data = data_or_default(options.run, options.data);
                    for (const auto& file : soul::export_decoder_targets(options, terminal_progress())) std::cout << file << "\n";
                });
            }};
}

}  // namespace cli
