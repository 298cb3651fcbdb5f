// The memory guard (memory_guard.h): c10's allocator registry lets a program replace the CPU
// allocator at a higher priority (c10/core/Allocator.h, SetAllocator); ours asks the one it
// replaces for every allocation and only looks at the size first.
#include "memory_guard.h"

#include "soul/limits.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <type_traits>

namespace soul {
namespace {

// Allocations below this pass without a look: reading /proc/meminfo costs microseconds, and no
// single tensor this small can take a machine down.
constexpr uint64_t kCheckedBytes = uint64_t(256) << 20;
// One tensor may take at most 3/4 of the memory free when it is allocated: a tensor that fills the
// rest leaves nothing for its own gradient or the next layer, and Linux grants it anyway (measured:
// a 16 GiB layer on a 23 GiB machine left 0.1 GiB free).
constexpr uint64_t kUsableNumerator = 3, kUsableDenominator = 4;
// Priority above c10's default CPU allocator (0), so GetAllocator(kCPU) returns ours.
constexpr uint8_t kGuardPriority = 1;

void check_allocation(uint64_t bytes) {
    if (bytes < kCheckedBytes) return;
    const uint64_t budget = input_memory_limit();
    const uint64_t usable = available_memory() / kUsableDenominator * kUsableNumerator;
    const uint64_t limit = usable ? std::min(budget, usable) : budget;
    if (bytes <= limit) return;
    throw MemoryRefused(bytes, "a tensor of " + gibibytes_text(bytes) + " was asked for, more than the " + gibibytes_text(limit) + " " +
                                   (usable && usable < budget ? "it may take of the memory free now" : "memory budget (SOUL_MEMORY_LIMIT)"));
}

// LibTorch 2.3 made Allocator::allocate non-const and added copy_data; one shim per form, chosen
// by the signature the headers declare, so the guard compiles on 1.13 and on 2.x.
constexpr bool kConstAllocate = std::is_same_v<decltype(&c10::Allocator::allocate), c10::DataPtr (c10::Allocator::*)(size_t) const>;

// Partial specialisations over the base, so only the one used is checked against the headers.
template <class Base, bool ConstAllocate>
class GuardShim;

template <class Base>
class GuardShim<Base, true> : public Base {
public:
    explicit GuardShim(Base* inner) : inner_(inner) {}
    c10::DataPtr allocate(size_t n) const override {
        check_allocation(n);
        return inner_->allocate(n);
    }
    c10::DeleterFnPtr raw_deleter() const override { return inner_->raw_deleter(); }

protected:
    Base* inner_;
};

template <class Base>
class GuardShim<Base, false> : public Base {
public:
    explicit GuardShim(Base* inner) : inner_(inner) {}
    c10::DataPtr allocate(size_t n) override {
        check_allocation(n);
        return inner_->allocate(n);
    }
    c10::DeleterFnPtr raw_deleter() const override { return inner_->raw_deleter(); }
    void copy_data(void* dest, const void* src, std::size_t count) const override { inner_->copy_data(dest, src, count); }

protected:
    Base* inner_;
};

using MemoryGuard = GuardShim<c10::Allocator, kConstAllocate>;

}  // namespace

uint64_t available_memory() {
    std::ifstream meminfo("/proc/meminfo");
    std::string key, unit;
    uint64_t kib = 0;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024;
    return 0;
}

void install_memory_guard() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Lives as long as the process: LibTorch keeps the pointer.
        static MemoryGuard guard(c10::GetAllocator(c10::DeviceType::CPU));
        c10::SetAllocator(c10::DeviceType::CPU, &guard, kGuardPriority);
    });
}

bool is_out_of_memory(const std::exception& e) {
    if (dynamic_cast<const MemoryRefused*>(&e)) return true;
    if (!dynamic_cast<const c10::Error*>(&e)) return false;
    const std::string what = e.what();
    return what.find("not enough memory") != std::string::npos || what.find("out of memory") != std::string::npos;
}

std::string out_of_memory_text(const std::exception& e) {
    const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
    std::string text = torch_error ? torch_error->what_without_backtrace() : e.what();
    text = text.substr(0, text.find('\n'));
    return text;
}

}  // namespace soul
