// CRC-32 checksums (soul/checksum.h), through zlib.
#include "soul/checksum.h"

#include "soul/error.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <vector>

namespace soul {

uint32_t crc32_update(uint32_t crc, const void* data, size_t bytes) {
    const auto* p = static_cast<const Bytef*>(data);
    uLong value = crc;
    while (bytes > 0) {   // zlib takes at most 4 GiB at a time
        const size_t n = std::min<size_t>(bytes, std::numeric_limits<uInt>::max());
        value = crc32(value, p, static_cast<uInt>(n));
        p += n;
        bytes -= n;
    }
    return static_cast<uint32_t>(value);
}

std::string checksum_text(uint32_t crc) {
    char text[16];
    std::snprintf(text, sizeof text, "%08lx", static_cast<unsigned long>(crc));
    return std::string("crc32:") + text;
}

std::string file_checksum(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot be opened to check its checksum");
    std::vector<char> buffer(1 << 20);
    uint32_t crc = 0;
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
        crc = crc32_update(crc, buffer.data(), static_cast<size_t>(in.gcount()));
    return checksum_text(crc);
}

}  // namespace soul
