// libFuzzer's entry for one target, named at compile time (SOUL_FUZZ_TARGET; tests/fuzz/CMakeLists.txt).
#include "fuzz_targets.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const soul::fuzz::Target* target = [] {
        const soul::fuzz::Target* t = soul::fuzz::find_target(SOUL_FUZZ_TARGET);
        if (!t) {
            std::fprintf(stderr, "no fuzz target named %s\n", SOUL_FUZZ_TARGET);
            std::abort();
        }
        return t;
    }();
    target->run(data, size);
    return 0;
}
