// NIfTI reading and writing.
// Voxels are read and written by ITK's NiftiImageIO (which applies scl_slope/scl_inter). The
// affine is taken from the header with the rule of the NIfTI-1 standard as nibabel applies it:
// sform when sform_code > 0, else qform when qform_code > 0, else the pixdim scaling. ITK's own
// choice between qform and sform differs from that rule, and researchers compare with nibabel.
// Reference: https://nifti.nimh.nih.gov/nifti-1/documentation/nifti1fields (qform/sform).
#include "soul/volume.h"

#include "soul/error.h"

#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkImageIORegion.h>
#include <itkMetaDataObject.h>
#include <itkNiftiImageIO.h>
#include <nifti1_io.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <cstring>
#include <filesystem>
#include <limits>

namespace fs = std::filesystem;

namespace soul {
namespace {

constexpr int kNifti1HeaderSize = 348;
constexpr int kNifti2HeaderSize = 540;

std::string component_name(itk::IOComponentEnum type) {
    using C = itk::IOComponentEnum;
    switch (type) {
        case C::UCHAR: return "uint8";
        case C::CHAR: return "int8";
        case C::USHORT: return "uint16";
        case C::SHORT: return "int16";
        case C::UINT: return "uint32";
        case C::INT: return "int32";
        case C::ULONG: case C::ULONGLONG: return "uint64";
        case C::LONG: case C::LONGLONG: return "int64";
        case C::FLOAT: return "float32";
        case C::DOUBLE: return "float64";
        default: return "unknown";
    }
}

std::string nifti_datatype_name(int code) {
    switch (code) {
        case DT_UINT8: return "uint8";
        case DT_INT8: return "int8";
        case DT_INT16: return "int16";
        case DT_UINT16: return "uint16";
        case DT_INT32: return "int32";
        case DT_UINT32: return "uint32";
        case DT_INT64: return "int64";
        case DT_UINT64: return "uint64";
        case DT_FLOAT32: return "float32";
        case DT_FLOAT64: return "float64";
        case DT_RGB24: return "rgb24";
        case DT_COMPLEX64: return "complex64";
        default: return "datatype " + std::to_string(code);
    }
}

void check_readable(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path, "no such file");
    if (fs::is_directory(path, ec)) throw Error(path, "is a folder, not a NIfTI file");
    if (fs::file_size(path, ec) == 0) throw Error(path, "is empty, not a NIfTI file");
}

// The first 4 bytes (sizeof_hdr) tell NIfTI-1 (348) from NIfTI-2 (540), in either byte order.
int nifti_version_of(const std::string& path) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file) throw Error(path, "cannot be opened for reading");
    int32_t size = 0;
    const int got = gzread(file, &size, sizeof size);
    gzclose(file);
    if (got != sizeof size) throw Error(path, "is too short to be a NIfTI file");
    const auto swapped = static_cast<int32_t>(__builtin_bswap32(static_cast<uint32_t>(size)));
    if (size == kNifti1HeaderSize || swapped == kNifti1HeaderSize) return 1;
    if (size == kNifti2HeaderSize || swapped == kNifti2HeaderSize) return 2;
    throw Error(path, "is not a NIfTI file (header size field is " + std::to_string(size) +
                          ", expected 348 for NIfTI-1 or 540 for NIfTI-2)");
}

// The header stores float32: widen by the shortest decimal that round-trips the float, so that
// 1.8f reads as 1.8 (as nibabel prints it), not 1.7999999523.
double widen(float value) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, value).ptr;
    return std::strtod(std::string(text, end).c_str(), nullptr);
}

Affine from_mat44(const mat44& m) {
    Affine a;
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) a(r, c) = widen(m.m[r][c]);
    return a;
}

