// Stimulus images: PNG through libpng's simplified API (it reports every error through its
// `message`; ITK 5.2's PNGImageIO aborts the process on a truncated PNG, found by a test), JPEG
// through ITK's JPEGImageIO after checking the file ends with its end-of-image marker (libjpeg
// pads a truncated stream with grey and only warns). Plus the resampling used for stimuli.
#include "soul/formats.h"

#include "soul/error.h"
#include "soul/limits.h"

#include <itkImageFileReader.h>
#include <itkJPEGImageIO.h>
#include <itkRGBPixel.h>
#include <png.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace soul {
namespace {

constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr uint64_t kMaxImageBytes = uint64_t(1) << 31;  // PNG_IMAGE_SIZE's 32-bit arithmetic stays exact below this
constexpr unsigned char kJpegStart[2] = {0xff, 0xd8}, kJpegEnd[2] = {0xff, 0xd9};

RgbImage read_png(const std::string& path) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path.c_str())) throw Error(path, std::string("could not be decoded: ") + image.message);
    image.format = PNG_FORMAT_RGB;   // grey replicated, alpha composed onto black, 16-bit reduced
    // The header's size, in 64 bits (PNG_IMAGE_SIZE is 32-bit arithmetic and wraps), checked
    // against the memory budget before a byte is allocated for it.
    const uint64_t bytes = uint64_t(image.width) * uint64_t(image.height) * 3;
    try {
        check_memory_budget(path, bytes, "its " + std::to_string(image.width) + "x" + std::to_string(image.height) + " pixels");
        if (bytes > kMaxImageBytes) throw Error(path, "claims " + std::to_string(image.width) + "x" + std::to_string(image.height) + " pixels, more than this reader takes");
    } catch (...) {
        png_image_free(&image);
        throw;
    }
    RgbImage out;
    out.width = image.width;
    out.height = image.height;
    out.pixels.resize(PNG_IMAGE_SIZE(image));
    if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
        const std::string message = image.message;
        png_image_free(&image);
        throw Error(path, "could not be decoded (truncated or damaged?): " + message);
    }
    return out;
}

RgbImage read_jpeg(const std::string& path) {
    {
        std::ifstream in(path, std::ios::binary | std::ios::ate);
        const auto size = static_cast<std::streamoff>(in.tellg());
        unsigned char end[2] = {0, 0};
        if (size >= 4) {
            in.seekg(size - 2);
            in.read(reinterpret_cast<char*>(end), 2);
        }
        if (std::memcmp(end, kJpegEnd, 2) != 0) throw Error(path, "could not be decoded (truncated or damaged?): no JPEG end-of-image marker");
    }
    using ItkRgb = itk::Image<itk::RGBPixel<unsigned char>, 2>;
    auto reader = itk::ImageFileReader<ItkRgb>::New();
    reader->SetImageIO(itk::JPEGImageIO::New());
    reader->SetFileName(path);
    try {
        reader->Update();
    } catch (const itk::ExceptionObject& e) {
        throw Error(path, std::string("could not be decoded (truncated or damaged?): ") + e.GetDescription());
    }
    const auto* image = reader->GetOutput();
    const auto size = image->GetLargestPossibleRegion().GetSize();
    RgbImage out;
    out.width = static_cast<int64_t>(size[0]);
    out.height = static_cast<int64_t>(size[1]);
    out.pixels.resize(static_cast<size_t>(out.width * out.height * 3));
    std::memcpy(out.pixels.data(), image->GetBufferPointer(), out.pixels.size());
    return out;
}

}  // namespace

RgbImage read_rgb_image(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, fs::exists(path) ? "cannot be opened for reading" : "no such file");
    unsigned char head[8] = {};
    in.read(reinterpret_cast<char*>(head), 8);
    RgbImage image;
    if (std::memcmp(head, kPngSignature, 8) == 0) image = read_png(path);
    else if (std::memcmp(head, kJpegStart, 2) == 0) image = read_jpeg(path);
    else throw Error(path, "is not a PNG or JPEG image");
    if (image.width < 1 || image.height < 1) throw Error(path, "has no pixels");
    return image;
}

void write_png(const std::string& path, const RgbImage& rgb) {
    if (rgb.width < 1 || rgb.height < 1 || rgb.pixels.size() != static_cast<size_t>(rgb.width * rgb.height * 3))
        throw Error(path, "cannot be written: the image has no pixels or the wrong byte count");
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(rgb.width);
    image.height = static_cast<png_uint_32>(rgb.height);
    image.format = PNG_FORMAT_RGB;
    const std::string temporary = path + ".partial";
    if (!png_image_write_to_file(&image, temporary.c_str(), 0, rgb.pixels.data(), 0, nullptr)) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw Error(path, std::string("cannot be written (folder missing or not writable?): ") + image.message);
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) throw Error(path, "cannot be written: " + ec.message());
}

std::vector<uint8_t> resize_rgb(const uint8_t* in, int64_t in_h, int64_t in_w, int64_t out_size) {
    std::vector<uint8_t> out(static_cast<size_t>(out_size * out_size * 3));
    const double sy = static_cast<double>(in_h) / out_size, sx = static_cast<double>(in_w) / out_size;
    for (int64_t y = 0; y < out_size; ++y)
        for (int64_t x = 0; x < out_size; ++x)
            for (int c = 0; c < 3; ++c) {
                double value = 0;
                if (sy >= 1 && sx >= 1) {
                    const int64_t y0 = static_cast<int64_t>(y * sy), y1 = std::max(y0 + 1, static_cast<int64_t>((y + 1) * sy));
                    const int64_t x0 = static_cast<int64_t>(x * sx), x1 = std::max(x0 + 1, static_cast<int64_t>((x + 1) * sx));
                    double sum = 0;
                    for (int64_t yy = y0; yy < std::min(y1, in_h); ++yy)
                        for (int64_t xx = x0; xx < std::min(x1, in_w); ++xx) sum += in[(yy * in_w + xx) * 3 + c];
                    value = sum / static_cast<double>((std::min(y1, in_h) - y0) * (std::min(x1, in_w) - x0));
                } else {
                    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, in_h - 1.0), fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, in_w - 1.0);
                    const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
                    const int64_t y1 = std::min(y0 + 1, in_h - 1), x1 = std::min(x0 + 1, in_w - 1);
                    const double wy = fy - static_cast<double>(y0), wx = fx - static_cast<double>(x0);
                    value = (1 - wy) * ((1 - wx) * in[(y0 * in_w + x0) * 3 + c] + wx * in[(y0 * in_w + x1) * 3 + c]) +
                            wy * ((1 - wx) * in[(y1 * in_w + x0) * 3 + c] + wx * in[(y1 * in_w + x1) * 3 + c]);
                }
                out[static_cast<size_t>((y * out_size + x) * 3 + c)] = static_cast<uint8_t>(std::clamp(value + 0.5, 0.0, 255.0));
            }
    return out;
}

}  // namespace soul
