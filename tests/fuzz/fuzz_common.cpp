// The fuzz targets' shared parts (see fuzz_targets.h).
#include "fuzz_targets.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace soul::fuzz {

namespace {

// Inputs may ask for a lot of memory; the budget (soul/limits.h) keeps them under libFuzzer's
// 2 GB RSS limit, so that a refused request is what is tested, not the machine's size.
constexpr const char* kFuzzMemoryLimit = "256M";

[[noreturn]] void contract_broken(const std::string& why, const std::string& message) {
    std::fprintf(stderr, "fuzz contract broken: %s\n  message: %s\n", why.c_str(), message.c_str());
    std::abort();
}

std::atomic<int64_t> g_clean_reads{0};

}  // namespace

int64_t clean_reads() { return g_clean_reads.load(); }
void count_clean_read() { ++g_clean_reads; }

const std::string& scratch_folder() {
    // Made on first use; removed, with what the last input left there, when the program ends.
    struct Folder {
        std::string path;
        Folder() {
            setenv("SOUL_MEMORY_LIMIT", kFuzzMemoryLimit, 0);
            path = (fs::temp_directory_path() / "soul-fuzz-XXXXXX").string();
            if (!mkdtemp(path.data())) {
                std::perror("soul fuzz: mkdtemp");
                std::abort();
            }
        }
        ~Folder() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    };
    static const Folder folder;
    return folder.path;
}

std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
    const fs::path path = fs::path(scratch_folder()) / name;
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) {
        std::fprintf(stderr, "soul fuzz: cannot write %s\n", path.c_str());
        std::abort();
    }
    return path.string();
}

void check_message(const std::string& message) {
    if (message.empty()) contract_broken("empty error message", message);
    if (message.find('\n') != std::string::npos) contract_broken("the message is more than one line", message);
    if (message.find(scratch_folder()) == std::string::npos) contract_broken("the message names no file", message);
}

std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t parts) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> out;
    size_t start = 0;
    while (out.size() + 1 < parts) {
        const size_t at = bytes.find(kPartSeparator, start);
        if (at == std::string::npos) break;
        out.push_back(bytes.substr(start, at - start));
        start = at + std::strlen(kPartSeparator);
    }
    out.push_back(bytes.substr(start));
    out.resize(parts);
    return out;
}

}  // namespace soul::fuzz
