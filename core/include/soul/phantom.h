// The phantom subject (design.md 4.2): a synthetic NSD subject with known ground truth, written
// in exactly NSD's file layout. Anatomy from Colin27 + AAL (mricron-data), stimuli from
// Fashion-MNIST objects over textured backgrounds, voxel responses from a documented forward
// model (docs/phantom.md). Deterministic for a seed.
#pragma once

#include "soul/formats.h"
#include "soul/progress.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace soul {

// Where the phantom's inputs are: $SOUL_MRICRON_DIR and $SOUL_FASHION_MNIST_DIR when set, else
// where Debian's mricron-data and dataset-fashion-mnist install them. Every reader of these files
// (the phantom, training's images without fMRI) starts from these.
std::string default_mricron_dir();
std::string default_fashion_mnist_dir();

struct PhantomOptions {
    std::string out;                 // the NSD root to write
    uint64_t seed = 1;
    int sessions = 0;                // 750 trials each; 0: the size's default (small 4, full 16)
    double snr = 0.4;                // mean over visual voxels of signal SD / single-trial noise SD
    std::string size = "small";      // small | full
    int image_size = 128;            // stimuli are image_size × image_size RGB
    int subject = 1;                 // written as subjNN
    std::string mricron_dir = default_mricron_dir();
    std::string fashion_mnist_dir = default_fashion_mnist_dir();
};

// The Debian data the phantom is made from is there; else soul::Error naming the file and package.
// Writes nothing.
void check_phantom_inputs(const PhantomOptions& options);
// Checks options and the data the phantom needs; throws soul::Error saying what is wrong.
void validate_phantom_options(const PhantomOptions& options);

struct PhantomSummary {
    int sessions = 0;
    int64_t trials = 0, images = 0, shared_images = 0;
    std::array<int64_t, 3> grid{0, 0, 0};
    int64_t brain_voxels = 0, visual_voxels = 0;
    std::array<int64_t, 8> stream_voxels{};   // by NSD stream code
    double seconds = 0;
};

// Writes the whole subject under options.out. Reports progress; honours cancellation (a
// cancelled run leaves no file that looks complete: each is written to a temporary name first).
PhantomSummary generate_phantom(const PhantomOptions& options, const Progress& progress = {});

// ---- the stimuli, exposed for tests, figures and later modules ----

constexpr int kCategories = 10;
extern const std::array<const char*, kCategories> kCategoryNames;   // Fashion-MNIST's classes

struct NamedColour {
    const char* name;
    std::array<uint8_t, 3> rgb;
};
extern const std::vector<NamedColour> kPhantomColours;

enum class Texture { Stripes = 0, Checks = 1, Dots = 2, Waves = 3 };
extern const std::array<const char*, 4> kTextureNames;

struct Scene {
    int category = 0;                // Fashion-MNIST class
    int fmnist_index = 0;            // which training image of Fashion-MNIST
    int object_colour = 0;           // index into kPhantomColours
    int background_colour = 1;
    Texture texture = Texture::Stripes;
    double texture_angle = 0;        // radians
    double texture_period = 12;      // pixels at 128
    double x = 0, y = 0;             // object centre in the visual field, [-1, 1] (y up)
    double size = 0.5;               // object box side as a fraction of the image side
};

// The scene of image `image` (0-based nsdId) of a phantom with `seed`.
Scene phantom_scene(uint64_t seed, int64_t image, const std::vector<uint8_t>& labels);
// Renders a scene as size × size × 3 bytes (row-major, top row first).
std::vector<uint8_t> render_scene(const Scene& scene, const IdxImages& objects, int size);
// Five captions with varied wording ("a red sneaker in the upper left on green stripes").
std::vector<std::string> scene_captions(const Scene& scene, uint64_t seed, int64_t image);
// "upper left", "center", ... for a position.
std::string position_words(double x, double y);

// What the phantom's streams carry (docs/phantom.md, "Forward model"): the nominal tuning weight of
// a voxel of NSD stream `stream` on each thing a reconstruction shows: the category (category
// patches and exemplar shape), the position (position tuning, and the retinotopic maps, which show
// where the object is), the colour (colour-opponent maps, hue tuning) and the edges (retinotopic
// luminance and edge energy). The same constants build the tuning, so predictions made from these
// follow the forward model.
enum class PhantomFeature { Category, Position, Colour, Edges };
double phantom_carrying_weight(int stream, PhantomFeature feature);

}  // namespace soul
