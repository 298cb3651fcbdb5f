#include "soul/default_subject.h"

#include "soul/data_paths.h"
#include "soul/error.h"
#include "soul/nsd_layout.h"
#include "soul/phantom.h"
#include "soul/prepare.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace fs = std::filesystem;

namespace soul {

namespace {

std::string environment(const char* name) {
    const char* value = std::getenv(name);
    return value && *value ? value : "";
}

// The folder is created (with its parents) and a file can be written in it.
void require_writable(const fs::path& folder) {
    const std::string fix = "set XDG_DATA_HOME (or SOUL_PHANTOM_DIR and SOUL_PREPARED_DIR) to a folder you can write";
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec || !fs::is_directory(folder))
        throw Error(folder.string(), "cannot be created for the default subject" + (ec ? " (" + ec.message() + ")" : std::string()) + ": " + fix);
    const fs::path probe = folder / ".souldiffuser-write-test";
    bool written = false;
    {
        std::ofstream test(probe);
        written = static_cast<bool>(test << "x");
    }
    fs::remove(probe, ec);
    if (!written) throw Error(folder.string(), "is not writable: " + fix);
}

// Runs `work`; on any exception removes `partial` first, so nothing half-written stays.
template <typename Work>
void with_cleanup(const fs::path& partial, Work&& work) {
    try {
        work();
    } catch (...) {
        std::error_code ec;
        fs::remove_all(partial, ec);
        throw;
    }
}

}  // namespace

DefaultSubject default_subject() {
    DefaultSubject s;
    s.phantom = environment("SOUL_PHANTOM_DIR");
    if (s.phantom.empty()) s.phantom = (fs::path(user_data_dir()) / "phantom").string();
    s.prepared = environment("SOUL_PREPARED_DIR");
    if (s.prepared.empty()) s.prepared = s.phantom + "-prepared-" + std::to_string(kDefaultSubjectImageSize);
    return s;
}

bool phantom_complete(const std::string& phantom_dir) {
    std::error_code ec;
    return fs::is_regular_file(fs::path(phantom_dir) / nsd::stimuli_file(), ec);
}

bool prepared_complete(const std::string& prepared_dir) {
    std::error_code ec;
    return fs::is_regular_file(fs::path(prepared_dir) / "manifest.json", ec);
}

void make_default_subject(const DefaultSubject& subject, const Progress& progress) {
    // What the phantom needs from Debian is checked before anything is written.
    PhantomOptions phantom;
    phantom.out = subject.phantom;
    if (!phantom_complete(subject.phantom)) check_phantom_inputs(phantom);
    require_writable(fs::path(subject.phantom).parent_path());
    require_writable(fs::path(subject.prepared).parent_path());

    // Two parts of one progress bar: the phantom is most of the time.
    constexpr int64_t kSteps = 1000, kPhantomSteps = 700;
    auto part = [&](int64_t offset, int64_t span, const std::string& what) {
        Progress p;
        p.cancel = progress.cancel;
        p.report = [&progress, offset, span, what](int64_t step, int64_t steps, const std::string& message) {
            progress(offset + (steps > 0 ? span * step / steps : 0), kSteps, what + ": " + message);
        };
        return p;
    };
    progress.check();
    if (!phantom_complete(subject.phantom)) {
        const fs::path partial = subject.phantom + ".partial";
        std::error_code ec;
        fs::remove_all(partial, ec);   // a run killed before it could clean up
        // Never delete a folder the user may have put there: only an empty one is replaced.
        if (fs::exists(subject.phantom, ec)) {
            if (!fs::is_directory(subject.phantom, ec) || !fs::is_empty(subject.phantom, ec))
                throw Error(subject.phantom, "is in the way of the default subject (it holds no complete phantom): "
                                             "move it away, or set SOUL_PHANTOM_DIR to another folder");
            fs::remove(subject.phantom, ec);
        }
        phantom.out = partial.string();
        with_cleanup(partial, [&] {
            generate_phantom(phantom, part(0, kPhantomSteps, "generating the phantom subject"));
            std::error_code renamed;
            fs::rename(partial, subject.phantom, renamed);
            if (renamed) throw Error(subject.phantom, "the finished phantom could not be moved here: " + renamed.message());
        });
    }
    if (!prepared_complete(subject.prepared)) {
        PrepareOptions prepare;
        prepare.nsd_root = subject.phantom;
        prepare.out = subject.prepared;
        prepare.image_size = kDefaultSubjectImageSize;
        with_cleanup(subject.prepared + ".partial",
                     [&] { prepare_dataset(prepare, part(kPhantomSteps, kSteps - kPhantomSteps, "preparing it for the shipped model")); });
    }
    progress(kSteps, kSteps, "the default subject is ready");
}

}  // namespace soul
