// Reading in a child process (see isolated.h). The child writes its result into an anonymous
// shared mapping and an error message, if any, into a pipe; it leaves with _exit so that nothing
// of this process's (atexit handlers, static destructors, buffered output) runs twice.
#include "isolated.h"

#include "soul/error.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

namespace soul {
namespace {

constexpr int kExitError = 3;   // the child's exit code when it reports a message

void write_all(int fd, const std::string& text) {
    size_t at = 0;
    while (at < text.size()) {
        const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
        if (n <= 0 && errno != EINTR) return;
        if (n > 0) at += static_cast<size_t>(n);
    }
}

// Owns the shared mapping.
struct SharedMemory {
    void* data = MAP_FAILED;
    size_t size = 0;
    explicit SharedMemory(size_t bytes) : size(bytes ? bytes : 1) {
        data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    }
    ~SharedMemory() {
        if (data != MAP_FAILED) ::munmap(data, size);
    }
};

}  // namespace

void run_isolated(const std::string& path, size_t bytes, const std::function<void(void* shared)>& work,
                  const std::function<void(const void* shared)>& finish, double timeout_seconds) {
    SharedMemory shared(bytes);
    if (shared.data == MAP_FAILED) throw Error(path, std::string("cannot map memory to read it into: ") + std::strerror(errno));
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) throw Error(path, std::string("cannot start its reader: ") + std::strerror(errno));
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        throw Error(path, std::string("cannot start its reader: ") + std::strerror(errno));
    }
    if (child == 0) {
        ::close(pipe_fds[0]);
        // A crash ends the child with its signal, for the parent to report: whatever handlers this
        // process installed (a sanitizer's, a fuzzer's) are not the child's business.
        for (const int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(s, SIG_DFL);
        int code = 0;
        try {
            work(shared.data);
        } catch (const Error& e) {
            write_all(pipe_fds[1], e.what());
            code = kExitError;
        } catch (const std::exception& e) {
            write_all(pipe_fds[1], path + ": cannot be read: " + e.what());
            code = kExitError;
        } catch (...) {
            write_all(pipe_fds[1], path + ": cannot be read (an unknown error in its reader)");
            code = kExitError;
        }
        ::_exit(code);
    }
    ::close(pipe_fds[1]);
    // The child's message, until it closes the pipe (it ends); with a timeout, no longer than that.
    std::string message;
    char buffer[4096];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
    bool timed_out = false;
    for (;;) {
        if (timeout_seconds > 0) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
            pollfd readable{pipe_fds[0], POLLIN, 0};
            const int ready = left > 0 ? ::poll(&readable, 1, static_cast<int>(std::min<long long>(left, 1000))) : 0;
            if (ready < 0 && errno == EINTR) continue;
            if (ready == 0) {
                if (left > 0) continue;
                timed_out = true;
                ::kill(child, SIGKILL);
                break;
            }
        }
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n > 0) message.append(buffer, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
        throw Error(path, "cannot be read: its reader did not finish in " + std::to_string(static_cast<int>(timeout_seconds)) + " s and was stopped");
    if (WIFSIGNALED(status))
        throw Error(path, "is damaged: the library reading it crashed on it (signal " + std::to_string(WTERMSIG(status)) + ", " +
                              strsignal(WTERMSIG(status)) + ")");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (message.empty()) throw Error(path, "cannot be read (its reader stopped with code " + std::to_string(WEXITSTATUS(status)) + ")");
        const std::string prefix = path + ": ";
        if (message.compare(0, prefix.size(), prefix) == 0) throw Error(path, message.substr(prefix.size()));
        throw Error(message);
    }
    finish(shared.data);
}

}  // namespace soul
