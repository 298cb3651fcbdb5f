// `souldiffuser prepare`: an NSD subject, the phantom or a generic-layout dataset made ready for
// training: z-scored, cropped, split, memory-mapped (docs/datasets.md).
#include "commands.h"

#include "soul/error.h"
#include "soul/prepare.h"

#include <cstdio>
#include <memory>

namespace cli {

namespace {

struct PrepareArgs {
    soul::PrepareOptions options;
    std::string sessions;   // "A-B" or "A"
};

void prepare(PrepareArgs a) {
    if (!a.sessions.empty()) {
        int first = 0, last = 0;
        if (std::sscanf(a.sessions.c_str(), "%d-%d", &first, &last) == 2) {
            a.options.first_session = first;
            a.options.last_session = last;
        } else if (std::sscanf(a.sessions.c_str(), "%d", &first) == 1) {
            a.options.first_session = a.options.last_session = first;
        } else {
            throw soul::Error("--sessions must be A-B, not '" + a.sessions + "'");
        }
    }
    const soul::PrepareOptions& o = a.options;
    const soul::PrepareSummary s = soul::prepare_dataset(o, terminal_progress());
    if (s.already_prepared) {
        std::printf("%s is already prepared with these parameters; nothing to do\n", o.out.c_str());
        return;
    }
    std::printf("prepared %s in %.1f s: %d sessions (%d reused from an interrupted run), %lld voxels, %lld training trials, "
                "%lld test images, %lld images\n",
                o.out.c_str(), s.seconds, s.sessions, s.sessions_reused, static_cast<long long>(s.voxels),
                static_cast<long long>(s.train_trials), static_cast<long long>(s.test_images), static_cast<long long>(s.images));
}

}  // namespace

Command add_prepare(CLI::App& app) {
    auto* command = app.add_subcommand(
        "prepare", "Prepare an NSD subject, the phantom or a generic-layout dataset for training: z-scored, cropped, split, memory-mapped");
    auto a = std::make_shared<PrepareArgs>();
    soul::PrepareOptions& o = a->options;
    command->add_option("--nsd,--root", o.nsd_root, "NSD root, a phantom folder, or a generic-layout folder (docs/datasets.md)")->required();
    command->add_option("--layout", o.layout, "auto (default: trials.csv present means generic), nsd or generic");
    command->add_option("--subject", o.subject, "Subject 1-8 (default 1)");
    command->add_option("--out", o.out, "Folder for the prepared dataset")->required();
    command->add_option("--sessions", a->sessions, "A-B (default: every session present)");
    command->add_option("--betas", o.betas_format, "nifti (default) or hdf5");
    command->add_option("--image-size", o.image_size, "Side of the stored images in pixels (default 256)");
    command->add_option("--shared", o.shared, "complete (shown 3 times; NSD's 982) or all (1000)");
    command->add_option("--coco", o.coco_dir, "Folder of COCO captions_*.json (default <nsd>/annotations)");
    return {command, [a] { return reporting_errors("prepare", true, [&] { prepare(*a); }); }};
}

}  // namespace cli
