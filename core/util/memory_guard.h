// The memory guard: LibTorch's CPU allocator, wrapped so that one allocation larger than the
// memory the machine has free (or than the budget of soul/limits.h) is refused with a message
// before it is made. Without it, a config the validator accepts can ask for a 17 GB tensor:
// Linux grants the allocation, the first write to it pages the machine into the OOM killer, and
// the user sees the process die, not a message. Small allocations pass straight through.
#pragma once

#include "soul/error.h"

#include <cstdint>
#include <exception>
#include <string>

namespace soul {

// Thrown from inside LibTorch when the guard refuses an allocation; callers that know which file
// asked for it (the trainer: the config) add its name.
class MemoryRefused : public Error {
public:
    MemoryRefused(uint64_t bytes, const std::string& message) : Error(message), bytes_(bytes) {}
    uint64_t bytes() const { return bytes_; }

private:
    uint64_t bytes_;
};

// What the machine can still allocate without swapping (MemAvailable), or 0 where it does not say.
uint64_t available_memory();

// Wraps the CPU allocator once per process (init_compute_threads calls it); later calls do nothing.
void install_memory_guard();

// Whether the exception is LibTorch's own out-of-memory (CPU or CUDA) or the guard's refusal.
bool is_out_of_memory(const std::exception& e);
// Its message on one line, without LibTorch's backtrace.
std::string out_of_memory_text(const std::exception& e);

}  // namespace soul
