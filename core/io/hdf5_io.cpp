// HDF5 image bricks (N×H×W×3 uint8) through the HDF5 C library.
#include "isolated.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/limits.h"

#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <limits>

namespace fs = std::filesystem;

namespace soul {
namespace {

// Silences HDF5's own error stack printing; our messages say what went wrong.
struct QuietHdf5 {
    H5E_auto2_t function = nullptr;
    void* data = nullptr;
    QuietHdf5() {
        H5Eget_auto2(H5E_DEFAULT, &function, &data);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, function, data); }
};

// Owns one HDF5 identifier; move-only, so an identifier is closed exactly once.
struct Handle {
    hid_t id;
    herr_t (*close)(hid_t);
    Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
    Handle(Handle&& other) noexcept : id(other.id), close(other.close) { other.id = -1; }
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            if (id >= 0) close(id);
            id = other.id;
            close = other.close;
            other.id = -1;
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() {
        if (id >= 0) close(id);
    }
};

}  // namespace

ImageBrickWriter::ImageBrickWriter(const std::string& path, const std::string& dataset, int64_t count, int64_t height,
                                   int64_t width)
    : path_(path), count_(count), height_(height), width_(width) {
    QuietHdf5 quiet;
    file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file_ < 0) throw Error(path, "cannot be created (folder missing or not writable?)");
    const hsize_t dims[4] = {static_cast<hsize_t>(count), static_cast<hsize_t>(height), static_cast<hsize_t>(width), 3};
    space_ = H5Screate_simple(4, dims, nullptr);
    Handle dcpl{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
    // No modification times in the file: the same images give the same bytes.
    H5Pset_obj_track_times(dcpl.id, false);
    dataset_ = H5Dcreate2(file_, dataset.c_str(), H5T_NATIVE_UINT8, space_, H5P_DEFAULT, dcpl.id, H5P_DEFAULT);
    if (dataset_ < 0) {
        close();
        throw Error(path, "cannot create dataset " + dataset);
    }
}

ImageBrickWriter::~ImageBrickWriter() { close(); }

void ImageBrickWriter::write(int64_t first, int64_t n, const uint8_t* pixels) {
    if (first < 0 || n <= 0 || first + n > count_) throw Error(path_, "image range outside the brick");
    QuietHdf5 quiet;
    const hsize_t start[4] = {static_cast<hsize_t>(first), 0, 0, 0};
    const hsize_t size[4] = {static_cast<hsize_t>(n), static_cast<hsize_t>(height_), static_cast<hsize_t>(width_), 3};
    H5Sselect_hyperslab(space_, H5S_SELECT_SET, start, nullptr, size, nullptr);
    Handle memory{H5Screate_simple(4, size, nullptr), H5Sclose};
    if (H5Dwrite(dataset_, H5T_NATIVE_UINT8, memory.id, space_, H5P_DEFAULT, pixels) < 0)
        throw Error(path_, "could not write images");
}

void ImageBrickWriter::close() {
    if (dataset_ >= 0) H5Dclose(dataset_);
    if (space_ >= 0) H5Sclose(space_);
    if (file_ >= 0) H5Fclose(file_);
    dataset_ = space_ = file_ = -1;
}

