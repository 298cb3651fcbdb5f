// The records of a zip archive, as PyTorch's "zip file format" (torch.save since 1.6, torch::save,
// TorchScript) stores them: PKWARE's APPNOTE format with zip64, records stored or deflated. Every
// record must lie inside the file, fit the memory budget (soul/limits.h) and match its CRC-32.
// Shared by the LibTorch archive check (torch_archive.h) and the PyTorch state-dict reader
// (weight_files.h). No LibTorch needed.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace soul::zip {

inline uint64_t le(const uint8_t* p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

class ArchiveFile {
public:
    // `kind` completes "is not ..." in messages: "a readable checkpoint (damaged, cut short, or
    // not a LibTorch archive)".
    ArchiveFile(const std::string& path, std::string kind);
    uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }
    std::vector<uint8_t> read(uint64_t offset, uint64_t count, const std::string& what);
    [[noreturn]] void damaged(const std::string& problem) const;

private:
    std::string path_, kind_;
    std::ifstream in_;
    uint64_t size_ = 0;
};

struct Entry {
    std::string name;
    uint16_t method = 0;
    uint32_t crc = 0;
    uint64_t compressed = 0, size = 0, local_offset = 0;
};

// The central directory's entries (zip64 where the 32-bit fields say so).
std::vector<Entry> central_directory(ArchiveFile& file);

// Where the entry's data starts, after checking its method, its sizes against the file and the
// memory budget, and its local header.
uint64_t data_offset(ArchiveFile& file, const Entry& entry);

// Reads a record through, in pieces (inflated when deflated), and checks its CRC-32. Returns the
// bytes when `keep`, else nothing.
std::vector<uint8_t> read_record(ArchiveFile& file, const Entry& entry, uint64_t data_offset, bool keep);

}  // namespace soul::zip
