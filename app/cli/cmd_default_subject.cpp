// `souldiffuser default-subject`: the phantom and its preparation for the shipped model, made once
// (what the studio does on first start).
#include "commands.h"

#include "soul/default_subject.h"

#include <cstdio>
#include <memory>

namespace cli {

namespace {

void make(soul::DefaultSubject subject, const soul::Progress& progress) {
    const soul::DefaultSubject defaults = soul::default_subject();
    if (subject.prepared.empty())
        subject.prepared = subject.phantom.empty() ? defaults.prepared : subject.phantom + "-prepared-" + std::to_string(soul::kDefaultSubjectImageSize);
    if (subject.phantom.empty()) subject.phantom = defaults.phantom;
    const bool made = !soul::prepared_complete(subject.prepared) || !soul::phantom_complete(subject.phantom);
    if (made) soul::make_default_subject(subject, progress);
    std::printf("%s the default subject\n  phantom:  %s\n  prepared: %s (for the shipped model)\n", made ? "made" : "already made:",
                subject.phantom.c_str(), subject.prepared.c_str());
}

}  // namespace

Command add_default_subject(CLI::App& app) {
    auto* command = app.add_subcommand(
        "default-subject", "Make the default subject once: the phantom and its preparation for the shipped model (what the studio does on first start)");
    auto dirs = std::make_shared<soul::DefaultSubject>();
    command->add_option("--phantom", dirs->phantom, "Phantom folder (default: $SOUL_PHANTOM_DIR, else the user data dir's phantom)");
    command->add_option("--prepared", dirs->prepared, "Prepared folder (default: $SOUL_PREPARED_DIR, else <phantom>-prepared-64)");
    return {command, [dirs] {
                return reporting_interrupts("default-subject", "nothing half-written was left",
                                            [&](const soul::Progress& progress) { make(*dirs, progress); });
            }};
}

}  // namespace cli
