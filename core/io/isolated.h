// Internal to core/io: running a third-party reader in a child process, so that a library that
// crashes on a malformed file (libhdf5 does: found by fuzzing, docs/reliability.md) ends in a
// message instead of taking the program down.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace soul {

// Runs `work` in a forked child process with `bytes` of memory shared with this process, then
// `finish` here on the same memory. A soul::Error thrown by `work` comes back as the same message;
// any other exception, or the child dying on a signal, becomes a soul::Error naming `path`. With a
// timeout (seconds, > 0), a child still running then is killed and that is the error.
void run_isolated(const std::string& path, size_t bytes, const std::function<void(void* shared)>& work,
                  const std::function<void(const void* shared)>& finish, double timeout_seconds = 0);

}  // namespace soul
