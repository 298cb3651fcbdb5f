// parallel_for: runs fn(i) for i in [begin, end) on the machine's cores, in static contiguous
// blocks. Each index must be independent of the others; results then do not depend on the
// number of threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace soul {

template <typename Fn>
void parallel_for(int64_t begin, int64_t end, Fn fn) {
    const int64_t count = end - begin;
    if (count <= 0) return;
    const int64_t threads = std::min<int64_t>(std::max(1u, std::thread::hardware_concurrency()), count);
    if (threads == 1) {
        for (int64_t i = begin; i < end; ++i) fn(i);
        return;
    }
    std::exception_ptr failure;
    std::mutex failure_mutex;
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            const int64_t lo = begin + count * t / threads, hi = begin + count * (t + 1) / threads;
            try {
                for (int64_t i = lo; i < hi; ++i) fn(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(failure_mutex);
                if (!failure) failure = std::current_exception();
            }
        });
    for (auto& thread : pool) thread.join();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace soul
