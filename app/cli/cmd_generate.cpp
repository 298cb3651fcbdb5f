// `souldiffuser generate`: images from a run's diffusion generator, from a caption, a palette, an
// edge map and a start image (docs/generator.md).
#include "commands.h"

#include "soul/generate.h"

#include <iostream>
#include <memory>

namespace cli {

Command add_generate(CLI::App& app) {
    auto* command = app.add_subcommand("generate",
                                       "Generate images with a run's diffusion generator (or the user's Stable Diffusion) from a caption, a palette, an edge map and a start image");
    auto o = std::make_shared<soul::GenerateOptions>();
    auto* run = command->add_option("--model", o->run, "The run folder (souldiffuser train)");
    run->excludes(add_stable_diffusion_options(command, o->stable_diffusion));
    command->add_option("--out", o->out, "Folder for sample-<k>.png")->required();
    command->add_option("--caption", o->caption, "The caption (empty: unconditional)");
    command->add_option("--palette-from", o->palette_from, "Image whose 8×8 colour palette guides the colours (PNG/JPEG)");
    command->add_option("--edges-from", o->edges_from, "Image whose edge map guides the layout (PNG/JPEG)");
    command->add_option("--init", o->init, "Start image for img2img (PNG/JPEG)");
    add_sampler_options(command, o->sampler, kSamplesAndConditions);
    command->add_flag("--previews", o->previews, "Also write every step's decoded latent and predicted image");
    add_device_option(command, o->device);
    return {command, [o] {
                return reporting_errors("generate", true, [&] {
                    for (const auto& path : soul::generate_images(*o, terminal_progress())) std::cout << path << "\n";
                });
            }};
}

}  // namespace cli
