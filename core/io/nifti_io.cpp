// NIfTI reading and writing.
// Reading is our own (nifti_header.cpp checks every header field; the voxels are read here through
// zlib, whose gzip CRC check catches damaged data): niftilib and ITK abort on non-finite affines,
// print their own errors, read no NIfTI-2 and refuse sheared affines that nibabel reads. Values
// are scaled by scl_slope/scl_inter as the NIfTI-1 standard and nibabel do. Writing goes through
// ITK's NiftiImageIO. Reference: https://nifti.nimh.nih.gov/nifti-1/documentation/nifti1fields.
#include "soul/volume.h"

#include "nifti_header.h"
#include "soul/error.h"
#include "soul/limits.h"

#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkMetaDataObject.h>
#include <itkNiftiImageIO.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

namespace fs = std::filesystem;

namespace soul {
namespace {

// gzread takes an unsigned count: 8 MiB at a time, so that progress and Cancel come often.
constexpr unsigned kReadChunk = 1u << 23;

// Reads the voxel bytes the header promises, then the rest of the stream, so that zlib checks the
// gzip CRC and length at its end: damaged compressed data is an error, never garbage values.
std::vector<char> read_voxel_bytes(const VolumeHeader& h, const Progress& progress) {
    const std::string& path = h.data_path;
    check_memory_budget(path, h.data_bytes, "its voxels (" + std::to_string(h.data_bytes) + " bytes)");
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file) throw Error(path, "cannot be opened for reading");
    gzbuffer(file, 1 << 17);
    auto fail = [&](const std::string& problem) {
        gzclose(file);
        return Error(path, problem);
    };
    // zlib's error after a read: none, a stream cut short (Z_BUF_ERROR), or damaged data.
    auto damage = [&](bool& cut_short) -> std::string {
        int code = Z_OK;
        const char* message = gzerror(file, &code);
        cut_short = code == Z_BUF_ERROR;
        if (code == Z_OK || cut_short) return "";
        // zlib's message starts with the path it was given; the error names the file already.
        std::string what = message;
        if (what.rfind(path + ": ", 0) == 0) what = what.substr(path.size() + 2);
        return "is a damaged gzip file (" + what + "): its voxels cannot be trusted";
    };
    bool cut_short = false;
    if (h.data_offset > 0 && gzseek(file, static_cast<z_off_t>(h.data_offset), SEEK_SET) < 0) {
        const std::string problem = damage(cut_short);
        throw fail(problem.empty() ? "is truncated before its voxel data" : problem);
    }
    std::vector<char> bytes(h.data_bytes);
    uint64_t done = 0;
    const std::string reading = "reading " + fs::path(h.path).filename().string();
    while (done < h.data_bytes) {
        progress(static_cast<int64_t>(done >> 20), static_cast<int64_t>(h.data_bytes >> 20), reading);
        if (progress.cancel && progress.cancel->cancelled()) {
            gzclose(file);
            throw Cancelled();
        }
        const unsigned want = static_cast<unsigned>(std::min<uint64_t>(kReadChunk, h.data_bytes - done));
        const int got = gzread(file, bytes.data() + done, want);
        if (got <= 0) break;
        done += static_cast<uint64_t>(got);
    }
    if (done < h.data_bytes) {
        const std::string problem = damage(cut_short);
        gzclose(file);
        if (!problem.empty()) throw Error(path, problem);
        throw nifti::truncated_voxels(h, done);
    }
    if (gzdirect(file) == 0) {
        char rest[4096];
        while (gzread(file, rest, sizeof rest) > 0) {
        }
        const std::string problem = damage(cut_short);
        if (cut_short) throw fail("is truncated: its gzip stream is cut short (an interrupted download or copy?)");
        if (!problem.empty()) throw fail(problem);
    }
    gzclose(file);
    progress(static_cast<int64_t>(h.data_bytes >> 20), static_cast<int64_t>(h.data_bytes >> 20), reading);
    return bytes;
}

template <typename T, bool kSwapped>
void convert_to_float(const char* source, size_t count, float* target) {
    for (size_t n = 0; n < count; ++n) {
        unsigned char raw[sizeof(T)];
        std::memcpy(raw, source + n * sizeof(T), sizeof(T));
        if constexpr (kSwapped) std::reverse(raw, raw + sizeof(T));
        T value;
        std::memcpy(&value, raw, sizeof(T));
        target[n] = static_cast<float>(value);
    }
}

// The byte order is a template argument so that the common, native case is a plain loop.
template <typename T>
void convert_to_float(const char* source, size_t count, bool swapped, float* target) {
    if (swapped) convert_to_float<T, true>(source, count, target);
    else convert_to_float<T, false>(source, count, target);
}

void convert_buffer(const nifti::Layout& layout, const char* source, size_t count, float* target) {
    const bool swapped = layout.swapped;
    switch (layout.datatype) {
        case nifti::kUint8: convert_to_float<uint8_t>(source, count, swapped, target); break;
        case nifti::kInt8: convert_to_float<int8_t>(source, count, swapped, target); break;
        case nifti::kUint16: convert_to_float<uint16_t>(source, count, swapped, target); break;
        case nifti::kInt16: convert_to_float<int16_t>(source, count, swapped, target); break;
        case nifti::kUint32: convert_to_float<uint32_t>(source, count, swapped, target); break;
        case nifti::kInt32: convert_to_float<int32_t>(source, count, swapped, target); break;
        case nifti::kInt64: convert_to_float<int64_t>(source, count, swapped, target); break;
        case nifti::kUint64: convert_to_float<uint64_t>(source, count, swapped, target); break;
        case nifti::kFloat32: convert_to_float<float>(source, count, swapped, target); break;
        case nifti::kFloat64: convert_to_float<double>(source, count, swapped, target); break;
        default: throw Error(layout.header.path, "has an unsupported voxel type (" + layout.header.datatype + ")");
    }
    if (!layout.scaled) return;
    const double slope = layout.header.scl_slope, inter = layout.header.scl_inter;
    for (size_t n = 0; n < count; ++n) target[n] = static_cast<float>(slope * target[n] + inter);
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
    nifti::Layout layout;
    std::vector<char> raw;
};

NiftiSeries::NiftiSeries(const std::string& path, const Progress& progress) : impl_(std::make_unique<Impl>()) {
    impl_->layout = nifti::read_layout(path);
    impl_->raw = read_voxel_bytes(impl_->layout.header, progress);
}

NiftiSeries::~NiftiSeries() = default;
NiftiSeries::NiftiSeries(NiftiSeries&&) noexcept = default;
NiftiSeries& NiftiSeries::operator=(NiftiSeries&&) noexcept = default;

const VolumeHeader& NiftiSeries::header() const { return impl_->layout.header; }

Volume NiftiSeries::frame(int64_t t) const {
    const VolumeHeader& h = impl_->layout.header;
    if (t < 0 || t >= h.frames)
        throw Error(h.path, "volume index " + std::to_string(t) + " is out of range: the file has " +
                                std::to_string(h.frames) + " volume" + (h.frames == 1 ? "" : "s") +
                                " (0.." + std::to_string(h.frames - 1) + ")");
    Volume v = geometry_of(h);
    v.frames = 1;
    const size_t count = static_cast<size_t>(v.frame_size());
    v.voxels.resize(count);
    convert_buffer(impl_->layout, impl_->raw.data() + t * count * impl_->layout.bytes_per_voxel, count, v.voxels.data());
    return v;
}

VolumeHeader read_nifti_header(const std::string& path) { return nifti::read_layout(path).header; }

Volume read_nifti(const std::string& path) {
    const VolumeHeader h = read_nifti_header(path);
    const uint64_t voxels = static_cast<uint64_t>(h.dims[0] * h.dims[1] * h.dims[2]) * static_cast<uint64_t>(h.frames);
    const uint64_t as_float = checked_product(path, voxels, sizeof(float), "the volume");
    check_memory_budget(path, h.data_bytes + as_float, "its voxels, as stored and as float,");
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
    const VolumeHeader h = read_nifti_header(path);
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
