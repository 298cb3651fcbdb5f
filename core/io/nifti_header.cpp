// The NIfTI header, parsed and checked here rather than by niftilib: niftilib prints its own
// "** ERROR" lines, passes non-finite affines on (ITK/VNL then abort), and reads no NIfTI-2.
// Field offsets: the NIfTI-1 standard (https://nifti.nimh.nih.gov/nifti-1/documentation/nifti1fields)
// and NIfTI-2 (https://nifti.nimh.nih.gov/nifti-2); the affine rule as nibabel applies it: sform
// when sform_code > 0, else qform (the quaternion, "method 2") when qform_code > 0, else pixdim.
#include "nifti_header.h"

#include "soul/error.h"
#include "soul/limits.h"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace soul::nifti {
namespace {

constexpr int kNifti1HeaderSize = 348;
constexpr int kNifti2HeaderSize = 540;
constexpr int kMaxDims = 4;                       // 3D volumes and 4D series
constexpr uint64_t kMaxDeflateRatio = 1032;       // zlib's limit: no deflate stream inflates further

bool ends_with(const std::string& text, const std::string& tail) {
    return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// For a pair, the header file and the voxel file; for one file, the same path twice.
struct Files {
    std::string header, data;
    bool pair = false;
};

Files files_of(const std::string& path) {
    for (const char* gz : {"", ".gz"}) {
        const std::string hdr = std::string(".hdr") + gz, img = std::string(".img") + gz;
        if (ends_with(path, hdr)) return {path, path.substr(0, path.size() - hdr.size()) + img, true};
        if (ends_with(path, img)) return {path.substr(0, path.size() - img.size()) + hdr, path, true};
    }
    return {path, path, false};
}

void check_readable(const std::string& path, const std::string& role) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path, role.empty() ? "no such file" : "no such file (" + role + ")");
    if (fs::is_directory(path, ec)) throw Error(path, "is a folder, not a NIfTI file");
    if (fs::file_size(path, ec) == 0) throw Error(path, "is empty, not a NIfTI file");
}

// Up to `size` bytes from the start of a file, through zlib (which reads plain files as they are).
std::string read_start(const std::string& path, int size) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file) throw Error(path, "cannot be opened for reading");
    std::string bytes(static_cast<size_t>(size), '\0');
    const int got = gzread(file, bytes.data(), static_cast<unsigned>(size));
    gzclose(file);
    bytes.resize(got > 0 ? static_cast<size_t>(got) : 0);
    return bytes;
}

// Reads fields of one header in its byte order.
class Fields {
public:
    Fields(const std::string& bytes, bool swapped) : m_bytes(bytes), m_swapped(swapped) {}
    template <typename T>
    T get(size_t offset) const {
        unsigned char raw[sizeof(T)];
        std::memcpy(raw, m_bytes.data() + offset, sizeof(T));
        if (m_swapped)
            for (size_t n = 0; n < sizeof(T) / 2; ++n) std::swap(raw[n], raw[sizeof(T) - 1 - n]);
        T value;
        std::memcpy(&value, raw, sizeof(T));
        return value;
    }

private:
    const std::string& m_bytes;
    bool m_swapped;
};

// The header stores float32: widen by the shortest decimal that round-trips the float, so that
// 1.8f reads as 1.8 (as nibabel prints it), not 1.7999999523.
double widen(float value) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, value).ptr;
    return std::strtod(std::string(text, end).c_str(), nullptr);
}

int bytes_of(int datatype) {
    switch (datatype) {
        case kUint8: case kInt8: return 1;
        case kInt16: case kUint16: return 2;
        case kInt32: case kUint32: case kFloat32: return 4;
        case kInt64: case kUint64: case kFloat64: return 8;
        default: return 0;
    }
}

std::string datatype_name(int code) {
    switch (code) {
        case kUint8: return "uint8";
        case kInt8: return "int8";
        case kInt16: return "int16";
        case kUint16: return "uint16";
        case kInt32: return "int32";
        case kUint32: return "uint32";
        case kInt64: return "int64";
        case kUint64: return "uint64";
        case kFloat32: return "float32";
        case kFloat64: return "float64";
        case 128: return "rgb24";
        case 2304: return "rgba32";
        case 32: return "complex64";
        case 1792: return "complex128";
        case 1536: return "float128";
        default: return "datatype " + std::to_string(code);
    }
}

