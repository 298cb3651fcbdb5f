// souldiffuser — the command line of SoulDiffuser Studio. One file per subcommand (commands.h);
// every subcommand prints bad-input problems as one line on stderr, naming the file and what is
// wrong, and exits non-zero.
#include "commands.h"

#include "soul/runtime.h"
#include "soul/version.h"

#include <vector>

int main(int argc, char** argv) {
    CLI::App app{"SoulDiffuser Studio command line: reconstruct seen images from 3D fMRI volumes"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("souldiffuser ") + SOUL_VERSION);
    const std::vector<cli::Command> commands = {
        cli::add_info(app),           cli::add_labels(app),      cli::add_phantom(app),           cli::add_prepare(app),
        cli::add_inspect(app),        cli::add_train(app),       cli::add_evaluate_encoders(app), cli::add_generate(app),
        cli::add_evaluate_generator(app), cli::add_reconstruct(app), cli::add_evaluate(app),     cli::add_decoders(app),
        cli::add_export_targets(app), cli::add_export_model(app),
        cli::add_export(app),         cli::add_env(app),         cli::add_default_subject(app),   cli::add_encode_text(app), cli::add_autoencode(app),
    };
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    // LibTorch's CPU threads = the cores (Debian's build starts with one); the device is chosen once.
    soul::init_compute_threads();
    for (const cli::Command& command : commands)
        if (*command.app) return command.run();
    return 0;
}
