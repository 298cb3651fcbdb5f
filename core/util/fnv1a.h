// FNV-1a, 64-bit (Fowler, Noll, Vo; the IETF draft "The FNV Non-Cryptographic Hash Algorithm"):
// the engine's one hash for identities that are not secrets — a dataset's voxel table, a text
// encoder's weights, the ridge kernel's cache key.
#pragma once

#include <cstddef>
#include <cstdint>

namespace soul {

struct Fnv1a {
    uint64_t hash = 1469598103934665603ull;   // the offset basis
    void mix(const void* data, size_t bytes) {
        for (size_t i = 0; i < bytes; ++i) hash = (hash ^ static_cast<const uint8_t*>(data)[i]) * 1099511628211ull;   // the FNV prime
    }
};

}  // namespace soul