namespace {

// The dataset `name` of the HDF5 file at `path`, opened with its file (kept open in `file`).
Handle open_dataset(const std::string& path, const std::string& name, Handle& file) {
    if (!fs::exists(path)) throw Error(path, "no such file");
    if (fs::is_directory(path)) throw Error(path, "is a folder, not an HDF5 file");
    if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path, "is not an HDF5 file");
    file = Handle{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
    if (file.id < 0) throw Error(path, "cannot be opened (truncated or damaged HDF5?)");
    if (H5Lexists(file.id, name.c_str(), H5P_DEFAULT) <= 0) throw Error(path, "has no dataset '" + name + "'");
    Handle set{H5Dopen2(file.id, name.c_str(), H5P_DEFAULT), H5Dclose};
    if (set.id < 0) throw Error(path, "dataset '" + name + "' cannot be opened");
    return set;
}

// The dataset's shape; refuses any rank but `rank`.
std::vector<hsize_t> dataset_dims(const std::string& path, const std::string& name, const Handle& set, int rank, const char* layout) {
    Handle space{H5Dget_space(set.id), H5Sclose};
    if (space.id < 0 || H5Sget_simple_extent_ndims(space.id) != rank)
        throw Error(path, "dataset '" + name + "' is not " + layout);
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
    return dims;
}

// After a failed read: when the dataset is stored with a filter this HDF5 library cannot decode
// (h5py's LZF, Blosc, …), says so, rather than letting the failure read as a truncated file. An
// optional filter (h5py writes LZF as one) may have been skipped for some chunks, so this is
// asked only once reading has failed.
void explain_filters(const std::string& path, const std::string& name, const Handle& set) {
    Handle plist{H5Dget_create_plist(set.id), H5Pclose};
    if (plist.id < 0) return;
    const int filters = H5Pget_nfilters(plist.id);
    for (int f = 0; f < filters; ++f) {
        unsigned int flags = 0;
        size_t values = 0;
        char filter_name[64] = {};
        const H5Z_filter_t id = H5Pget_filter2(plist.id, static_cast<unsigned>(f), &flags, &values, nullptr, sizeof filter_name, filter_name, nullptr);
        if (id < 0) throw Error(path, "dataset '" + name + "' has a damaged filter pipeline");
        if (H5Zfilter_avail(id) <= 0)
            throw Error(path, "dataset '" + name + "' is compressed with filter " + std::to_string(id) +
                                  (filter_name[0] ? " (" + std::string(filter_name) + ")" : std::string()) +
                                  ", which this HDF5 library cannot decode; rewrite it with gzip, e.g. h5repack -f GZIP=4 IN OUT");
    }
}

// H × W × 3 bytes per image, checked against 64 bits and the memory budget for `n` images.
uint64_t brick_bytes(const std::string& path, const ImageBrickShape& shape, int64_t n) {
    const uint64_t image = checked_product(path, checked_product(path, static_cast<uint64_t>(shape.height), static_cast<uint64_t>(shape.width), "image size"), 3, "image size");
    const uint64_t bytes = checked_product(path, image, static_cast<uint64_t>(n), "images read");
    check_memory_budget(path, bytes, std::to_string(n) + " images");
    return bytes;
}

// In-process reads, each run by the public functions below in a child process (isolated.h):
// libhdf5 can crash on a malformed file.
ImageBrickShape brick_shape_here(const std::string& path, const std::string& dataset) {
    QuietHdf5 quiet;
    Handle file{-1, H5Fclose};
    Handle set = open_dataset(path, dataset, file);
    const std::vector<hsize_t> dims = dataset_dims(path, dataset, set, 4, "N×H×W×3");
    if (dims[3] != 3) throw Error(path, "dataset '" + dataset + "' has " + std::to_string(dims[3]) + " channels, not 3");
    for (int d = 0; d < 3; ++d)
        if (dims[static_cast<size_t>(d)] > static_cast<hsize_t>(std::numeric_limits<int32_t>::max()))
            throw Error(path, "dataset '" + dataset + "' has an impossible shape (" + std::to_string(dims[static_cast<size_t>(d)]) + " along axis " +
                                  std::to_string(d) + ")");
    return {static_cast<int64_t>(dims[0]), static_cast<int64_t>(dims[1]), static_cast<int64_t>(dims[2]), 3};
}

// The images of `ids`, one after another into `out`.
void read_brick_here(const std::string& path, const std::string& dataset, const ImageBrickShape& shape, const std::vector<int64_t>& ids,
                     uint8_t* out) {
    QuietHdf5 quiet;
    Handle file{-1, H5Fclose};
    Handle set = open_dataset(path, dataset, file);
    Handle space{H5Dget_space(set.id), H5Sclose};
    const hsize_t size[4] = {1, static_cast<hsize_t>(shape.height), static_cast<hsize_t>(shape.width), 3};
    Handle memory{H5Screate_simple(4, size, nullptr), H5Sclose};
    const size_t bytes = static_cast<size_t>(shape.height * shape.width * 3);
    for (size_t i = 0; i < ids.size(); ++i) {
        const hsize_t start[4] = {static_cast<hsize_t>(ids[i]), 0, 0, 0};
        H5Sselect_hyperslab(space.id, H5S_SELECT_SET, start, nullptr, size, nullptr);
        if (H5Dread(set.id, H5T_NATIVE_UINT8, memory.id, space.id, H5P_DEFAULT, out + i * bytes) < 0) {
            explain_filters(path, dataset, set);
            throw Error(path, "image " + std::to_string(ids[i]) + " could not be read from '" + dataset + "' (truncated or damaged file?)");
        }
    }
}

void read_betas_here(const std::string& path, const std::array<int64_t, 3>& grid, int64_t trials, int16_t* out) {
    QuietHdf5 quiet;
    Handle file{-1, H5Fclose};
    Handle set = open_dataset(path, "betas", file);
    const std::vector<hsize_t> dims = dataset_dims(path, "betas", set, 4, "trials×Z×Y×X");
    if (dims[0] != static_cast<hsize_t>(trials) || dims[1] != static_cast<hsize_t>(grid[2]) || dims[2] != static_cast<hsize_t>(grid[1]) ||
        dims[3] != static_cast<hsize_t>(grid[0]))
        throw Error(path, "dataset 'betas' has shape " + std::to_string(dims[0]) + "x" + std::to_string(dims[1]) + "x" + std::to_string(dims[2]) + "x" +
                              std::to_string(dims[3]) + "; expected " + std::to_string(trials) + "x" + std::to_string(grid[2]) + "x" +
                              std::to_string(grid[1]) + "x" + std::to_string(grid[0]) + " (trials x Z x Y x X of the ROI grid)");
    if (H5Dread(set.id, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        explain_filters(path, "betas", set);
        throw Error(path, "dataset 'betas' could not be read (truncated or damaged file?)");
    }
}

}  // namespace

ImageBrickShape image_brick_shape(const std::string& path, const std::string& dataset) {
    ImageBrickShape shape;
    run_isolated(
        path, sizeof shape, [&](void* shared) { *static_cast<ImageBrickShape*>(shared) = brick_shape_here(path, dataset); },
        [&](const void* shared) { shape = *static_cast<const ImageBrickShape*>(shared); });
    return shape;
}

namespace {

// The images of `ids` of a brick of `shape`, read in a child process.
std::vector<uint8_t> read_rows(const std::string& path, const std::string& dataset, const ImageBrickShape& shape, const std::vector<int64_t>& ids) {
    std::vector<uint8_t> pixels(static_cast<size_t>(brick_bytes(path, shape, static_cast<int64_t>(ids.size()))));
    if (ids.empty()) return pixels;
    run_isolated(
        path, pixels.size(), [&](void* shared) { read_brick_here(path, dataset, shape, ids, static_cast<uint8_t*>(shared)); },
        [&](const void* shared) { std::memcpy(pixels.data(), shared, pixels.size()); });
    return pixels;
}

}  // namespace

std::vector<uint8_t> read_image_brick_rows(const std::string& path, const std::vector<int64_t>& ids, const std::string& dataset) {
    const ImageBrickShape shape = image_brick_shape(path, dataset);
    for (const int64_t id : ids)
        if (id < 0 || id >= shape.count)
            throw Error(path, "image " + std::to_string(id) + " is outside '" + dataset + "' (" + std::to_string(shape.count) + " images)");
    return read_rows(path, dataset, shape, ids);
}

std::vector<uint8_t> read_image_brick(const std::string& path, int64_t first, int64_t n, const std::string& dataset) {
    const ImageBrickShape shape = image_brick_shape(path, dataset);
    if (first < 0 || n < 0 || first > shape.count || n > shape.count - first)
        throw Error(path, "images " + std::to_string(first) + ".." + std::to_string(first + n - 1) + " are outside '" + dataset + "' (" +
                              std::to_string(shape.count) + " images)");
    std::vector<int64_t> ids(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = first + i;
    return read_rows(path, dataset, shape, ids);
}

std::vector<int16_t> read_hdf5_betas(const std::string& path, const std::array<int64_t, 3>& grid, int64_t trials,
                                     const std::vector<int64_t>& voxels) {
    uint64_t frame = 1;
    for (const int64_t g : grid) frame = checked_product(path, frame, static_cast<uint64_t>(g), "the ROI grid");
    for (const int64_t v : voxels)
        if (v < 0 || static_cast<uint64_t>(v) >= frame) throw Error(path, "voxel " + std::to_string(v) + " is outside the ROI grid");
    const uint64_t count = checked_product(path, frame, static_cast<uint64_t>(trials), "betas");
    const uint64_t all_bytes = checked_product(path, count, sizeof(int16_t), "betas");
    const uint64_t kept = checked_product(path, static_cast<uint64_t>(trials), voxels.size(), "betas");
    check_memory_budget(path, all_bytes + kept * sizeof(int16_t), "the betas");
    std::vector<int16_t> rows(static_cast<size_t>(kept));
    run_isolated(
        path, static_cast<size_t>(all_bytes), [&](void* shared) { read_betas_here(path, grid, trials, static_cast<int16_t*>(shared)); },
        [&](const void* shared) {
            // trials × Z × Y × X in C order: the same voxel order as NIfTI's x-fastest volume.
            const int16_t* all = static_cast<const int16_t*>(shared);
            const size_t V = voxels.size();
            for (int64_t t = 0; t < trials; ++t)
                for (size_t v = 0; v < V; ++v)
                    rows[static_cast<size_t>(t) * V + v] = all[static_cast<uint64_t>(t) * frame + static_cast<uint64_t>(voxels[v])];
        });
    return rows;
}

}  // namespace soul
