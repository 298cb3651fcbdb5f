// The local launcher of `train --nproc` (see local_ranks.h): fork and exec of this program per
// rank, a free loopback port for the rendezvous, and a watch that stops the run when a rank fails.
#include "local_ranks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace cli {

namespace {

// A port the kernel says is free now (bound to port 0 and released): the rendezvous takes it a
// moment later, as torchrun's --standalone does.
int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error(std::string("cannot open a socket for the rendezvous: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const std::string reason = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("cannot find a free port on 127.0.0.1 for the rendezvous: " + reason);
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

std::string how_it_ended(int status) {
    if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
    return "ended with exit status " + std::to_string(WEXITSTATUS(status));
}

std::string log_tail(const std::string& path, size_t lines) {
    std::ifstream in(path);
    std::vector<std::string> last;
    for (std::string line; std::getline(in, line);) {
        // Progress bars redraw with carriage returns; keep what the line ends with.
        const auto cr = line.rfind('\r');
        if (cr != std::string::npos) line = line.substr(cr + 1);
        if (line.empty()) continue;
        last.push_back(line);
        if (last.size() > lines) last.erase(last.begin());
    }
    std::string text;
    for (const auto& l : last) text += "  " + l + "\n";
    return text;
}

}  // namespace

int run_local_ranks(const LocalRanks& ranks) {
    if (ranks.count < 1) throw std::runtime_error("--nproc must be at least 1");
    const std::string master = "127.0.0.1:" + std::to_string(free_loopback_port());
    const char* tmp = std::getenv("TMPDIR");
    std::string folder_template = std::string(tmp && *tmp ? tmp : "/tmp") + "/souldiffuser-ranks-XXXXXX";
    if (!::mkdtemp(folder_template.data())) throw std::runtime_error("cannot make a folder for the ranks' logs in " + folder_template + ": " + std::strerror(errno));
    const std::string logs = folder_template;
    std::fprintf(stderr, "souldiffuser train: %d ranks meeting at %s; rank 0 reports here, the others in %s/rank<R>.log\n", ranks.count,
                 master.c_str(), logs.c_str());
    std::fflush(stderr);
    std::fflush(stdout);

    // Ctrl-C reaches every rank (one process group); the launcher waits for them to end.
    struct sigaction ignore {}, previous {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &previous);

    std::vector<pid_t> pids(static_cast<size_t>(ranks.count), -1);
    auto stop_all = [&](int signal) {
        for (pid_t pid : pids)
            if (pid > 0) ::kill(pid, signal);
    };
    for (int r = 0; r < ranks.count; ++r) {
        std::vector<std::string> args = ranks.arguments(r, master);
        args.insert(args.begin(), "souldiffuser");
        const std::string log = logs + "/rank" + std::to_string(r) + ".log";
        // Everything the child needs is made before fork: between fork and exec only
        // async-signal-safe calls (no allocation; LibTorch's threads may hold malloc's lock).
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        // The cores shared among the ranks, as torchrun does, unless the user chose.
        std::string threads = "OMP_NUM_THREADS=" + std::to_string(std::max(1u, std::thread::hardware_concurrency() / static_cast<unsigned>(ranks.count)));
        std::vector<char*> envp;
        for (char** e = environ; *e; ++e) envp.push_back(*e);
        if (!std::getenv("OMP_NUM_THREADS")) envp.push_back(threads.data());
        envp.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) {
            const std::string reason = std::strerror(errno);
            stop_all(SIGTERM);
            ::sigaction(SIGINT, &previous, nullptr);
            throw std::runtime_error("cannot start rank " + std::to_string(r) + ": " + reason);
        }
        if (pid == 0) {
            ::signal(SIGINT, SIG_DFL);
            if (r > 0) {
                const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd >= 0) {
                    ::dup2(fd, STDOUT_FILENO);
                    ::dup2(fd, STDERR_FILENO);
                    ::close(fd);
                }
            }
            ::execve("/proc/self/exe", argv.data(), envp.data());
            static const char failed[] = "souldiffuser train: a rank could not start /proc/self/exe\n";
            (void)!::write(STDERR_FILENO, failed, sizeof failed - 1);
            ::_exit(127);
        }
        pids[static_cast<size_t>(r)] = pid;
    }

    int first_failed = -1, first_status = 0, rank0_status = 0, running = ranks.count;
    std::chrono::steady_clock::time_point failed_at;
    bool killed = false;
    while (running > 0) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (int r = 0; r < ranks.count; ++r) {
                if (pids[static_cast<size_t>(r)] != pid) continue;
                pids[static_cast<size_t>(r)] = -1;
                --running;
                if (r == 0) rank0_status = status;
                const bool interrupted = WIFEXITED(status) && WEXITSTATUS(status) == 130;
                const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                if (!ok && !interrupted && first_failed < 0) {
                    first_failed = r;
                    first_status = status;
                    failed_at = std::chrono::steady_clock::now();
                    stop_all(SIGTERM);   // the others cannot go on without it
                }
            }
            continue;
        }
        if (pid < 0 && errno != EINTR) break;
        if (first_failed >= 0 && !killed &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - failed_at).count() > ranks.grace_seconds) {
            stop_all(SIGKILL);
            killed = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::sigaction(SIGINT, &previous, nullptr);

    if (first_failed >= 0) {
        std::fprintf(stderr, "souldiffuser train: rank %d of %d %s; the other ranks were stopped; the last checkpoint is kept: continue with --resume\n",
                     first_failed, ranks.count, how_it_ended(first_status).c_str());
        if (first_failed > 0) {
            const std::string log = logs + "/rank" + std::to_string(first_failed) + ".log";
            std::fprintf(stderr, "the end of %s:\n%s", log.c_str(), log_tail(log, 5).c_str());
        }
        return 1;
    }
    if (WIFEXITED(rank0_status) && WEXITSTATUS(rank0_status) == 130) return 130;
    return 0;
}

}  // namespace cli