bool is_gzip(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    unsigned char magic[2] = {0, 0};
    in.read(reinterpret_cast<char*>(magic), 2);
    return in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// niftilib fills a short read with zeros and only warns: find truncation before it reads, so
// that a cut-off download is an error rather than silently zeroed voxels.
void check_complete(const VolumeHeader& h) {
    const uint64_t expected = h.data_offset + h.data_bytes;
    auto truncated = [&](uint64_t found) {
        return Error(h.path, "is truncated: its header promises " + std::to_string(h.data_bytes) +
                                 " bytes of voxel data after byte " + std::to_string(h.data_offset) +
                                 ", but the file holds " + std::to_string(found > h.data_offset ? found - h.data_offset : 0) +
                                 " (an interrupted download or copy?)");
    };
    if (!is_gzip(h.path)) {
        std::error_code ec;
        const uint64_t size = fs::file_size(h.path, ec);
        if (size < expected) throw truncated(size);
        return;
    }
    // Fast path: a complete single-member gzip stream ends with its uncompressed size mod 2^32.
    {
        std::ifstream in(h.path, std::ios::binary | std::ios::ate);
        const auto size = static_cast<std::streamoff>(in.tellg());
        if (size >= 4) {
            unsigned char tail[4];
            in.seekg(size - 4);
            in.read(reinterpret_cast<char*>(tail), 4);
            const uint32_t isize = tail[0] | (tail[1] << 8) | (tail[2] << 16) | (static_cast<uint32_t>(tail[3]) << 24);
            if (isize == static_cast<uint32_t>(expected & 0xffffffffu)) return;
        }
    }
    // Otherwise (multi-member streams, trailing data, or damage) count the decompressed bytes.
    gzFile file = gzopen(h.path.c_str(), "rb");
    if (!file) throw Error(h.path, "cannot be opened for reading");
    gzbuffer(file, 1 << 17);
    std::vector<char> buffer(1 << 20);
    uint64_t total = 0;
    int got = 0;
    while ((got = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) total += static_cast<uint64_t>(got);
    int code = Z_OK;
    const std::string message = gzerror(file, &code);
    gzclose(file);
    if (total < expected) throw truncated(total);
    if (got < 0 && code != Z_OK && code != Z_BUF_ERROR) throw Error(h.path, "is a damaged gzip file: " + message);
}

// Header fields through niftilib (the copy ITK ships), without reading voxels.
VolumeHeader read_header_fields(const std::string& path) {
    check_readable(path);
    VolumeHeader h;
    h.path = path;
    h.nifti_version = nifti_version_of(path);
    if (h.nifti_version == 2)
        throw Error(path, "is a NIfTI-2 file; this build reads NIfTI through ITK 5.2, which reads "
                          "NIfTI-1 only (convert it, e.g. nibabel's Nifti1Image)");
    nifti_set_debug_level(0);
    nifti_image* nim = nifti_image_read(path.c_str(), 0);
    if (!nim) throw Error(path, "has an unreadable NIfTI header");
    if (nim->dim[0] < 1 || nim->dim[0] > 4) {
        const int ndim = nim->dim[0];
        nifti_image_free(nim);
        throw Error(path, "has " + std::to_string(ndim) + " dimensions; 3D or 4D volumes are supported");
    }
    for (int d = 0; d < 3; ++d) {
        h.dims[d] = d < nim->dim[0] ? std::max(1, nim->dim[d + 1]) : 1;
        h.spacing[d] = d < nim->dim[0] && nim->pixdim[d + 1] > 0 ? widen(nim->pixdim[d + 1]) : 1.0;
    }
    h.frames = nim->dim[0] >= 4 ? std::max(1, nim->dim[4]) : 1;
    h.datatype = nifti_datatype_name(nim->datatype);
    h.qform_code = nim->qform_code;
    h.sform_code = nim->sform_code;
    h.scl_slope = nim->scl_slope;
    h.scl_inter = nim->scl_inter;
    h.data_offset = static_cast<uint64_t>(nim->iname_offset);
    h.data_bytes = static_cast<uint64_t>(nim->nvox) * static_cast<uint64_t>(nim->nbyper);
    if (h.sform_code > 0) {
        h.ijk_to_ras = from_mat44(nim->sto_xyz);
    } else if (h.qform_code > 0) {
        h.ijk_to_ras = from_mat44(nim->qto_xyz);
    } else {
        // No orientation: the NIfTI standard's "method 1", scaling by pixdim only.
        Affine a;
        for (int d = 0; d < 3; ++d) a(d, d) = h.spacing[d];
        h.ijk_to_ras = a;
    }
    nifti_image_free(nim);
    return h;
}

template <typename T>
void convert_to_float(const void* source, size_t count, float* target) {
    const T* s = static_cast<const T*>(source);
    for (size_t n = 0; n < count; ++n) target[n] = static_cast<float>(s[n]);
}

void convert_buffer(itk::IOComponentEnum type, const void* source, size_t count, float* target,
                    const std::string& path) {
    using C = itk::IOComponentEnum;
    switch (type) {
        case C::UCHAR: convert_to_float<uint8_t>(source, count, target); break;
        case C::CHAR: convert_to_float<int8_t>(source, count, target); break;
        case C::USHORT: convert_to_float<uint16_t>(source, count, target); break;
        case C::SHORT: convert_to_float<int16_t>(source, count, target); break;
        case C::UINT: convert_to_float<uint32_t>(source, count, target); break;
        case C::INT: convert_to_float<int32_t>(source, count, target); break;
        case C::LONG: case C::LONGLONG: convert_to_float<int64_t>(source, count, target); break;
        case C::ULONG: case C::ULONGLONG: convert_to_float<uint64_t>(source, count, target); break;
        case C::FLOAT: std::memcpy(target, source, count * sizeof(float)); break;
        case C::DOUBLE: convert_to_float<double>(source, count, target); break;
        default: throw Error(path, "has an unsupported voxel type (" + component_name(type) + ")");
    }
}

Volume geometry_of(const VolumeHeader& h) {
    Volume v;
    v.dims = h.dims;
    v.frames = h.frames;
    v.spacing = h.spacing;
    v.ijk_to_ras = h.ijk_to_ras;
    v.datatype = h.datatype;
    v.path = h.path;
    return v;
}

}  // namespace

struct NiftiSeries::Impl {
    VolumeHeader header;
    itk::IOComponentEnum component = itk::IOComponentEnum::UNKNOWNCOMPONENTTYPE;
    size_t component_size = 0;
    std::vector<char> raw;
};

NiftiSeries::NiftiSeries(const std::string& path) : impl_(std::make_unique<Impl>()) {
    impl_->header = read_header_fields(path);
    check_complete(impl_->header);
    auto io = itk::NiftiImageIO::New();
    try {
        if (!io->CanReadFile(path.c_str())) throw Error(path, "is not a NIfTI file ITK can read");
        io->SetFileName(path);
        io->ReadImageInformation();
        if (io->GetNumberOfComponents() != 1)
            throw Error(path, "has " + std::to_string(io->GetNumberOfComponents()) +
                                  " components per voxel; scalar volumes are supported");
        const unsigned ndim = io->GetNumberOfDimensions();
        itk::ImageIORegion region(ndim);
        for (unsigned d = 0; d < ndim; ++d) {
            region.SetIndex(d, 0);
            region.SetSize(d, io->GetDimensions(d));
        }
        io->SetIORegion(region);
        impl_->component = io->GetComponentType();
        impl_->component_size = io->GetComponentSize();
        const size_t expected = static_cast<size_t>(impl_->header.dims[0] * impl_->header.dims[1] *
                                                    impl_->header.dims[2] * impl_->header.frames);
        if (region.GetNumberOfPixels() != expected)
            throw Error(path, "has inconsistent dimensions between ITK and the header");
        impl_->raw.resize(expected * impl_->component_size);
        io->Read(impl_->raw.data());
    } catch (const itk::ExceptionObject& e) {
        // ITK's text names its source line; keep only its description.
        std::string what = e.GetDescription();
        if (what.empty()) what = e.what();
        if (what.find("orthonormal") != std::string::npos)
            throw Error(path, "has a sheared (non-orthonormal) orientation matrix, which ITK cannot read: " + what);
        throw Error(path, "could not be read (corrupt?): " + what);
    }
}

NiftiSeries::~NiftiSeries() = default;
NiftiSeries::NiftiSeries(NiftiSeries&&) noexcept = default;
NiftiSeries& NiftiSeries::operator=(NiftiSeries&&) noexcept = default;

const VolumeHeader& NiftiSeries::header() const { return impl_->header; }

Volume NiftiSeries::frame(int64_t t) const {
    const VolumeHeader& h = impl_->header;
    if (t < 0 || t >= h.frames)
        throw Error(h.path, "volume index " + std::to_string(t) + " is out of range: the file has " +
                                std::to_string(h.frames) + " volume" + (h.frames == 1 ? "" : "s") +
                                " (0.." + std::to_string(h.frames - 1) + ")");
    Volume v = geometry_of(h);
    v.frames = 1;
    const size_t count = static_cast<size_t>(v.frame_size());
    v.voxels.resize(count);
    convert_buffer(impl_->component, impl_->raw.data() + t * count * impl_->component_size, count,
                   v.voxels.data(), h.path);
    return v;
}

VolumeHeader read_nifti_header(const std::string& path) { return read_header_fields(path); }

Volume read_nifti(const std::string& path) {
    NiftiSeries series(path);
    Volume v = geometry_of(series.header());
    const int64_t n = v.frame_size();
    v.voxels.resize(static_cast<size_t>(n * v.frames));
    for (int64_t t = 0; t < v.frames; ++t) {
        Volume f = series.frame(t);
        std::copy(f.voxels.begin(), f.voxels.end(), v.voxels.begin() + t * n);
    }
    return v;
}

Volume read_nifti_frame(const std::string& path, int64_t frame) {
    const VolumeHeader h = read_header_fields(path);
    if (frame < 0 || frame >= h.frames)
        throw Error(path, "volume index " + std::to_string(frame) + " is out of range: the file has " +
                              std::to_string(h.frames) + " volume" + (h.frames == 1 ? "" : "s") +
                              " (0.." + std::to_string(h.frames - 1) + ")");
    return NiftiSeries(path).frame(frame);
}

Volume extract_frame(const Volume& series, int64_t frame) {
    if (frame < 0 || frame >= series.frames)
        throw Error(series.path.empty() ? "volume" : series.path,
                    "volume index " + std::to_string(frame) + " is out of range (0.." +
                        std::to_string(series.frames - 1) + ")");
    Volume v = series;
    v.frames = 1;
    const int64_t n = series.frame_size();
    v.voxels.assign(series.voxels.begin() + frame * n, series.voxels.begin() + (frame + 1) * n);
    return v;
}

namespace {

template <typename Pixel, unsigned Dim>
void write_with_itk(const Volume& volume, const std::string& path) {
    using Image = itk::Image<Pixel, Dim>;
    auto image = Image::New();
    typename Image::SizeType size;
    typename Image::SpacingType spacing;
    typename Image::PointType origin;
    typename Image::DirectionType direction;
    direction.SetIdentity();
    spacing.Fill(1.0);
    origin.Fill(0.0);
    // RAS affine → ITK's LPS origin, spacing and direction cosines.
    const Affine& a = volume.ijk_to_ras;
    const double lps[3] = {-1.0, -1.0, 1.0};
    for (unsigned c = 0; c < 3; ++c) {
        const double norm = std::sqrt(a(0, c) * a(0, c) + a(1, c) * a(1, c) + a(2, c) * a(2, c));
        spacing[c] = norm > 0 ? norm : 1.0;
        for (unsigned r = 0; r < 3; ++r) direction[r][c] = lps[r] * a(r, c) / spacing[c];
        origin[c] = lps[c] * a(c, 3);
        size[c] = static_cast<itk::SizeValueType>(volume.dims[c]);
    }
    if constexpr (Dim == 4) size[3] = static_cast<itk::SizeValueType>(volume.frames);
    image->SetRegions(size);
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    image->SetDirection(direction);
    image->Allocate();
    Pixel* out = image->GetBufferPointer();
    const size_t n = volume.voxels.size();
    for (size_t i = 0; i < n; ++i) {
        float value = volume.voxels[i];
        if constexpr (std::is_integral_v<Pixel>) {
            value = std::round(value);
            value = std::clamp(value, static_cast<float>(std::numeric_limits<Pixel>::lowest()),
                               static_cast<float>(std::numeric_limits<Pixel>::max()));
        }
        out[i] = static_cast<Pixel>(value);
    }
    auto io = itk::NiftiImageIO::New();
    itk::EncapsulateMetaData<std::string>(io->GetMetaDataDictionary(), "qform_code_name", "NIFTI_XFORM_SCANNER_ANAT");
    itk::EncapsulateMetaData<std::string>(io->GetMetaDataDictionary(), "sform_code_name", "NIFTI_XFORM_SCANNER_ANAT");
    auto writer = itk::ImageFileWriter<Image>::New();
    writer->SetImageIO(io);
    writer->SetFileName(path);
    writer->SetInput(image);
    writer->Update();
}

template <typename Pixel>
void write_typed(const Volume& volume, const std::string& path) {
    if (volume.frames > 1)
        write_with_itk<Pixel, 4>(volume, path);
    else
        write_with_itk<Pixel, 3>(volume, path);
}

}  // namespace

void write_nifti(const Volume& volume, const std::string& path, StoredType stored) {
    if (volume.voxels.size() != static_cast<size_t>(volume.frame_size() * volume.frames))
        throw Error(path, "cannot write a volume whose voxel count does not match its dimensions");
    const fs::path target(path);
    if (target.has_parent_path() && !fs::is_directory(target.parent_path()))
        throw Error(path, "cannot be written: folder " + target.parent_path().string() + " does not exist");
    // Write to a temporary name and rename, so that a reader never sees half a file.
    const std::string temporary = (target.parent_path() / ("." + target.filename().string() + ".partial" +
                                                           (path.size() > 3 && path.substr(path.size() - 3) == ".gz" ? ".nii.gz" : ".nii")))
                                      .string();
    try {
        switch (stored) {
            case StoredType::uint8: write_typed<uint8_t>(volume, temporary); break;
            case StoredType::int16: write_typed<int16_t>(volume, temporary); break;
            case StoredType::int32: write_typed<int32_t>(volume, temporary); break;
            case StoredType::float32: write_typed<float>(volume, temporary); break;
        }
    } catch (const itk::ExceptionObject& e) {
        std::error_code ec;
        fs::remove(temporary, ec);
        throw Error(path, std::string("could not be written: ") + e.GetDescription());
    }
    std::error_code ec;
    fs::rename(temporary, target, ec);
    if (ec) throw Error(path, "could not be written: " + ec.message());
}

}  // namespace soul