// The header's raw values, widened to the NIfTI-2 types whatever the version.
struct Raw {
    int64_t dim[8] = {};
    double pixdim[8] = {};
    int datatype = 0;
    double vox_offset = 0;
    double scl_slope = 0, scl_inter = 0;
    int qform_code = 0, sform_code = 0;
    double quatern[3] = {}, qoffset[3] = {};
    double srow[3][4] = {};
};

Raw read_nifti1(const Fields& f) {
    Raw r;
    for (int n = 0; n < 8; ++n) {
        r.dim[n] = f.get<int16_t>(40 + 2 * n);
        r.pixdim[n] = widen(f.get<float>(76 + 4 * n));
    }
    r.datatype = f.get<int16_t>(70);
    r.vox_offset = f.get<float>(108);
    r.scl_slope = widen(f.get<float>(112));
    r.scl_inter = widen(f.get<float>(116));
    r.qform_code = f.get<int16_t>(252);
    r.sform_code = f.get<int16_t>(254);
    for (int n = 0; n < 3; ++n) {
        r.quatern[n] = widen(f.get<float>(256 + 4 * n));
        r.qoffset[n] = widen(f.get<float>(268 + 4 * n));
        for (int c = 0; c < 4; ++c) r.srow[n][c] = widen(f.get<float>(280 + 16 * n + 4 * c));
    }
    return r;
}

Raw read_nifti2(const Fields& f) {
    Raw r;
    for (int n = 0; n < 8; ++n) {
        r.dim[n] = f.get<int64_t>(16 + 8 * n);
        r.pixdim[n] = f.get<double>(104 + 8 * n);
    }
    r.datatype = f.get<int16_t>(12);
    r.vox_offset = static_cast<double>(f.get<int64_t>(168));
    r.scl_slope = f.get<double>(176);
    r.scl_inter = f.get<double>(184);
    r.qform_code = f.get<int32_t>(344);
    r.sform_code = f.get<int32_t>(348);
    for (int n = 0; n < 3; ++n) {
        r.quatern[n] = f.get<double>(352 + 8 * n);
        r.qoffset[n] = f.get<double>(376 + 8 * n);
        for (int c = 0; c < 4; ++c) r.srow[n][c] = f.get<double>(400 + 32 * n + 8 * c);
    }
    return r;
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

// The quaternion affine of the NIfTI-1 standard ("method 2").
Affine qform_affine(const Raw& r, const std::array<double, 3>& spacing) {
    const double b = r.quatern[0], c = r.quatern[1], d = r.quatern[2];
    double a = 1.0 - (b * b + c * c + d * d);
    double bb = b, cc = c, dd = d;
    if (a < 1e-7) {  // a rotation of 180°: renormalise (b, c, d), as niftilib does
        const double norm = std::sqrt(b * b + c * c + d * d);
        bb /= norm, cc /= norm, dd /= norm;
        a = 0.0;
    } else {
        a = std::sqrt(a);
    }
    const double qfac = r.pixdim[0] < 0 ? -1.0 : 1.0;
    const double rot[3][3] = {
        {a * a + bb * bb - cc * cc - dd * dd, 2 * (bb * cc - a * dd), 2 * (bb * dd + a * cc)},
        {2 * (bb * cc + a * dd), a * a + cc * cc - bb * bb - dd * dd, 2 * (cc * dd - a * bb)},
        {2 * (bb * dd - a * cc), 2 * (cc * dd + a * bb), a * a + dd * dd - cc * cc - bb * bb},
    };
    const double scale[3] = {spacing[0], spacing[1], spacing[2] * qfac};
    Affine affine;
    for (int row = 0; row < 3; ++row) {
        for (int col = 0; col < 3; ++col) affine(row, col) = rot[row][col] * scale[col];
        affine(row, 3) = r.qoffset[row];
    }
    return affine;
}

double determinant3(const Affine& a) {
    return a(0, 0) * (a(1, 1) * a(2, 2) - a(1, 2) * a(2, 1)) - a(0, 1) * (a(1, 0) * a(2, 2) - a(1, 2) * a(2, 0)) +
           a(0, 2) * (a(1, 0) * a(2, 1) - a(1, 1) * a(2, 0));
}

}  // namespace

Error truncated_voxels(const VolumeHeader& h, uint64_t found) {
    return Error(h.data_path, "is truncated: its header promises " + std::to_string(h.data_bytes) + " bytes of voxel data after byte " +
                                  std::to_string(h.data_offset) + ", but the file holds " + std::to_string(found) +
                                  " (an interrupted download or copy?)");
}

