// Zip records (zip_records.h).
#include "zip_records.h"

#include "soul/error.h"
#include "soul/limits.h"
#include "soul/printable.h"

#include <zlib.h>

#include <algorithm>

namespace soul::zip {
namespace {

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50, kZip64Locator = 0x07064b50, kZip64End = 0x06064b50;
constexpr uint32_t kCentralEntry = 0x02014b50, kLocalEntry = 0x04034b50;
constexpr uint16_t kZip64Extra = 0x0001;
constexpr uint16_t kStored = 0, kDeflated = 8;
constexpr size_t kEndRecordSize = 22, kMaxComment = 0xffff;
// Deflate cannot expand data more than about 1032 times; a record claiming more is damaged.
constexpr uint64_t kMaxDeflateRatio = 1032;
}  // namespace

ArchiveFile::ArchiveFile(const std::string& path, std::string kind) : path_(path), kind_(std::move(kind)), in_(path, std::ios::binary) {
    if (!in_) throw Error(path, "cannot be opened");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(in_.tellg());
}

std::vector<uint8_t> ArchiveFile::read(uint64_t offset, uint64_t count, const std::string& what) {
    if (offset > size_ || count > size_ - offset) damaged(what + " lies past the end of the file");
    std::vector<uint8_t> bytes(static_cast<size_t>(count));
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(count));
    if (!in_) damaged(what + " cannot be read");
    return bytes;
}

void ArchiveFile::damaged(const std::string& problem) const {
    throw Error(path_, "is not " + kind_ + ": " + problem);
}

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

// LibTorch's reader does not check the CRC-32, so a changed byte inside a record was read as it is.
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

uint64_t data_offset(ArchiveFile& file, const Entry& entry) {
    const std::string what = "record '" + printable(entry.name) + "'";
    if (entry.method != kStored && entry.method != kDeflated) file.damaged(what + " is compressed with method " + std::to_string(entry.method));
    if (entry.compressed > file.size()) file.damaged(what + " claims " + std::to_string(entry.compressed) + " bytes, more than the file has");
    if (entry.method == kStored && entry.size != entry.compressed) file.damaged(what + " is stored with two different sizes");
    if (entry.method == kDeflated && entry.size / kMaxDeflateRatio > entry.compressed)
        file.damaged(what + " claims to inflate to " + std::to_string(entry.size) + " bytes from " + std::to_string(entry.compressed));
    check_memory_budget(file.path(), entry.size, what);
    const auto local = file.read(entry.local_offset, 30, what + "'s header");
    if (le(local.data(), 4) != kLocalEntry) file.damaged(what + "'s header is not where the directory says");
    const uint64_t offset = entry.local_offset + 30 + le(local.data() + 26, 2) + le(local.data() + 28, 2);
    if (offset > file.size() || entry.compressed > file.size() - offset) file.damaged(what + " lies past the end of the file");
    return offset;
}

}  // namespace soul::zip
