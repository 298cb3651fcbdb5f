// The engine → caller contract for long work (design.md §5): progress reports and cancellation.
// Plain callbacks, no Qt: the CLI draws a progress bar, the studio turns them into queued signals.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace soul {

// Set from any thread; the engine checks it between steps and stops cleanly.
class CancelToken {
public:
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

private:
    std::atomic<bool> cancelled_{false};
};

// Thrown by long calls when their token was cancelled.
struct Cancelled : std::exception {
    const char* what() const noexcept override { return "cancelled"; }
};

struct Progress {
    // step in [0, steps]; message says what is being done.
    std::function<void(int64_t step, int64_t steps, const std::string& message)> report;
    const CancelToken* cancel = nullptr;

    void operator()(int64_t step, int64_t steps, const std::string& message) const {
        if (report) report(step, steps, message);
    }
    // Throws soul::Cancelled when the caller asked to stop.
    void check() const {
        if (cancel && cancel->cancelled()) throw Cancelled();
    }
};

// Numbered steps of one long call: announces each step and honours cancellation before and
// right after the announcement, so a cancel asked for in the callback stops before that step.
class Steps {
public:
    Steps(const Progress& progress, int64_t total) : progress_(progress), total_(total) {}
    void operator()(const std::string& message) {
        progress_.check();
        progress_(step_++, total_, message);
        progress_.check();
    }
    void done() { progress_(total_, total_, "done"); }

private:
    const Progress& progress_;
    int64_t total_;
    int64_t step_ = 0;
};

}  // namespace soul
