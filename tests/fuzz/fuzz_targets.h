// The fuzz targets (docs/reliability.md, "Fuzzing"): each takes arbitrary bytes, writes them where
// a reader expects a file, and runs the reader the way the program does. The contract they check:
// bad bytes end in soul::Error whose message is one line naming the file; anything else (another
// exception, a crash, a sanitizer finding, a message that names no file) is a bug. libFuzzer
// runs them (tools/fuzz.sh) and the `fuzz_replay` suite replays every saved input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace soul::fuzz {

using TargetFunction = void (*)(const uint8_t* data, size_t size);

struct Target {
    const char* name;
    TargetFunction run;
    const char* what;   // the readers it reaches
};

// Every target, by name; tests/fuzz/corpus/<name>/ holds its seeds.
const std::vector<Target>& targets();
const Target* find_target(const std::string& name);

// The targets' shared parts: a private scratch folder for this process (under $TMPDIR), a file
// written into it, and the contract check on a caught soul::Error.
const std::string& scratch_folder();
std::string write_scratch(const std::string& name, const uint8_t* data, size_t size);
void check_message(const std::string& message);

// Inputs that pack several files: parts separated by the line kPartSeparator.
std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t parts);
inline constexpr const char* kPartSeparator = "\n--soul-fuzz-part--\n";

}  // namespace soul::fuzz

#include "soul/error.h"

namespace soul::fuzz {

// How many reads have ended without an error, over all targets (the replay suite checks that
// some seeds are read cleanly).
int64_t clean_reads();
void count_clean_read();

// Runs `read`; a soul::Error must keep the contract, any other exception escapes (a bug).
template <class Read>
void expect_clean(Read&& read) {
    try {
        read();
        count_clean_read();
    } catch (const soul::Error& e) {
        check_message(e.what());
    }
}

void nifti(const uint8_t* data, size_t size);
void mat(const uint8_t* data, size_t size);
void hdf5(const uint8_t* data, size_t size);
void tables(const uint8_t* data, size_t size);
void image(const uint8_t* data, size_t size);
void weights(const uint8_t* data, size_t size);
void prepared(const uint8_t* data, size_t size);
// Needs LibTorch: only in the builds that link soul_fuzz_checkpoint (SOUL_FUZZ_CHECKPOINT).
void checkpoint(const uint8_t* data, size_t size);
// Valid checkpoints of every form the loader takes, written under `dir`: (name, bytes).
std::vector<std::pair<std::string, std::string>> checkpoint_seeds(const std::string& dir);

}  // namespace soul::fuzz
