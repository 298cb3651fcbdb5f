// HDF5 image bricks (N×H×W×3 uint8) through the HDF5 C library.
#include "soul/error.h"
#include "soul/formats.h"

#include <hdf5.h>

#include <filesystem>

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

Handle open_brick(const std::string& path, const std::string& dataset, Handle& file) {
    if (!fs::exists(path)) throw Error(path, "no such file");
    if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path, "is not an HDF5 file");
    file = Handle{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
    if (file.id < 0) throw Error(path, "cannot be opened (truncated or damaged HDF5?)");
    if (H5Lexists(file.id, dataset.c_str(), H5P_DEFAULT) <= 0) throw Error(path, "has no dataset '" + dataset + "'");
    Handle set{H5Dopen2(file.id, dataset.c_str(), H5P_DEFAULT), H5Dclose};
    if (set.id < 0) throw Error(path, "dataset '" + dataset + "' cannot be opened");
    return set;
}

}  // namespace

ImageBrickShape image_brick_shape(const std::string& path, const std::string& dataset) {
    QuietHdf5 quiet;
    Handle file{-1, H5Fclose};
    Handle set = open_brick(path, dataset, file);
    Handle space{H5Dget_space(set.id), H5Sclose};
    if (H5Sget_simple_extent_ndims(space.id) != 4) throw Error(path, "dataset '" + dataset + "' is not N×H×W×3");
    hsize_t dims[4];
    H5Sget_simple_extent_dims(space.id, dims, nullptr);
    if (dims[3] != 3) throw Error(path, "dataset '" + dataset + "' has " + std::to_string(dims[3]) + " channels, not 3");
    return {static_cast<int64_t>(dims[0]), static_cast<int64_t>(dims[1]), static_cast<int64_t>(dims[2]), 3};
}

std::vector<uint8_t> read_image_brick(const std::string& path, int64_t first, int64_t n, const std::string& dataset) {
    const ImageBrickShape shape = image_brick_shape(path, dataset);
    if (first < 0 || n < 0 || first + n > shape.count)
        throw Error(path, "images " + std::to_string(first) + ".." + std::to_string(first + n - 1) +
                              " are outside '" + dataset + "' (" + std::to_string(shape.count) + " images)");
    QuietHdf5 quiet;
    Handle file{-1, H5Fclose};
    Handle set = open_brick(path, dataset, file);
    Handle space{H5Dget_space(set.id), H5Sclose};
    const hsize_t start[4] = {static_cast<hsize_t>(first), 0, 0, 0};
    const hsize_t size[4] = {static_cast<hsize_t>(n), static_cast<hsize_t>(shape.height), static_cast<hsize_t>(shape.width), 3};
    H5Sselect_hyperslab(space.id, H5S_SELECT_SET, start, nullptr, size, nullptr);
    Handle memory{H5Screate_simple(4, size, nullptr), H5Sclose};
    std::vector<uint8_t> pixels(static_cast<size_t>(n * shape.height * shape.width * 3));
    if (n > 0 && H5Dread(set.id, H5T_NATIVE_UINT8, memory.id, space.id, H5P_DEFAULT, pixels.data()) < 0)
        throw Error(path, "images could not be read from '" + dataset + "' (truncated file?)");
    return pixels;
}

}  // namespace soul
