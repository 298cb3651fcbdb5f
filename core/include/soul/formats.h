// The small file formats of NSD's layout, read and written by the engine: MATLAB v5 matrices
// (matio), HDF5 image bricks (libhdf5), CSV tables, COCO caption JSON, Fashion-MNIST IDX, and
// PNG/JPEG images (libpng, ITK).
// Every reader throws soul::Error naming the file (and field) on a problem.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace soul {

// A numeric MATLAB matrix, as double, column-major like MATLAB (element (r, c) at c*rows + r).
struct MatMatrix {
    std::string name;
    int64_t rows = 0, cols = 0;
    std::vector<double> values;
    double at(int64_t r, int64_t c) const { return values[static_cast<size_t>(c * rows + r)]; }
};

// Writes matrices into one MATLAB v5 file, with a fixed header text (no creation date, so the
// same content gives the same bytes).
void write_mat(const std::string& path, const std::vector<MatMatrix>& matrices);
// Reads one named numeric matrix (any numeric class, converted to double).
MatMatrix read_mat(const std::string& path, const std::string& name);
// The names of the variables in a MAT file.
std::vector<std::string> mat_variables(const std::string& path);

// HDF5 uint8 image bricks: dataset `name` of shape N×H×W×3 (NSD's `imgBrick`).
class ImageBrickWriter {
public:
    ImageBrickWriter(const std::string& path, const std::string& dataset, int64_t count, int64_t height, int64_t width);
    ~ImageBrickWriter();
    ImageBrickWriter(const ImageBrickWriter&) = delete;
    ImageBrickWriter& operator=(const ImageBrickWriter&) = delete;
    // Writes images [first, first + n) from H×W×3 bytes each, laid out one after another.
    void write(int64_t first, int64_t n, const uint8_t* pixels);
    void close();

private:
    std::string path_;
    int64_t file_ = -1, dataset_ = -1, space_ = -1;
    int64_t count_, height_, width_;
};

struct ImageBrickShape {
    int64_t count = 0, height = 0, width = 0, channels = 0;
};
ImageBrickShape image_brick_shape(const std::string& path, const std::string& dataset = "imgBrick");
// Reads images [first, first + n) as n×H×W×3 bytes.
std::vector<uint8_t> read_image_brick(const std::string& path, int64_t first, int64_t n,
                                      const std::string& dataset = "imgBrick");
// The images of `ids` (any order, repeats allowed), one after another: ids.size() × H × W × 3.
std::vector<uint8_t> read_image_brick_rows(const std::string& path, const std::vector<int64_t>& ids,
                                           const std::string& dataset = "imgBrick");
// NSD's HDF5 betas: dataset `betas`, trials × Z × Y × X int16 on the ROI grid (X, Y, Z); returns
// trials × voxels.size() values, the voxels given as indices into the grid (x fastest).
// The HDF5 readers run libhdf5 in a child process: it can crash on a malformed file, and that
// must end in a message (docs/reliability.md).
std::vector<int16_t> read_hdf5_betas(const std::string& path, const std::array<int64_t, 3>& grid, int64_t trials,
                                     const std::vector<int64_t>& voxels);

// CSV with a header row; fields may be quoted ("a, b"). Rows are maps column → text.
struct CsvTable {
    std::vector<std::string> columns;
    std::vector<std::vector<std::string>> rows;
    int column(const std::string& name) const;   // −1 if absent
    // The column's index; throws soul::Error naming `path` when it is missing.
    int require(const std::string& name, const std::string& path) const;
    // A cell read as a finite number; throws soul::Error naming `path`, the row and the column.
    double number(size_t row, int column, const std::string& path) const;
    // A cell read as a whole number (no fraction, no trailing text), the same way.
    int64_t integer(size_t row, int column, const std::string& path) const;
};
CsvTable read_csv(const std::string& path);
void write_csv(const std::string& path, const CsvTable& table);
// `value` with `digits` digits after the point, for reports and tables.
std::string fixed_digits(double value, int digits);
inline std::string fixed3(double value) { return fixed_digits(value, 3); }

// COCO caption annotations: image id → its captions, in file order.
std::map<int64_t, std::vector<std::string>> read_coco_captions(const std::string& path);

// Fashion-MNIST / MNIST IDX files (gzip or plain): images N×28×28 bytes, labels N bytes.
struct IdxImages {
    int64_t count = 0, rows = 0, cols = 0;
    std::vector<uint8_t> pixels;
};
IdxImages read_idx_images(const std::string& path);
std::vector<uint8_t> read_idx_labels(const std::string& path);

// An 8-bit RGB image, rows top to bottom, H×W×3 bytes.
struct RgbImage {
    int64_t height = 0, width = 0;
    std::vector<uint8_t> pixels;
};
// PNG or JPEG, by content; grey is replicated, alpha composed onto black.
RgbImage read_rgb_image(const std::string& path);
// PNG, written atomically.
void write_png(const std::string& path, const RgbImage& image);
// Area averaging when shrinking, bilinear interpolation when enlarging; the result is size×size.
std::vector<uint8_t> resize_rgb(const uint8_t* pixels, int64_t height, int64_t width, int64_t size);

// Writes `bytes` to `path` through a temporary file and a rename.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace soul
