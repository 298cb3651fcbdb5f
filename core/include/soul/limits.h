// The memory budget for inputs: a file whose header asks for more memory than the budget is
// refused, with a message, before anything is allocated (a 120-byte file must not be able to ask
// for gigabytes). The budget is the machine's physical memory unless SOUL_MEMORY_LIMIT says
// otherwise (bytes, or with a K, M or G suffix: "8G").
#pragma once

#include <cstdint>
#include <string>

namespace soul {

uint64_t input_memory_limit();

// "12.5 GiB", for messages about memory.
std::string gibibytes_text(uint64_t bytes);

// Throws soul::Error(file, ...) when `bytes` of memory for `what` exceed the budget.
void check_memory_budget(const std::string& file, uint64_t bytes, const std::string& what);

// a × b, or throws soul::Error(file, ...) naming `what` when the product does not fit 64 bits.
uint64_t checked_product(const std::string& file, uint64_t a, uint64_t b, const std::string& what);

}  // namespace soul
