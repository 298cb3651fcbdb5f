// soul::Error — the one exception type the engine throws for bad input.
// Every message names the file (when there is one) and what is wrong with it, so that the CLI
// can print it and the studio can show it in a dialog without adding context of their own.
#pragma once

#include <stdexcept>
#include <string>

namespace soul {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
    Error(const std::string& file, const std::string& problem)
        : std::runtime_error(file + ": " + problem), file_(file) {}

    // The file the problem is about; empty when there is none.
    const std::string& file() const { return file_; }

private:
    std::string file_;
};

}  // namespace soul
