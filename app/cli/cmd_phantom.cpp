// `souldiffuser phantom`: a synthetic NSD subject with known ground truth (docs/phantom.md).
#include "commands.h"

#include "soul/labels.h"
#include "soul/phantom.h"

#include <cstdio>
#include <memory>

namespace cli {

namespace {

void write_phantom(const soul::PhantomOptions& options) {
    const soul::PhantomSummary s = soul::generate_phantom(options, terminal_progress());
    std::printf("phantom subject written to %s in %.1f s\n", options.out.c_str(), s.seconds);
    std::printf("  %d sessions, %lld trials, %lld images (%lld shared, shown 3 times)\n", s.sessions, static_cast<long long>(s.trials),
                static_cast<long long>(s.images), static_cast<long long>(s.shared_images));
    std::printf("  grid %lld x %lld x %lld at 1.8 mm, %lld brain voxels, %lld visual (nsdgeneral) voxels\n", static_cast<long long>(s.grid[0]),
                static_cast<long long>(s.grid[1]), static_cast<long long>(s.grid[2]), static_cast<long long>(s.brain_voxels),
                static_cast<long long>(s.visual_voxels));
    const soul::LabelTable streams = soul::nsd_streams_table();
    std::printf("  voxels per stream:");
    for (int code = 1; code <= 7; ++code)
        std::printf(" %s %lld%s", streams.name_of(code).c_str(), static_cast<long long>(s.stream_voxels[static_cast<size_t>(code)]),
                    code < 7 ? "," : "\n");
}

}  // namespace

Command add_phantom(CLI::App& app) {
    auto* command = app.add_subcommand("phantom", "Write the phantom subject: a synthetic NSD subject with known ground truth");
    auto o = std::make_shared<soul::PhantomOptions>();
    command->add_option("--out", o->out, "Folder to write the subject to (NSD layout)")->required();
    command->add_option("--seed", o->seed, "Random seed (same seed, same bytes)");
    command->add_option("--sessions", o->sessions, "Sessions of 750 trials (default: small 4, full 16)");
    command->add_option("--snr", o->snr, "Mean over visual voxels of signal SD / single-trial noise SD (default 0.4)");
    command->add_option("--size", o->size, "small (100 shared images) or full (1000 shared, ~10k images)");
    command->add_option("--image-size", o->image_size, "Stimulus side in pixels (default 128)");
    return {command, [o] { return reporting_errors("phantom", true, [&] { write_phantom(*o); }); }};
}

}  // namespace cli
