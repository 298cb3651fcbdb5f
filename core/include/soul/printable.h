// Text read from a file, made fit to quote in a one-line error message (soul/error.h).
#pragma once

#include <cstdio>
#include <string>

namespace soul {

// Control characters escaped (\x0a), and cut to `limit` bytes: a name or a cell from a damaged
// file can hold anything, and the message must stay one line.
inline std::string printable(const std::string& text, size_t limit = 80) {
    std::string out;
    for (const char c : text.substr(0, limit)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    return text.size() > limit ? out + "..." : out;
}

}  // namespace soul
