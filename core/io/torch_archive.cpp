// LibTorch archives checked before LibTorch reads them (torch_archive.h).
#include "torch_archive.h"

#include "soul/error.h"
#include "soul/limits.h"
#include "soul/printable.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

namespace soul {
namespace {

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50, kZip64Locator = 0x07064b50, kZip64End = 0x06064b50;
constexpr uint32_t kCentralEntry = 0x02014b50, kLocalEntry = 0x04034b50;
constexpr uint16_t kZip64Extra = 0x0001;
constexpr uint16_t kStored = 0, kDeflated = 8;
constexpr size_t kEndRecordSize = 22, kMaxComment = 0xffff;
// Deflate cannot expand data more than about 1032 times; a record claiming more is damaged.
constexpr uint64_t kMaxDeflateRatio = 1032;
// Pickles in a checkpoint are kilobytes; one this large is not scanned for lengths (its CRC is
// still checked, and LibTorch reads it under the memory budget).
constexpr uint64_t kMaxScannedPickle = uint64_t(64) << 20;

uint64_t le(const uint8_t* p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

class ArchiveFile {
public:
    explicit ArchiveFile(const std::string& path) : path_(path), in_(path, std::ios::binary) {
        if (!in_) throw Error(path, "cannot be opened");
        in_.seekg(0, std::ios::end);
        size_ = static_cast<uint64_t>(in_.tellg());
    }
    uint64_t size() const { return size_; }
    std::vector<uint8_t> read(uint64_t offset, uint64_t count, const std::string& what) {
        if (offset > size_ || count > size_ - offset) damaged(what + " lies past the end of the file");
        std::vector<uint8_t> bytes(static_cast<size_t>(count));
        in_.seekg(static_cast<std::streamoff>(offset));
        in_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(count));
        if (!in_) damaged(what + " cannot be read");
        return bytes;
    }
    [[noreturn]] void damaged(const std::string& problem) const {
        throw Error(path_, "is not a readable checkpoint (damaged, cut short, or not a LibTorch archive): " + problem);
    }

private:
    std::string path_;
    std::ifstream in_;
    uint64_t size_ = 0;
};

struct Entry {
    std::string name;
    uint16_t method = 0;
    uint32_t crc = 0;
    uint64_t compressed = 0, size = 0, local_offset = 0;
};

// The central directory: where it is (zip64 when the 32-bit fields say so) and its entries.
std::vector<Entry> central_directory(ArchiveFile& file) {
    if (file.size() < kEndRecordSize) file.damaged("too short to be a zip archive");
    const uint64_t tail_size = std::min<uint64_t>(file.size(), kEndRecordSize + kMaxComment);
    const std::vector<uint8_t> tail = file.read(file.size() - tail_size, tail_size, "the end of the archive");
    int64_t end = -1;
    for (int64_t i = static_cast<int64_t>(tail.size() - kEndRecordSize); i >= 0; --i)
        if (le(&tail[static_cast<size_t>(i)], 4) == kEndOfCentralDirectory) {
            end = i;
            break;
        }
    if (end < 0) file.damaged("no zip directory at its end (cut short?)");
    const uint8_t* e = &tail[static_cast<size_t>(end)];
    uint64_t count = le(e + 10, 2), directory_size = le(e + 12, 4), directory_offset = le(e + 16, 4);
    if (count == 0xffff || directory_size == 0xffffffff || directory_offset == 0xffffffff) {
        const uint64_t end_offset = file.size() - tail_size + static_cast<uint64_t>(end);
        if (end_offset < 20) file.damaged("a zip64 archive without its locator");
        const auto locator = file.read(end_offset - 20, 20, "the zip64 locator");
        if (le(locator.data(), 4) != kZip64Locator) file.damaged("a zip64 archive without its locator");
        const auto record = file.read(le(locator.data() + 8, 8), 56, "the zip64 directory record");
        if (le(record.data(), 4) != kZip64End) file.damaged("a zip64 directory record of the wrong kind");
        count = le(record.data() + 32, 8);
        directory_size = le(record.data() + 40, 8);
        directory_offset = le(record.data() + 48, 8);
    }
    constexpr uint64_t kEntryHeader = 46;
    if (count > directory_size / kEntryHeader) file.damaged("its directory claims " + std::to_string(count) + " records, more than it can hold");
    const std::vector<uint8_t> directory = file.read(directory_offset, directory_size, "the zip directory");
    std::vector<Entry> entries;
    uint64_t at = 0;
    for (uint64_t n = 0; n < count; ++n) {
        if (directory.size() - at < kEntryHeader || le(&directory[at], 4) != kCentralEntry) file.damaged("its directory is damaged");
        const uint8_t* h = &directory[at];
        Entry entry;
        entry.method = static_cast<uint16_t>(le(h + 10, 2));
        entry.crc = static_cast<uint32_t>(le(h + 16, 4));
        entry.compressed = le(h + 20, 4);
        entry.size = le(h + 24, 4);
        const uint64_t name_length = le(h + 28, 2), extra_length = le(h + 30, 2), comment_length = le(h + 32, 2);
        entry.local_offset = le(h + 42, 4);
        if (directory.size() - at - kEntryHeader < name_length + extra_length + comment_length) file.damaged("its directory is damaged");
        entry.name.assign(reinterpret_cast<const char*>(h + kEntryHeader), name_length);
        // zip64: the 64-bit values of the fields that read 0xffffffff, in this order.
        const uint8_t* extra = h + kEntryHeader + name_length;
        for (uint64_t x = 0; x + 4 <= extra_length;) {
            const uint64_t id = le(extra + x, 2), length = le(extra + x + 2, 2);
            if (x + 4 + length > extra_length) file.damaged("record '" + printable(entry.name) + "' has a damaged extra field");
            if (id == kZip64Extra) {
                uint64_t field = x + 4;
                for (uint64_t* value : {&entry.size, &entry.compressed, &entry.local_offset})
                    if (*value == 0xffffffff) {
                        if (field + 8 > x + 4 + length) file.damaged("record '" + printable(entry.name) + "' has a short zip64 field");
                        *value = le(extra + field, 8);
                        field += 8;
                    }
            }
            x += 4 + length;
        }
        entries.push_back(entry);
        at += kEntryHeader + name_length + extra_length + comment_length;
    }
    return entries;
}

// Reads a record through, in pieces, as LibTorch will see it (inflated when deflated), and checks
// its CRC-32: LibTorch's reader does not, so a changed byte inside a record was read as it is.
// Returns the bytes when `keep` (the pickles), else nothing.
std::vector<uint8_t> read_record(ArchiveFile& file, const Entry& entry, uint64_t data_offset, bool keep) {
    constexpr uint64_t kPiece = uint64_t(1) << 20;
    const std::string what = "record '" + printable(entry.name) + "'";
    std::vector<uint8_t> kept;
    uLong crc = crc32(0, nullptr, 0);
    uint64_t produced = 0;
    auto take = [&](const uint8_t* bytes, uint64_t count) {
        crc = crc32(crc, bytes, static_cast<uInt>(count));
        produced += count;
        if (keep) kept.insert(kept.end(), bytes, bytes + count);
    };
    z_stream z{};
    const bool deflated = entry.method == kDeflated;
    if (deflated && inflateInit2(&z, -MAX_WBITS) != Z_OK) file.damaged("zlib cannot start");
    std::vector<uint8_t> out(deflated ? kPiece : 0);
    int status = Z_OK;
    for (uint64_t done = 0; done < entry.compressed;) {
        const uint64_t count = std::min(kPiece, entry.compressed - done);
        std::vector<uint8_t> piece = file.read(data_offset + done, count, what);
        done += count;
        if (!deflated) {
            take(piece.data(), count);
            continue;
        }
        z.next_in = piece.data();
        z.avail_in = static_cast<uInt>(count);
        do {
            z.next_out = out.data();
            z.avail_out = static_cast<uInt>(out.size());
            status = inflate(&z, Z_NO_FLUSH);
            if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) break;
            take(out.data(), out.size() - z.avail_out);
            if (produced > entry.size) break;
        } while (z.avail_out == 0 && status != Z_STREAM_END);
        if ((status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) || produced > entry.size) break;
    }
    if (deflated) inflateEnd(&z);
    if (produced != entry.size || (deflated && status != Z_STREAM_END)) file.damaged(what + " does not hold the " + std::to_string(entry.size) + " bytes it claims");
    if (static_cast<uint32_t>(crc) != entry.crc) file.damaged(what + " fails its CRC-32 (a changed or damaged byte)");
    return kept;
}

// Walks a pickle's opcodes and checks that every length-prefixed argument lies inside the record.
// An opcode this walker does not know ends the walk: LibTorch's unpickler refuses it itself.
void check_pickle(ArchiveFile& file, const std::string& name, const std::vector<uint8_t>& p) {
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
    ArchiveFile file(path);
    for (const Entry& entry : central_directory(file)) {
        const std::string what = "record '" + printable(entry.name) + "'";
        if (entry.method != kStored && entry.method != kDeflated) file.damaged(what + " is compressed with method " + std::to_string(entry.method));
        if (entry.compressed > file.size()) file.damaged(what + " claims " + std::to_string(entry.compressed) + " bytes, more than the file has");
        if (entry.method == kStored && entry.size != entry.compressed) file.damaged(what + " is stored with two different sizes");
        if (entry.method == kDeflated && entry.size / kMaxDeflateRatio > entry.compressed)
            file.damaged(what + " claims to inflate to " + std::to_string(entry.size) + " bytes from " + std::to_string(entry.compressed));
        check_memory_budget(path, entry.size, what);
        const auto local = file.read(entry.local_offset, 30, what + "'s header");
        if (le(local.data(), 4) != kLocalEntry) file.damaged(what + "'s header is not where the directory says");
        const uint64_t data_offset = entry.local_offset + 30 + le(local.data() + 26, 2) + le(local.data() + 28, 2);
        if (data_offset > file.size() || entry.compressed > file.size() - data_offset) file.damaged(what + " lies past the end of the file");
        const bool pickle = is_pickle(entry.name) && entry.size <= kMaxScannedPickle;
        const std::vector<uint8_t> bytes = read_record(file, entry, data_offset, pickle);
        if (pickle) check_pickle(file, entry.name, bytes);
    }
}

}  // namespace soul
