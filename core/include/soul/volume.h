// Volumes: 3D and 4D images with float voxels and an IJK→RAS affine, read from NIfTI via ITK.
#pragma once

#include "soul/progress.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace soul {

// A 4×4 affine, row-major. ijk_to_ras maps voxel indices (i, j, k, 1) to RAS+ millimetres, the
// convention of NIfTI's sform/qform and of nibabel's `img.affine`.
struct Affine {
    std::array<double, 16> m{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};

    double operator()(int row, int col) const { return m[row * 4 + col]; }
    double& operator()(int row, int col) { return m[row * 4 + col]; }
    std::array<double, 3> apply(double i, double j, double k) const;
    Affine inverse() const;
    Affine operator*(const Affine& other) const;
    bool nearly_equal(const Affine& other, double tolerance = 1e-4) const;
};

// Geometry and storage facts of a NIfTI file, read without loading voxels.
struct VolumeHeader {
    std::string path;
    std::array<int64_t, 3> dims{0, 0, 0};
    int64_t frames = 1;                         // 4th dimension; 1 for a 3D volume
    std::array<double, 3> spacing{1, 1, 1};     // mm
    Affine ijk_to_ras;
    std::string datatype;                       // as stored on disk: uint8, int16, float32, ...
    int nifti_version = 1;                      // 1 or 2
    int qform_code = 0;
    int sform_code = 0;
    double scl_slope = 1.0;
    double scl_inter = 0.0;
    uint64_t data_offset = 0;                   // bytes before the voxels (vox_offset)
    uint64_t data_bytes = 0;                    // bytes of voxel data the header promises
    std::string data_path;                      // the file the voxels are in: `path`, or the .img of a pair
    bool pair = false;                          // the two-file form (.hdr + .img) of FSL and SPM
};

// A volume in memory: float voxels, i fastest, then j, k, then frame (NIfTI order).
struct Volume {
    std::array<int64_t, 3> dims{0, 0, 0};
    int64_t frames = 1;
    std::array<double, 3> spacing{1, 1, 1};
    Affine ijk_to_ras;
    std::string datatype = "float32";           // the on-disk type it was read from
    std::string path;                           // where it was read from; empty if made in memory
    std::vector<float> voxels;

    int64_t frame_size() const { return dims[0] * dims[1] * dims[2]; }
    size_t index(int64_t i, int64_t j, int64_t k, int64_t t = 0) const {
        return static_cast<size_t>(((t * dims[2] + k) * dims[1] + j) * dims[0] + i);
    }
    float at(int64_t i, int64_t j, int64_t k, int64_t t = 0) const { return voxels[index(i, j, k, t)]; }
    // The (i, j, k) of a voxel index within one frame (the inverse of index()).
    std::array<int64_t, 3> ijk(int64_t n) const { return {n % dims[0], (n / dims[0]) % dims[1], n / (dims[0] * dims[1])}; }
    bool contains(int64_t i, int64_t j, int64_t k) const {
        return i >= 0 && j >= 0 && k >= 0 && i < dims[0] && j < dims[1] && k < dims[2];
    }
    const float* frame_data(int64_t t) const { return voxels.data() + t * frame_size(); }

    // A blank 3D volume on the grid of `like` (same dims, spacing, affine), filled with `value`.
    static Volume zeros_like(const Volume& like, float value = 0.0f);
};

// Reads the header only (cheap: for `info`, and to check a 4D index before loading voxels).
VolumeHeader read_nifti_header(const std::string& path);

// Reads a whole NIfTI file (.nii or .nii.gz, or a .hdr/.img pair; NIfTI-1 or NIfTI-2), all frames,
// scaled by scl_slope/scl_inter, as float. Throws soul::Error naming the file on any problem.
Volume read_nifti(const std::string& path);

// Reads one 3D volume of a 4D series. Throws soul::Error if `frame` is out of range.
Volume read_nifti_frame(const std::string& path, int64_t frame);

// One 3D volume of a 4D volume in memory.
Volume extract_frame(const Volume& series, int64_t frame);

// The raw voxels of a NIfTI file in their on-disk type, opened once, so that all frames of a
// large 4D series (an NSD session: 81×104×83×750 int16) can be taken out one by one without
// converting the whole series to float.
class NiftiSeries {
public:
    // Reads the voxels, reporting the megabytes read to `progress`; throws soul::Cancelled when its
    // token is cancelled (between chunks of 8 MiB).
    explicit NiftiSeries(const std::string& path, const Progress& progress = {});
    ~NiftiSeries();
    NiftiSeries(NiftiSeries&&) noexcept;
    NiftiSeries& operator=(NiftiSeries&&) noexcept;

    const VolumeHeader& header() const;
    Volume frame(int64_t t) const;             // float, scaled, with the series' geometry

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// On-disk type for writing.
enum class StoredType { uint8, int16, int32, float32 };

// Writes a volume as NIfTI-1 (.nii or .nii.gz by extension) with qform and sform set from its
// affine (code 1, scanner anatomical). Values are rounded when the stored type is an integer.
void write_nifti(const Volume& volume, const std::string& path, StoredType stored = StoredType::float32);

// True when both volumes have the same 3D dims and affine (within `tolerance` mm).
bool same_grid(const Volume& a, const Volume& b, double tolerance = 1e-3);

// Smallest and largest finite voxel value.
std::array<float, 2> value_range(const Volume& volume);

// The anatomical direction each voxel axis points to most, as the letter of its positive end
// ("R", "L", "A", "P", "S", "I"); `orientation_code` gives the three letters (e.g. "RAS", "LPS").
std::string axis_direction(const Affine& ijk_to_ras, int axis);
std::string orientation_code(const Affine& ijk_to_ras);

}  // namespace soul
