// Fuzz target: the stimulus image reader (core/io/image_io.cpp: libpng, libjpeg) and the resize
// every image goes through.
#include "fuzz_targets.h"
#include "soul/formats.h"

namespace soul::fuzz {

namespace {
constexpr int64_t kFuzzImageSize = 16;   // a small output keeps each run fast
}

void image(const uint8_t* data, size_t size) {
    const bool jpeg = size >= 2 && data[0] == 0xff && data[1] == 0xd8;
    const std::string path = write_scratch(jpeg ? "stimulus.jpg" : "stimulus.png", data, size);
    expect_clean([&] {
        const RgbImage rgb = read_rgb_image(path);
        if (rgb.pixels.size() != static_cast<size_t>(rgb.height * rgb.width * 3)) std::abort();
        (void)resize_rgb(rgb.pixels.data(), rgb.height, rgb.width, kFuzzImageSize);
    });
}

}  // namespace soul::fuzz
