// The memory budget for inputs (limits.h).
#include "soul/limits.h"

#include "soul/error.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace soul {
namespace {

constexpr uint64_t kFallbackLimit = uint64_t(16) << 30;  // when the OS does not say (16 GiB)

uint64_t physical_memory() {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return kFallbackLimit;
    return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

}  // namespace

std::string gibibytes_text(uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (uint64_t(1) << 30));
    return text;
}

uint64_t input_memory_limit() {
    const char* text = std::getenv("SOUL_MEMORY_LIMIT");
    if (!text || !*text) return physical_memory();
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    uint64_t unit = 1;
    if (end && *end) {
        switch (std::toupper(static_cast<unsigned char>(*end))) {
            case 'K': unit = uint64_t(1) << 10; break;
            case 'M': unit = uint64_t(1) << 20; break;
            case 'G': unit = uint64_t(1) << 30; break;
            default: unit = 0;
        }
        if (unit && end[1] && !(std::toupper(static_cast<unsigned char>(end[1])) == 'B' && !end[2])) unit = 0;
    }
    if (!(value > 0) || value > 1e18 || unit == 0)
        throw Error("SOUL_MEMORY_LIMIT is '" + std::string(text) + "'; give a positive size in bytes or with K, M or G (e.g. 8G)");
    return static_cast<uint64_t>(value * static_cast<double>(unit));
}

void check_memory_budget(const std::string& file, uint64_t bytes, const std::string& what) {
    const uint64_t limit = input_memory_limit();
    if (bytes > limit)
        throw Error(file, what + " would need " + gibibytes_text(bytes) + " of memory, more than the input budget of " + gibibytes_text(limit) +
                              " (the machine's memory, or SOUL_MEMORY_LIMIT)");
}

uint64_t checked_product(const std::string& file, uint64_t a, uint64_t b, const std::string& what) {
    uint64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product)) throw Error(file, what + " is too large: the size overflows 64 bits");
    return product;
}

}  // namespace soul
