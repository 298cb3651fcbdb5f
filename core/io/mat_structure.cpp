// A structural check of MATLAB v5 files before matio reads them (MathWorks, "MAT-File Format",
// 2023: a 128-byte header, then data elements of an 8-byte tag — type, byte count — and their
// data; a compressed element holds one zlib-deflated element). matio allocates what the tags say
// before reading, so a 300-byte file can ask it for gigabytes (found by fuzzing, docs/reliability.md):
// every element's size is checked here against what contains it, and inflated data against the
// memory budget.
#include "mat_structure.h"

#include "soul/error.h"
#include "soul/limits.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace soul {
namespace {

constexpr size_t kHeaderBytes = 128;       // descriptive text, subsystem offset, version, endian
constexpr uint32_t kMiMatrix = 14;         // an array (numeric, char, cell, struct, …)
constexpr uint32_t kMiCompressed = 15;     // one deflated element
constexpr uint16_t kVersion5 = 0x0100;
constexpr uint16_t kVersion73 = 0x0200;    // an HDF5 file with a MAT header: HDF5 checks its own
constexpr int kMaxNesting = 32;            // cells of structs of cells …: deeper is not a real file
constexpr uint32_t kMiInt32 = 5, kMiUint32 = 6;
// A sparse array stores only its non-zeros: its dimensions are not bounded by its size.
constexpr uint32_t kMxSparse = 5;
// Objects, function handles and opaque classes: never in a design file, and matio sizes them by
// dimensions it does not check.
constexpr uint32_t kMxObject = 3, kMxFunction = 16, kMxOpaque = 17;

struct Reader {
    const std::string& path;
    bool swap;

    uint32_t u32(const uint8_t* p) const {
        uint32_t v;
        std::memcpy(&v, p, 4);
        return swap ? __builtin_bswap32(v) : v;
    }
    [[noreturn]] void damaged(const std::string& what) const { throw Error(path, "is a damaged MATLAB file: " + what); }

    // The elements in [data, data + size): each tag's byte count within its container; arrays'
    // sub-elements checked the same way, compressed elements inflated and checked.
    void elements(const uint8_t* data, size_t size, int depth, bool inside_array) const {
        if (depth > kMaxNesting) damaged("arrays nested more than " + std::to_string(kMaxNesting) + " deep");
        size_t at = 0;
        while (at < size) {
            if (size - at < 8) {
                if (inside_array) damaged("an element tag is cut short");
                return;   // trailing padding at the end of the file
            }
            const uint32_t type_word = u32(data + at);
            if ((type_word >> 16) != 0) {   // the small-element form: 4 bytes of data inside the tag
                if ((type_word >> 16) > 4) damaged("a small element claims " + std::to_string(type_word >> 16) + " bytes");
                at += 8;
                continue;
            }
            const uint64_t bytes = u32(data + at + 4);
            if (bytes > size - at - 8)
                damaged("an element at byte " + std::to_string(at) + " claims " + std::to_string(bytes) + " bytes; " +
                        std::to_string(size - at - 8) + " remain");
            const uint8_t* body = data + at + 8;
            if (type_word == kMiCompressed) {
                if (inside_array) damaged("a compressed element inside an array");
                const std::vector<uint8_t> inflated = inflate_element(body, static_cast<size_t>(bytes));
                elements(inflated.data(), inflated.size(), depth + 1, false);
            } else if (type_word == kMiMatrix) {
                array_header(body, static_cast<size_t>(bytes));
                elements(body, static_cast<size_t>(bytes), depth + 1, true);
            }
            // Data elements are padded to 8 bytes; a compressed element is not.
            const uint64_t padded = type_word == kMiCompressed ? bytes : (bytes + 7) / 8 * 8;
            at += 8 + static_cast<size_t>(std::min<uint64_t>(padded, size - at - 8));
        }
    }

