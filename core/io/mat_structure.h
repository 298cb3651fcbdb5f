// Internal to core/io: the MAT v5 structure check the MAT reader runs before matio.
#pragma once

#include <string>

namespace soul {

// Throws soul::Error naming `path` when a MAT v5 file's element sizes do not fit inside what
// contains them, or its compressed data does not inflate within the memory budget. MAT v7.3
// (HDF5) files pass; anything else is refused.
void check_mat_structure(const std::string& path);

}  // namespace soul
