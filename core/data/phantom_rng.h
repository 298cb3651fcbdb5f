// Deterministic random numbers for the phantom: every draw comes from a stream keyed by what it
// is for (seed, purpose, index), so results do not depend on thread count or generation order.
#pragma once

#include <cmath>
#include <cstdint>

namespace soul::phantom {

// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014).
inline uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

inline uint64_t key(uint64_t seed, uint64_t purpose, uint64_t index = 0) {
    return splitmix(splitmix(splitmix(seed) ^ purpose) ^ index);
}

class Rng {
public:
    explicit Rng(uint64_t state) : state_(state) {}
    uint64_t next() { return state_ = splitmix(state_); }
    double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }          // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    int64_t below(int64_t n) { return static_cast<int64_t>(uniform() * static_cast<double>(n)); }
    double normal() {
        // Box–Muller; the second value is kept for the next call.
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u = uniform(), v = uniform();
        if (u < 1e-300) u = 1e-300;
        const double r = std::sqrt(-2.0 * std::log(u)), a = 6.283185307179586 * v;
        spare_ = r * std::sin(a);
        has_spare_ = true;
        return r * std::cos(a);
    }

private:
    uint64_t state_;
    double spare_ = 0;
    bool has_spare_ = false;
};

// Purposes (arbitrary distinct constants).
enum Purpose : uint64_t {
    kScenePurpose = 0x5ce4e,
    kCaptionPurpose = 0xca9710,
    kSchedulePurpose = 0x5c4ed,
    kNoisePurpose = 0x9015e,
    kFieldPurpose = 0xf1e1d,
    kPatchPurpose = 0xba7c4,
    kOffsetPurpose = 0x0ff5e7,
};

}  // namespace soul::phantom
