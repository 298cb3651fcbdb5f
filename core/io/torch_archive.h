// A LibTorch archive (what torch::save and torch::serialize::OutputArchive write: a zip of pickles,
// TorchScript source and raw tensor bytes; PyTorch's "zip file format"), checked before LibTorch's
// reader opens it. LibTorch trusts what is inside: a 19 KB checkpoint whose pickle stores into memo
// entry 1.6e9 made it allocate 26 GB, and a changed byte inside a record was read as it is
// (LibTorch does not check the zip's CRCs); both found by fuzzing. Here every zip record must lie
// inside the file, fit the memory budget (soul/limits.h) and match its CRC-32, and every pickle's
// length fields and memo indices must lie inside their record. The zip is PKWARE's APPNOTE format
// (with zip64); the pickle opcodes are CPython's (Lib/pickletools.py documents each one's
// argument). No LibTorch needed.
#pragma once

#include <string>

namespace soul {

// Throws soul::Error(path, ...) naming the record and the problem.
void check_torch_archive(const std::string& path);

}  // namespace soul
