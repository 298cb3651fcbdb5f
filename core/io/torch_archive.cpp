// LibTorch archives checked before LibTorch reads them (torch_archive.h).
#include "torch_archive.h"
#include "zip_records.h"

#include "soul/error.h"
#include "soul/limits.h"
#include "soul/printable.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

namespace soul {
namespace {

// Pickles in a checkpoint are kilobytes; one this large is not scanned for lengths (its CRC is
// still checked, and LibTorch reads it under the memory budget).
constexpr uint64_t kMaxScannedPickle = uint64_t(64) << 20;
using zip::le;

// Walks a pickle's opcodes and checks that every length-prefixed argument lies inside the record.
// An opcode this walker does not know ends the walk: LibTorch's unpickler refuses it itself.
void check_pickle(zip::ArchiveFile& file, const std::string& name, const std::vector<uint8_t>& p) {
    auto short_of = [&](uint64_t at, uint64_t length) {
        file.damaged("its pickle '" + printable(name) + "' claims " + std::to_string(length) + " bytes at byte " + std::to_string(at) + " of " +
                     std::to_string(p.size()));
    };
    uint64_t at = 0;
    while (at < p.size()) {
        const uint8_t op = p[at++];
        const uint64_t left = p.size() - at;
        uint64_t skip = 0;
        switch (op) {
            // No argument.
            case '(': case '0': case '1': case '2': case 'N': case 0x88: case 0x89: case ']': case 'a': case 'e': case 'l': case ')':
            case 't': case 0x85: case 0x86: case 0x87: case '}': case 'd': case 's': case 'u': case 0x8f: case 0x90: case 0x91:
            case 'R': case 'b': case 0x81: case 0x92: case 0x93: case 0x94: case 'Q': case 'o': case 0x97: case 0x98:
                break;
            case '.': return;   // STOP
            // Fixed-size arguments.
            case 'K': case 'h': case 'q': case 0x80: case 0x82: skip = 1; break;
            case 'M': case 0x83: skip = 2; break;
            case 'J': case 0x84: skip = 4; break;
            // A memo index (LONG_BINGET, LONG_BINPUT): LibTorch's unpickler grows its memo table to
            // the index, so one index of 1.6e9 is 26 GB. A pickle numbers its memo entries from 0
            // and each takes at least two bytes, so an index beyond the record's size is damage.
            case 'j': case 'r':
                if (left < 4) short_of(at, 4);
                if (le(&p[at], 4) > p.size())
                    file.damaged("its pickle '" + printable(name) + "' uses memo entry " + std::to_string(le(&p[at], 4)) + " in " +
                                 std::to_string(p.size()) + " bytes");
                skip = 4;
                break;
            case 'G': case 0x95: skip = 8; break;
            // A length, then that many bytes.
            case 'U': case 0x8c: case 'C': case 0x8a:
                if (left < 1) short_of(at, 1);
                skip = 1 + p[at];
                break;
            case 'T': case 'X': case 'B': case 0x8b:
                if (left < 4) short_of(at, 4);
                skip = 4 + le(&p[at], 4);
                break;
            case 0x8d: case 0x8e: case 0x96:
                if (left < 8) short_of(at, 8);
                skip = 8 + std::min<uint64_t>(le(&p[at], 8), UINT64_MAX - 8);
                break;
            // Text arguments ending in a newline (GLOBAL and INST have two).
            case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': case 'g': case 'p': case 'c': case 'i': {
                const int lines = (op == 'c' || op == 'i') ? 2 : 1;
                uint64_t end = at;
                for (int l = 0; l < lines; ++l) {
                    const void* newline = end < p.size() ? std::memchr(p.data() + end, '\n', p.size() - end) : nullptr;
                    if (!newline) short_of(at, p.size() - at + 1);
                    end = static_cast<uint64_t>(static_cast<const uint8_t*>(newline) - p.data()) + 1;
                }
                skip = end - at;
                break;
            }
            default:
                return;
        }
        if (skip > left) short_of(at, skip);
        at += skip;
    }
}

bool is_pickle(const std::string& name) {
    auto ends_with = [&](const char* suffix) {
        const size_t n = std::strlen(suffix);
        return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
    };
    return ends_with(".pkl") || ends_with(".debug_pkl");
}

}  // namespace

void check_torch_archive(const std::string& path) {
    zip::ArchiveFile file(path, "a readable checkpoint (damaged, cut short, or not a LibTorch archive)");
    for (const zip::Entry& entry : zip::central_directory(file)) {
        const uint64_t offset = zip::data_offset(file, entry);
        const bool pickle = is_pickle(entry.name) && entry.size <= kMaxScannedPickle;
        const std::vector<uint8_t> bytes = zip::read_record(file, entry, offset, pickle);
        if (pickle) check_pickle(file, entry.name, bytes);
    }
}

}  // namespace soul
