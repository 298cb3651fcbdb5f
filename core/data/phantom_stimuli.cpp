// Phantom stimuli: a Fashion-MNIST object (Xiao, Rasul & Vollgraf 2017; Debian's
// dataset-fashion-mnist), tinted, scaled and placed over a textured, coloured background, and
// captions generated from the scene with varied wording.
#include "phantom_rng.h"
#include "soul/phantom.h"

#include <algorithm>
#include <cmath>

namespace soul {

const std::array<const char*, kCategories> kCategoryNames = {"t-shirt", "trousers", "pullover", "dress", "coat",
                                                             "sandal",  "shirt",    "sneaker",  "bag",   "ankle boot"};

const std::vector<NamedColour> kPhantomColours = {
    {"red", {220, 40, 40}},    {"orange", {240, 140, 30}}, {"yellow", {235, 215, 40}}, {"green", {50, 170, 60}},
    {"cyan", {40, 200, 210}},  {"blue", {45, 80, 220}},    {"purple", {140, 60, 190}}, {"pink", {240, 120, 180}},
};

const std::array<const char*, 4> kTextureNames = {"stripes", "checks", "dots", "waves"};

using phantom::key;
using phantom::Rng;

Scene phantom_scene(uint64_t seed, int64_t image, const std::vector<uint8_t>& labels) {
    Rng rng(key(seed, phantom::kScenePurpose, static_cast<uint64_t>(image)));
    Scene s;
    s.category = static_cast<int>(rng.below(kCategories));
    // A training image of that class: step from a random start to the next one of the class.
    const int64_t n = static_cast<int64_t>(labels.size());
    int64_t index = rng.below(n);
    for (int64_t step = 0; step < n && labels[static_cast<size_t>(index)] != s.category; ++step) index = (index + 1) % n;
    s.fmnist_index = static_cast<int>(index);
    const int colours = static_cast<int>(kPhantomColours.size());
    s.object_colour = static_cast<int>(rng.below(colours));
    s.background_colour = static_cast<int>((s.object_colour + 1 + rng.below(colours - 1)) % colours);
    s.texture = static_cast<Texture>(rng.below(4));
    s.texture_angle = rng.below(4) * 0.7853981633974483;
    s.texture_period = rng.uniform(8, 18);
    s.size = rng.uniform(0.3, 0.75);
    // One of nine regions of the field, jittered, kept inside the image.
    const double cx = (rng.below(3) - 1) * 0.55 + rng.uniform(-0.08, 0.08);
    const double cy = (rng.below(3) - 1) * 0.55 + rng.uniform(-0.08, 0.08);
    const double half = s.size;  // half the box side in field units ([-1, 1] spans the image)
    s.x = std::clamp(cx, -1 + half, 1 - half);
    s.y = std::clamp(cy, -1 + half, 1 - half);
    return s;
}

namespace {

double texture_value(const Scene& s, double px, double py, int size) {
    const double scale = size / 128.0;
    const double period = s.texture_period * scale;
    const double c = std::cos(s.texture_angle), sn = std::sin(s.texture_angle);
    const double u = (px * c + py * sn) / period, v = (-px * sn + py * c) / period;
    constexpr double kTau = 6.283185307179586;
    switch (s.texture) {
        case Texture::Stripes: return std::fmod(std::floor(u), 2.0) == 0 ? 1.0 : 0.0;
        case Texture::Checks: return std::fmod(std::floor(u) + std::floor(v) + 2e6, 2.0) == 0 ? 1.0 : 0.0;
        case Texture::Dots: {
            const double du = u - std::floor(u) - 0.5, dv = v - std::floor(v) - 0.5;
            return du * du + dv * dv < 0.09 ? 1.0 : 0.0;
        }
        case Texture::Waves: return 0.5 + 0.5 * std::sin(kTau * (u + 0.25 * std::sin(kTau * v * 0.5)));
    }
    return 0;
}

}  // namespace

std::vector<uint8_t> render_scene(const Scene& s, const IdxImages& objects, int size) {
    std::vector<uint8_t> rgb(static_cast<size_t>(size) * size * 3);
    const auto& bg = kPhantomColours[static_cast<size_t>(s.background_colour)].rgb;
    const auto& fg = kPhantomColours[static_cast<size_t>(s.object_colour)].rgb;
    // Object box in pixels.
    const double box = s.size * size;
    const double left = (s.x + 1) / 2 * size - box / 2, top = (1 - s.y) / 2 * size - box / 2;
    const uint8_t* object = objects.pixels.data() + static_cast<size_t>(s.fmnist_index) * objects.rows * objects.cols;
    for (int row = 0; row < size; ++row)
        for (int col = 0; col < size; ++col) {
            // Background: the colour, light and dark with the texture.
            const double t = texture_value(s, col, row, size);
            double pixel[3];
            for (int c = 0; c < 3; ++c) pixel[c] = bg[c] * (0.45 + 0.4 * t) + 255 * 0.1 * t;
            // Object: Fashion-MNIST intensity as coverage and shading, bilinearly scaled.
            const double ox = (col + 0.5 - left) / box * objects.cols - 0.5, oy = (row + 0.5 - top) / box * objects.rows - 0.5;
            if (ox > -1 && oy > -1 && ox < objects.cols && oy < objects.rows) {
                const int x0 = static_cast<int>(std::floor(ox)), y0 = static_cast<int>(std::floor(oy));
                const double fx = ox - x0, fy = oy - y0;
                auto at = [&](int x, int y) -> double {
                    if (x < 0 || y < 0 || x >= objects.cols || y >= objects.rows) return 0;
                    return object[y * objects.cols + x] / 255.0;
                };
                const double a = (1 - fx) * (1 - fy) * at(x0, y0) + fx * (1 - fy) * at(x0 + 1, y0) +
                                 (1 - fx) * fy * at(x0, y0 + 1) + fx * fy * at(x0 + 1, y0 + 1);
                const double coverage = std::min(1.0, a * 2.5);
                const double shade = 0.55 + 0.45 * a;
                for (int c = 0; c < 3; ++c) pixel[c] = pixel[c] * (1 - coverage) + fg[c] * shade * coverage;
            }
            for (int c = 0; c < 3; ++c)
                rgb[(static_cast<size_t>(row) * size + col) * 3 + c] = static_cast<uint8_t>(std::clamp(pixel[c] + 0.5, 0.0, 255.0));
        }
    return rgb;
}

std::string position_words(double x, double y) {
    const int column = x < -0.3 ? 0 : x > 0.3 ? 2 : 1;
    const int row = y > 0.3 ? 0 : y < -0.3 ? 2 : 1;
    static const char* names[3][3] = {{"upper left", "top", "upper right"},
                                      {"left", "center", "right"},
                                      {"lower left", "bottom", "lower right"}};
    return names[row][column];
}

std::vector<std::string> scene_captions(const Scene& s, uint64_t seed, int64_t image) {
    Rng rng(key(seed, phantom::kCaptionPurpose, static_cast<uint64_t>(image)));
    static const std::array<std::vector<const char*>, kCategories> synonyms = {{
        {"t-shirt", "top", "tee"},       {"pair of trousers", "trousers", "pair of pants"},
        {"pullover", "sweater", "jumper"}, {"dress", "dress", "frock"},
        {"coat", "jacket", "coat"},      {"sandal", "sandal", "summer shoe"},
        {"shirt", "shirt", "blouse"},    {"sneaker", "trainer", "running shoe"},
        {"bag", "handbag", "purse"},     {"ankle boot", "boot", "short boot"},
    }};
    const auto pick = [&](const std::vector<const char*>& words) { return std::string(words[static_cast<size_t>(rng.below(static_cast<int64_t>(words.size())))]); };
    const std::string object = pick(synonyms[static_cast<size_t>(s.category)]);
    const std::string colour = kPhantomColours[static_cast<size_t>(s.object_colour)].name;
    const std::string background = kPhantomColours[static_cast<size_t>(s.background_colour)].name;
    const std::string texture = kTextureNames[static_cast<size_t>(s.texture)];
    const std::string where = position_words(s.x, s.y);
    const std::string size = s.size < 0.45 ? "small" : s.size > 0.6 ? "large" : "medium-sized";
    const std::string place = where == "center" ? "in the center" : "in the " + where;
    const auto article = [](const std::string& word) {
        return std::string(std::string("aeiou").find(word[0]) != std::string::npos ? "an " : "a ") + word;
    };
    std::string singular = texture == "checks" ? "checked" : texture == "dots" ? "dotted" : texture == "waves" ? "wavy" : "striped";
    return {
        article(colour) + " " + object + " " + place + " on " + background + " " + texture,
        article(size) + " " + colour + " " + object + " " + place + " of the picture",
        article(colour) + " " + object + " over " + article(background) + " " + singular + " background",
        background + " " + texture + " behind " + article(size) + " " + colour + " " + object,
        "the " + object + " is " + colour + " and sits " + place + " of the frame",
    };
}

}  // namespace soul
