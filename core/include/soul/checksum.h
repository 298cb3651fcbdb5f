// Checksums as the project records them (run.json's checkpoints, prepared datasets' sections):
// "crc32:" and eight hex digits, zlib's CRC-32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace soul {

// Continues a CRC-32 (start from 0) over `bytes` bytes.
uint32_t crc32_update(uint32_t crc, const void* data, size_t bytes);
std::string checksum_text(uint32_t crc);
// A file's checksum, read in 1 MiB blocks.
std::string file_checksum(const std::string& path);

}  // namespace soul