bool is_gzip(const std::string& path) {
    FILE* file = std::fopen(path.c_str(), "rb");
    unsigned char magic[2] = {0, 0};
    const bool two = file && std::fread(magic, 1, 2, file) == 2;
    if (file) std::fclose(file);
    return two && magic[0] == 0x1f && magic[1] == 0x8b;
}

Layout read_layout(const std::string& path) {
    const Files files = files_of(path);
    check_readable(path, "");
    if (files.pair) {
        check_readable(files.header, "the header of the pair " + path);
        check_readable(files.data, "the voxels of the pair " + path);
    }
    const std::string& where = files.header;
    const std::string bytes = read_start(where, kNifti2HeaderSize);
    if (bytes.size() < 4) throw Error(where, "is too short to be a NIfTI file");

    // sizeof_hdr tells the version and the byte order.
    int32_t size = 0;
    std::memcpy(&size, bytes.data(), 4);
    const int32_t swapped_size = static_cast<int32_t>(__builtin_bswap32(static_cast<uint32_t>(size)));
    const bool swapped = size != kNifti1HeaderSize && size != kNifti2HeaderSize;
    const int32_t header_size = swapped ? swapped_size : size;
    if (header_size != kNifti1HeaderSize && header_size != kNifti2HeaderSize)
        throw Error(where, "is not a NIfTI file (header size field is " + std::to_string(size) +
                               ", expected 348 for NIfTI-1 or 540 for NIfTI-2)");
    if (bytes.size() < static_cast<size_t>(header_size))
        throw Error(where, "is truncated inside its header (" + std::to_string(bytes.size()) + " of " +
                               std::to_string(header_size) + " bytes)");
    const int version = header_size == kNifti1HeaderSize ? 1 : 2;

    // The magic says one file ("n+1", "n+2") or a pair ("ni1", "ni2"); without it, ANALYZE 7.5.
    const std::string magic = version == 1 ? bytes.substr(344, 4) : bytes.substr(4, 4);
    const char v = version == 1 ? '1' : '2';
    const bool single_magic = magic[0] == 'n' && magic[1] == '+' && magic[2] == v && magic[3] == '\0';
    const bool pair_magic = magic[0] == 'n' && magic[1] == 'i' && magic[2] == v && magic[3] == '\0';
    if (!single_magic && !pair_magic)
        throw Error(where, version == 1 ? "has no NIfTI magic (an ANALYZE 7.5 header?): its orientation is ambiguous; convert it to NIfTI"
                                        : "has a NIfTI-2 header size but no NIfTI-2 magic");
    if (pair_magic && !files.pair)
        throw Error(where, "is the header of a .hdr/.img pair (magic \"ni" + std::string(1, v) + "\"); open it by its .hdr or .img name");
    if (single_magic && files.pair)
        throw Error(where, "is a single-file NIfTI (magic \"n+" + std::string(1, v) + "\") named like a .hdr/.img pair; rename it to .nii");

    const Fields fields(bytes, swapped);
    const Raw r = version == 1 ? read_nifti1(fields) : read_nifti2(fields);

    Layout layout;
    VolumeHeader& h = layout.header;
    h.path = path;
    h.data_path = files.data;
    h.pair = files.pair;
    h.nifti_version = version;
    layout.swapped = swapped;

    const int64_t ndim = r.dim[0];
    if (ndim < 1 || ndim > 7) throw Error(where, "has dim[0] = " + std::to_string(ndim) + "; NIfTI allows 1 to 7 dimensions");
    for (int d = 1; d <= ndim; ++d)
        if (r.dim[d] < 1)
            throw Error(where, "has dim[" + std::to_string(d) + "] = " + std::to_string(r.dim[d]) + "; every dimension must be at least 1");
    for (int d = kMaxDims + 1; d <= ndim; ++d)
        if (r.dim[d] != 1)
            throw Error(where, "has " + std::to_string(ndim) + " dimensions (dim[" + std::to_string(d) + "] = " + std::to_string(r.dim[d]) +
                                   "); 3D or 4D volumes are supported");
    for (int d = 0; d < 3; ++d) {
        h.dims[d] = d < ndim ? r.dim[d + 1] : 1;
        const double spacing = d < ndim ? r.pixdim[d + 1] : 1.0;
        if (!std::isfinite(spacing)) throw Error(where, "has pixdim[" + std::to_string(d + 1) + "] = " + number(spacing) + "; voxel sizes must be finite");
        h.spacing[d] = spacing > 0 ? spacing : 1.0;  // 0 or negative: unset, as niftilib reads it
    }
    h.frames = ndim >= 4 ? r.dim[4] : 1;

    layout.datatype = r.datatype;
    layout.bytes_per_voxel = bytes_of(r.datatype);
    h.datatype = datatype_name(r.datatype);
    if (layout.bytes_per_voxel == 0)
        throw Error(where, "stores its voxels as " + h.datatype + "; scalar integer and float types are supported");
    uint64_t voxels = 1;
    for (int d = 0; d < 3; ++d) voxels = checked_product(where, voxels, static_cast<uint64_t>(h.dims[d]), "the volume");
    voxels = checked_product(where, voxels, static_cast<uint64_t>(h.frames), "the volume");
    h.data_bytes = checked_product(where, voxels, static_cast<uint64_t>(layout.bytes_per_voxel), "the volume");

    // vox_offset: where the voxels start in the data file (after the header in one file).
    const double minimum_offset = files.pair ? 0.0 : static_cast<double>(header_size);
    if (!std::isfinite(r.vox_offset) || r.vox_offset < minimum_offset || r.vox_offset != std::floor(r.vox_offset) || r.vox_offset > 1e15)
        throw Error(where, "has vox_offset = " + number(r.vox_offset) + "; the voxels must start at a whole byte" +
                               (files.pair ? "" : " after the " + std::to_string(header_size) + "-byte header"));
    h.data_offset = static_cast<uint64_t>(r.vox_offset);

    // Scaling: a slope of 0 or a non-finite one means none (the standard; nibabel reads it so).
    h.scl_slope = r.scl_slope;
    h.scl_inter = r.scl_inter;
    layout.scaled = std::isfinite(r.scl_slope) && r.scl_slope != 0.0;
    if (layout.scaled && !std::isfinite(r.scl_inter))
        throw Error(where, "has scl_inter = " + number(r.scl_inter) + " with scl_slope = " + number(r.scl_slope) + "; the intercept must be finite");
    if (!layout.scaled) h.scl_slope = 0.0, h.scl_inter = 0.0;
    if (h.scl_slope == 1.0 && h.scl_inter == 0.0) layout.scaled = false;  // the identity: nothing to apply

    h.qform_code = r.qform_code;
    h.sform_code = r.sform_code;
    if (r.sform_code > 0) {
        Affine a;
        for (int row = 0; row < 3; ++row)
            for (int col = 0; col < 4; ++col) {
                if (!std::isfinite(r.srow[row][col]))
                    throw Error(where, "has a non-finite sform: srow_" + std::string(1, "xyz"[row]) + "[" + std::to_string(col) + "] = " +
                                           number(r.srow[row][col]));
                a(row, col) = r.srow[row][col];
            }
        if (std::abs(determinant3(a)) < 1e-12) throw Error(where, "has a singular sform (its 3×3 part has determinant 0)");
        h.ijk_to_ras = a;
    } else if (r.qform_code > 0) {
        static const char* const kNames[6] = {"quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z"};
        for (int n = 0; n < 6; ++n) {
            const double value = n < 3 ? r.quatern[n] : r.qoffset[n - 3];
            if (!std::isfinite(value)) throw Error(where, "has a non-finite qform: " + std::string(kNames[n]) + " = " + number(value));
        }
        if (!std::isfinite(r.pixdim[0])) throw Error(where, "has pixdim[0] (qfac) = " + number(r.pixdim[0]) + "; it must be finite");
        h.ijk_to_ras = qform_affine(r, h.spacing);
    } else {
        Affine a;
        for (int d = 0; d < 3; ++d) a(d, d) = h.spacing[d];
        h.ijk_to_ras = a;
    }

    // The data file must hold what the header promises: checked here from sizes alone, so that a
    // short file is refused before memory is allocated for it.
    const uint64_t needed = h.data_offset + h.data_bytes;
    std::error_code ec;
    const uint64_t stored = fs::file_size(files.data, ec);
    const std::string data_bytes = std::to_string(h.data_bytes);
    const bool gzipped = is_gzip(files.data);
    if (!gzipped && stored < needed)
        throw truncated_voxels(h, stored > h.data_offset ? stored - h.data_offset : 0);
    if (gzipped && needed / kMaxDeflateRatio > stored)
        throw Error(files.data, "is truncated: its header promises " + data_bytes + " bytes of voxel data, more than " +
                                    std::to_string(stored) + " compressed bytes can hold (an interrupted download, or a damaged header?)");
    return layout;
}

}  // namespace soul::nifti