    // An array's flags and dimensions: every stored value takes at least one byte, so the
    // dimensions' product cannot exceed the array's size (matio allocates by the dimensions).
    void array_header(const uint8_t* data, size_t size) const {
        if (size == 0) return;   // an empty array (cells use them)
        if (size < 24 || u32(data) != kMiUint32 || u32(data + 4) != 8) damaged("an array does not start with its flags");
        const uint32_t array_class = u32(data + 8) & 0xff;
        if (u32(data + 16) != kMiInt32) damaged("an array's dimensions are not 32-bit integers");
        const uint32_t dims_bytes = u32(data + 20);
        if (dims_bytes < 8 || dims_bytes % 4 != 0 || dims_bytes > size - 24) damaged("an array's dimensions take " + std::to_string(dims_bytes) + " bytes");
        if (array_class == kMxObject || array_class == kMxFunction || array_class == kMxOpaque)
            throw Error(path, "holds a MATLAB object or function handle (class " + std::to_string(array_class) + "), which is not read");
        if (array_class == kMxSparse) return;
        uint64_t count = 1;
        for (uint32_t d = 0; d < dims_bytes / 4; ++d) {
            const int32_t dim = static_cast<int32_t>(u32(data + 24 + 4 * d));
            if (dim < 0) damaged("an array has dimension " + std::to_string(dim));
            constexpr uint64_t kCap = uint64_t(1) << 62;   // far above any size; keeps the product in 64 bits
            count = dim == 0 ? 0 : count > kCap / static_cast<uint64_t>(dim) ? kCap : count * static_cast<uint64_t>(dim);
        }
        if (count > size)
            damaged("an array of " + std::to_string(size) + " bytes claims " + std::to_string(count) + " values");
    }

    std::vector<uint8_t> inflate_element(const uint8_t* data, size_t size) const {
        z_stream z{};
        if (inflateInit(&z) != Z_OK) damaged("zlib cannot start");
        z.next_in = const_cast<Bytef*>(data);
        z.avail_in = static_cast<uInt>(size);
        std::vector<uint8_t> out;
        std::vector<uint8_t> chunk(1 << 16);
        int status = Z_OK;
        while (status == Z_OK) {
            z.next_out = chunk.data();
            z.avail_out = static_cast<uInt>(chunk.size());
            status = inflate(&z, Z_NO_FLUSH);
            const size_t got = chunk.size() - z.avail_out;
            if (status == Z_BUF_ERROR && got == 0) break;   // the input ended before the stream did
            try {
                check_memory_budget(path, out.size() + got, "a compressed variable");
            } catch (...) {
                inflateEnd(&z);
                throw;
            }
            out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
        }
        inflateEnd(&z);
        if (status != Z_STREAM_END) damaged("a compressed variable does not inflate (truncated or corrupt)");
        return out;
    }
};

}  // namespace

void check_mat_structure(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot be opened for reading");
    in.seekg(0, std::ios::end);
    const uint64_t file_bytes = static_cast<uint64_t>(in.tellg());
    in.seekg(0);
    if (file_bytes < kHeaderBytes) throw Error(path, "is not a MATLAB v5 or v7.3 file (shorter than the 128-byte header)");
    uint8_t header[kHeaderBytes];
    in.read(reinterpret_cast<char*>(header), kHeaderBytes);
    const bool little = header[126] == 'I' && header[127] == 'M', big = header[126] == 'M' && header[127] == 'I';
    if (!little && !big) throw Error(path, "is not a MATLAB v5 or v7.3 file (no endian mark at byte 126; MATLAB v4 files are not read)");
    uint16_t version = static_cast<uint16_t>(little ? header[124] | header[125] << 8 : header[125] | header[124] << 8);
    if (version == kVersion73) return;
    if (version != kVersion5) throw Error(path, "is a MATLAB file of unknown version 0x" + std::to_string(version));
    check_memory_budget(path, file_bytes, "the file");
    std::vector<uint8_t> data(static_cast<size_t>(file_bytes - kHeaderBytes));
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!in) throw Error(path, "could not be read completely");
    const Reader reader{path, big};
    reader.elements(data.data(), data.size(), 0, false);
}

}  // namespace soul
