// The phantom subject generator: builds the anatomy and the forward model, renders the stimuli,
// simulates single-trial betas session by session (memory bounded by one session), and writes
// everything in NSD's layout (design.md 4.1) plus the ground truth.
#include "phantom_model.h"
#include "phantom_rng.h"

#include "soul/error.h"
#include "soul/formats.h"
#include "soul/json_text.h"
#include "soul/nsd_layout.h"
#include "soul/phantom_layout.h"
#include "soul/phantom.h"
#include "../util/parallel.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

namespace fs = std::filesystem;

namespace soul {

namespace {
std::string environment_or(const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return value && *value ? value : fallback;
}
}  // namespace

std::string default_mricron_dir() { return environment_or("SOUL_MRICRON_DIR", "/usr/share/mricron/templates"); }
std::string default_fashion_mnist_dir() { return environment_or("SOUL_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"); }
namespace {

using phantom::key;
using phantom::Rng;

// Shared (test) images: shown three times each, like NSD's shared 1000.
constexpr int kRepeats = 3;
constexpr int kSharedSmall = 100, kSharedFull = 1000;
constexpr int kSessionsSmall = 4, kSessionsFull = 16;
// Betas: noise SD in percent signal change, share of spatially smooth noise, smooth noise fields,
// per-session offset SD (in noise SDs), and NSD's int16 scale.
constexpr double kNoisePercent = 1.5;
constexpr double kSmoothNoiseShare = 0.5;
constexpr int kNoiseFields = 16;
constexpr double kNoiseFieldSigmaVoxels = 2.0;
constexpr double kSessionOffsetSd = 0.5;
constexpr double kBetaScale = 300.0;
// Images whose responses set each voxel's z-scoring.
constexpr int64_t kNormalisationImages = 1000;
constexpr int kImagesPerChunk = 256;
// The largest stimulus side: NSD's own are 425 px and the generator's at most 512; a full phantom
// at 512 px already writes about 8 GB of stimuli.
constexpr int kMaxImageSize = 512;

int shared_count(const PhantomOptions& o) { return o.size == "full" ? kSharedFull : kSharedSmall; }
int session_count(const PhantomOptions& o) { return o.sessions > 0 ? o.sessions : (o.size == "full" ? kSessionsFull : kSessionsSmall); }

std::string join(const fs::path& root, const std::string& relative) { return (root / relative).string(); }

void ensure_parent(const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec) throw Error(path, "its folder cannot be created: " + ec.message());
}

// Every label is one of Fashion-MNIST's classes and every class has an image: a scene draws a
// class first and then an image of it, so a missing class would silently draw another's.
void check_fashion_mnist(const IdxImages& objects, const std::vector<uint8_t>& labels, const std::string& dir) {
    const std::string labels_path = (fs::path(dir) / "train-labels-idx1-ubyte.gz").string();
    if (objects.count != static_cast<int64_t>(labels.size()))
        throw Error(dir, "Fashion-MNIST's images (" + std::to_string(objects.count) + ") and labels (" + std::to_string(labels.size()) +
                             ") differ in count");
    if (objects.rows < 8 || objects.cols < 8)
        throw Error((fs::path(dir) / "train-images-idx3-ubyte.gz").string(),
                    "holds " + std::to_string(objects.rows) + "x" + std::to_string(objects.cols) + " images; the phantom needs Fashion-MNIST's 28x28");
    std::array<int64_t, kCategories> per_class{};
    for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] >= kCategories)
            throw Error(labels_path, "label " + std::to_string(labels[i]) + " of image " + std::to_string(i) + " is not a Fashion-MNIST class (0-9)");
        ++per_class[labels[i]];
    }
    for (int c = 0; c < kCategories; ++c)
        if (per_class[static_cast<size_t>(c)] == 0)
            throw Error(labels_path, std::string("has no image of class ") + std::to_string(c) + " (" + kCategoryNames[static_cast<size_t>(c)] + ")");
}

}  // namespace

void check_phantom_inputs(const PhantomOptions& o) {
    for (const char* file : {"ch2bet.nii.gz", "aal.nii.gz", "aal.nii.txt"}) {
        const fs::path p = fs::path(o.mricron_dir) / file;
        if (!fs::exists(p))
            throw Error(p.string(), "is missing: the phantom's anatomy comes from Debian's mricron-data "
                                    "(apt-get install mricron-data, or set SOUL_MRICRON_DIR)");
    }
    for (const char* file : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}) {
        const fs::path p = fs::path(o.fashion_mnist_dir) / file;
        if (!fs::exists(p))
            throw Error(p.string(), "is missing: the phantom's objects come from Debian's dataset-fashion-mnist "
                                    "(apt-get install dataset-fashion-mnist, or set SOUL_FASHION_MNIST_DIR)");
    }
}

void validate_phantom_options(const PhantomOptions& o) {
    if (o.out.empty()) throw Error("phantom: --out is required (the folder to write the subject to)");
    if (o.size != "small" && o.size != "full") throw Error("phantom: unknown --size '" + o.size + "' (small or full)");
    if (!(o.snr > 0) || !std::isfinite(o.snr)) throw Error("phantom: --snr must be a positive number, not " + std::to_string(o.snr));
    if (o.sessions < 0 || o.sessions > 40) throw Error("phantom: --sessions must be 1 to 40 (NSD has at most 40)");
    if (o.image_size < 64 || o.image_size > kMaxImageSize || o.image_size % phantom::kFeatureGrid != 0)
        throw Error("phantom: --image-size must be a multiple of 32 from 64 to " + std::to_string(kMaxImageSize) + ", not " + std::to_string(o.image_size));
    const int64_t trials = static_cast<int64_t>(session_count(o)) * nsd::kTrialsPerSession;
    if (trials <= static_cast<int64_t>(kRepeats) * shared_count(o))
        throw Error("phantom: " + std::to_string(session_count(o)) + " session(s) hold " + std::to_string(trials) +
                    " trials, too few for " + std::to_string(shared_count(o)) + " shared images shown 3 times; use more sessions");
    check_phantom_inputs(o);
    std::error_code ec;
    fs::create_directories(o.out, ec);
    if (ec || !fs::is_directory(o.out)) throw Error(o.out, "cannot be created as the output folder" + (ec ? ": " + ec.message() : std::string()));
    const fs::path probe = fs::path(o.out) / ".souldiffuser-write-test";
    {
        std::ofstream test(probe);
        if (!test) throw Error(o.out, "is not writable");
    }
    fs::remove(probe, ec);
}

PhantomSummary generate_phantom(const PhantomOptions& options, const Progress& progress) {
    const auto started = std::chrono::steady_clock::now();
    validate_phantom_options(options);
    const fs::path root(options.out);
    const int sessions = session_count(options);
    const int64_t trials = static_cast<int64_t>(sessions) * nsd::kTrialsPerSession;
    const int64_t shared = shared_count(options);
    const int64_t images = shared + (trials - kRepeats * shared);
    const int size = options.image_size;
    // Steps: anatomy, stimuli chunks, normalisation, sessions, files.
    const int64_t chunks = (images + kImagesPerChunk - 1) / kImagesPerChunk;
    const int64_t steps = 2 + chunks + 1 + sessions + 1;
    Steps report(progress, steps);

    // The objects first: a damaged Fashion-MNIST fails before the anatomy's minute of work.
    const IdxImages objects = read_idx_images((fs::path(options.fashion_mnist_dir) / "train-images-idx3-ubyte.gz").string());
    const std::vector<uint8_t> object_labels = read_idx_labels((fs::path(options.fashion_mnist_dir) / "train-labels-idx1-ubyte.gz").string());
    check_fashion_mnist(objects, object_labels, options.fashion_mnist_dir);
    report("anatomy: Colin27 + AAL to 1.8 mm, streams and visual areas");
    const phantom::Anatomy anatomy = phantom::build_anatomy(options.mricron_dir);
    report("forward model: receptive fields, category patches, position maps");
    phantom::Tuning tuning = phantom::build_tuning(anatomy, options.seed);

    // Which images are shared (the test set), and the order the subject sees them in.
    Rng schedule(key(options.seed, phantom::kSchedulePurpose));
    std::vector<int64_t> ids(static_cast<size_t>(images));
    std::iota(ids.begin(), ids.end(), 0);
    for (int64_t i = images - 1; i > 0; --i) std::swap(ids[static_cast<size_t>(i)], ids[static_cast<size_t>(schedule.below(i + 1))]);
    std::vector<int64_t> shared_ids(ids.begin(), ids.begin() + shared), train_ids(ids.begin() + shared, ids.end());
    std::sort(shared_ids.begin(), shared_ids.end());
    // subjectim: the subject's images (0-based here), shared first as in NSD.
    std::vector<int64_t> subject_images = shared_ids;
    subject_images.insert(subject_images.end(), train_ids.begin(), train_ids.end());
    // masterordering: positions (0-based here) into subject_images, shared ones three times.
    std::vector<int64_t> order;
    for (int64_t p = 0; p < shared; ++p)
        for (int r = 0; r < kRepeats; ++r) order.push_back(p);
    for (int64_t p = shared; p < images; ++p) order.push_back(p);
    for (int64_t i = trials - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(schedule.below(i + 1))]);

    // Stimuli: render, write to the HDF5 brick chunk by chunk, keep features and captions.
    const std::string stimuli_path = join(root, nsd::stimuli_file());
    ensure_parent(stimuli_path);
    std::vector<phantom::Features> features(static_cast<size_t>(images));
    std::vector<Scene> scenes(static_cast<size_t>(images));
    std::vector<std::vector<std::string>> captions(static_cast<size_t>(images));
    {
        ImageBrickWriter brick(stimuli_path + ".partial", "imgBrick", images, size, size);
        std::vector<uint8_t> pixels;
        for (int64_t c = 0; c < chunks; ++c) {
            report("stimuli " + std::to_string(c * kImagesPerChunk) + "/" + std::to_string(images));
            const int64_t first = c * kImagesPerChunk, n = std::min<int64_t>(kImagesPerChunk, images - first);
            pixels.assign(static_cast<size_t>(n) * size * size * 3, 0);
            parallel_for(first, first + n, [&](int64_t image) {
                const Scene scene = phantom_scene(options.seed, image, object_labels);
                const auto rgb = render_scene(scene, objects, size);
                std::copy(rgb.begin(), rgb.end(), pixels.begin() + (image - first) * size * size * 3);
                scenes[static_cast<size_t>(image)] = scene;
                features[static_cast<size_t>(image)] = phantom::stimulus_features(scene, rgb, size, objects);
                captions[static_cast<size_t>(image)] = scene_captions(scene, options.seed, image);
            });
            brick.write(first, n, pixels.data());
        }
        brick.close();
    }

    // Each voxel's response is z-scored over a fixed set of images, then scaled by its gain.
    report("normalising responses");
    const size_t V = anatomy.visual.size();
    {
        const int64_t m = std::min(images, kNormalisationImages);
        std::vector<float> responses(static_cast<size_t>(m) * V);
        parallel_for(0, m, [&](int64_t i) { phantom::raw_response(tuning, features[static_cast<size_t>(i)], responses.data() + i * V); });
        for (size_t v = 0; v < V; ++v) {
            double sum = 0, sq = 0;
            for (int64_t i = 0; i < m; ++i) {
                const double r = responses[static_cast<size_t>(i) * V + v];
                sum += r;
                sq += r * r;
            }
            const double mean = sum / m, sd = std::sqrt(std::max(0.0, sq / m - mean * mean));
            tuning.mean[v] = static_cast<float>(mean);
            tuning.scale[v] = static_cast<float>(sd > 1e-9 ? tuning.gain[v] / sd : 0.0);
        }
    }

    // Betas are simulated inside the visual mask (nsdgeneral); elsewhere they are 0, as in a
    // masked dataset: nothing downstream reads outside the mask. Smooth noise fields over the
    // mask, normalised per voxel.
    const auto dims = anatomy.streams.dims;
    const std::vector<int64_t>& measured = anatomy.visual;
    const size_t B = measured.size();
    std::vector<float> fields(static_cast<size_t>(kNoiseFields) * B);
    {
        std::vector<double> norm(B, 0);
        for (int f = 0; f < kNoiseFields; ++f) {
            const auto field = phantom::smooth_field(dims, kNoiseFieldSigmaVoxels, key(options.seed, phantom::kNoisePurpose, 1000000 + f));
            for (size_t b = 0; b < B; ++b) {
                const float value = field[static_cast<size_t>(measured[b])];
                fields[static_cast<size_t>(f) * B + b] = value;
                norm[b] += static_cast<double>(value) * value;
            }
        }
        for (int f = 0; f < kNoiseFields; ++f)
            for (size_t b = 0; b < B; ++b) fields[static_cast<size_t>(f) * B + b] /= static_cast<float>(std::sqrt(std::max(1e-12, norm[b])));
    }
    const double smooth_weight = std::sqrt(kSmoothNoiseShare), white_weight = std::sqrt(1 - kSmoothNoiseShare);
    for (int s = 0; s < sessions; ++s) {
        report("session " + std::to_string(s + 1) + "/" + std::to_string(sessions) + ": simulating and writing betas");
        Volume betas = Volume::zeros_like(anatomy.streams);
        betas.frames = nsd::kTrialsPerSession;
        betas.voxels.assign(static_cast<size_t>(betas.frame_size() * betas.frames), 0.0f);
        // Per-session offsets (drift between sessions): removed by per-session z-scoring.
        std::vector<float> offset(B);
        {
            Rng rng(key(options.seed, phantom::kOffsetPurpose, static_cast<uint64_t>(s)));
            for (float& o : offset) o = static_cast<float>(rng.normal() * kSessionOffsetSd);
        }
        parallel_for(0, nsd::kTrialsPerSession, [&](int64_t t) {
            const int64_t trial = static_cast<int64_t>(s) * nsd::kTrialsPerSession + t;
            const int64_t image = subject_images[static_cast<size_t>(order[static_cast<size_t>(trial)])];
            std::vector<float> response(V);
            phantom::raw_response(tuning, features[static_cast<size_t>(image)], response.data());
            Rng rng(key(options.seed, phantom::kNoisePurpose, static_cast<uint64_t>(trial)));
            float z[kNoiseFields];
            for (float& x : z) x = static_cast<float>(rng.normal());
            float* out = betas.voxels.data() + t * betas.frame_size();
            for (size_t b = 0; b < B; ++b) {
                double smooth = 0;
                for (int f = 0; f < kNoiseFields; ++f) smooth += z[f] * fields[static_cast<size_t>(f) * B + b];
                const double noise = smooth_weight * smooth + white_weight * rng.normal();
                out[measured[b]] = static_cast<float>(kNoisePercent * (noise + offset[b]));
            }
            for (size_t v = 0; v < V; ++v) {
                const double signal = (response[v] - tuning.mean[v]) * tuning.scale[v];
                out[anatomy.visual[v]] += static_cast<float>(kNoisePercent * options.snr * signal);
            }
            for (size_t b = 0; b < B; ++b) {
                float& x = out[measured[b]];
                x = static_cast<float>(std::round(x * kBetaScale));
            }
        });
        const std::string path = join(root, nsd::betas_file(options.subject, s + 1));
        ensure_parent(path);
        write_nifti(betas, path, StoredType::int16);
    }

    report("design, captions, ROIs, ground truth");
    // ROI volumes, anatomy.
    auto write_roi = [&](const Volume& v, const std::string& name) {
        const std::string path = join(root, nsd::roi_file(options.subject, name));
        ensure_parent(path);
        write_nifti(v, path, StoredType::int16);
    };
    write_roi(anatomy.nsdgeneral, "nsdgeneral");
    write_roi(anatomy.streams, "streams");
    write_roi(anatomy.visualrois, "prf-visualrois");
    {
        const std::string path = join(root, nsd::t1_file(options.subject));
        ensure_parent(path);
        write_nifti(anatomy.t1, path, StoredType::int16);
    }
    // Design: NSD's 1-based indices; subjectim has 8 rows as in NSD, every row this subject's.
    {
        MatMatrix master{"masterordering", 1, trials, {}};
        for (int64_t p : order) master.values.push_back(static_cast<double>(p + 1));
        MatMatrix subjectim{"subjectim", 8, images, std::vector<double>(static_cast<size_t>(8 * images))};
        for (int64_t c = 0; c < images; ++c)
            for (int r = 0; r < 8; ++r) subjectim.values[static_cast<size_t>(c * 8 + r)] = static_cast<double>(subject_images[static_cast<size_t>(c)] + 1);
        MatMatrix sharedix{"sharedix", 1, shared, {}};
        for (int64_t id : shared_ids) sharedix.values.push_back(static_cast<double>(id + 1));
        const std::string path = join(root, nsd::expdesign_file());
        ensure_parent(path);
        write_mat(path, {master, subjectim, sharedix});
    }
    // Stimulus info (NSD's columns that matter) and COCO-style captions.
    {
        std::vector<std::array<int64_t, kRepeats>> shown(static_cast<size_t>(images), {0, 0, 0});
        for (int64_t t = 0; t < trials; ++t) {
            auto& reps = shown[static_cast<size_t>(subject_images[static_cast<size_t>(order[static_cast<size_t>(t)])])];
            for (auto& r : reps)
                if (r == 0) {
                    r = t + 1;
                    break;
                }
        }
        std::vector<bool> is_shared(static_cast<size_t>(images), false);
        for (int64_t id : shared_ids) is_shared[static_cast<size_t>(id)] = true;
        const std::string subject = "subject" + std::to_string(options.subject);
        CsvTable info;
        info.columns = {"", "cocoId", "cocoSplit", "nsdId", "shared1000", subject, subject + "_rep0", subject + "_rep1", subject + "_rep2"};
        CsvTable truth;
        truth.columns = {"nsdId", "category", "category_name", "object_colour", "background_colour", "texture", "x", "y", "size", "fmnist_index", "shared"};
        nlohmann::json coco[2];
        for (auto& j : coco) {
            j["info"] = {{"description", "SoulDiffuser phantom captions (COCO format)"}};
            j["images"] = nlohmann::json::array();
            j["annotations"] = nlohmann::json::array();
        }
        int64_t annotation = 1;
        for (int64_t id = 0; id < images; ++id) {
            const size_t u = static_cast<size_t>(id);
            const int64_t coco_id = 100000 + id;
            const int split = is_shared[u] ? 1 : 0;
            info.rows.push_back({std::to_string(id), std::to_string(coco_id), split ? "val2017" : "train2017", std::to_string(id),
                                 is_shared[u] ? "True" : "False", "1", std::to_string(shown[u][0]), std::to_string(shown[u][1]),
                                 std::to_string(shown[u][2])});
            const Scene& sc = scenes[u];
            char x[32], y[32], sz[32];
            std::snprintf(x, sizeof x, "%.4f", sc.x);
            std::snprintf(y, sizeof y, "%.4f", sc.y);
            std::snprintf(sz, sizeof sz, "%.4f", sc.size);
            truth.rows.push_back({std::to_string(id), std::to_string(sc.category), kCategoryNames[static_cast<size_t>(sc.category)],
                                  kPhantomColours[static_cast<size_t>(sc.object_colour)].name,
                                  kPhantomColours[static_cast<size_t>(sc.background_colour)].name,
                                  kTextureNames[static_cast<size_t>(sc.texture)], x, y, sz, std::to_string(sc.fmnist_index),
                                  is_shared[u] ? "1" : "0"});
            coco[split]["images"].push_back({{"id", coco_id}, {"file_name", "phantom_" + std::to_string(id) + ".png"},
                                             {"width", size}, {"height", size}});
            for (const auto& caption : captions[u])
                coco[split]["annotations"].push_back({{"id", annotation++}, {"image_id", coco_id}, {"caption", caption}});
        }
        const std::string info_path = join(root, nsd::stim_info_file());
        ensure_parent(info_path);
        write_csv(info_path, info);
        for (int split = 0; split < 2; ++split) {
            const std::string path = join(root, nsd::coco_captions_file(split ? "val2017" : "train2017"));
            ensure_parent(path);
            write_file_atomically(path, json_text(coco[split]));
        }
        const std::string scenes = phantom_layout::file(root.string(), phantom_layout::kScenesFile);
        ensure_parent(scenes);
        write_csv(scenes, truth);
    }
    // Ground-truth tuning maps.
    {
        const Volume& grid = anatomy.streams;
        Volume px = Volume::zeros_like(grid), py = px, ps = px, cat = Volume::zeros_like(grid, -1.0f), posx = px, posy = px;
        for (size_t v = 0; v < V; ++v) {
            const size_t n = static_cast<size_t>(anatomy.visual[v]);
            px.voxels[n] = tuning.prf_x[v];
            py.voxels[n] = tuning.prf_y[v];
            ps.voxels[n] = tuning.prf_size[v];
            cat.voxels[n] = static_cast<float>(tuning.preferred_category[v]);
            if (tuning.position_weight[v] > 0) {
                posx.voxels[n] = tuning.pos_x[v];
                posy.voxels[n] = tuning.pos_y[v];
            }
        }
        const fs::path truth_dir = root / phantom_layout::kGroundTruthDir;
        fs::create_directories(truth_dir);
        write_nifti(px, (truth_dir / phantom_layout::kPrfX).string());
        write_nifti(py, (truth_dir / phantom_layout::kPrfY).string());
        write_nifti(ps, (truth_dir / phantom_layout::kPrfSize).string());
        write_nifti(cat, (truth_dir / phantom_layout::kPreferredCategory).string(), StoredType::int16);
        write_nifti(posx, (truth_dir / phantom_layout::kPositionX).string());
        write_nifti(posy, (truth_dir / phantom_layout::kPositionY).string());
        write_nifti(anatomy.streams, (truth_dir / phantom_layout::kStream).string(), StoredType::uint8);
    }

    PhantomSummary summary;
    summary.sessions = sessions;
    summary.trials = trials;
    summary.images = images;
    summary.shared_images = shared;
    summary.grid = dims;
    summary.brain_voxels = static_cast<int64_t>(anatomy.brain.size());
    summary.visual_voxels = static_cast<int64_t>(V);
    for (int64_t n : anatomy.visual) ++summary.stream_voxels[static_cast<size_t>(anatomy.streams.voxels[static_cast<size_t>(n)])];

    nlohmann::json model;
    model["generator"] = "SoulDiffuser Studio phantom";
    model["seed"] = options.seed;
    model["size"] = options.size;
    model["snr"] = options.snr;
    model["sessions"] = sessions;
    model["trials"] = trials;
    model["images"] = images;
    model["shared_images"] = shared;
    model["repeats_of_shared"] = kRepeats;
    model["image_size"] = size;
    model["grid"] = {dims[0], dims[1], dims[2]};
    model["voxel_mm"] = phantom::kVoxelMm;
    model["brain_voxels"] = anatomy.brain.size();
    model["visual_voxels"] = V;
    model["stream_voxels"] = nlohmann::json::object();
    const auto stream_names = nsd_streams_table();
    for (int code = 1; code <= 7; ++code) model["stream_voxels"][stream_names.name_of(code)] = summary.stream_voxels[static_cast<size_t>(code)];
    model["categories"] = kCategoryNames;
    nlohmann::json colours = nlohmann::json::array();
    for (const auto& c : kPhantomColours) colours.push_back({{"name", c.name}, {"rgb", c.rgb}});
    model["colours"] = colours;
    model["noise"] = {{"sd_percent_signal_change", kNoisePercent}, {"smooth_share", kSmoothNoiseShare},
                      {"smooth_fields", kNoiseFields}, {"field_sigma_voxels", kNoiseFieldSigmaVoxels},
                      {"session_offset_sd", kSessionOffsetSd}};
    model["betas_int16_scale"] = kBetaScale;
    model["feature_grid"] = phantom::kFeatureGrid;
    model["features"] = {"luminance", "contrast", "edge_energy", "red_minus_green", "blue_minus_yellow"};
    model["normalisation_images"] = std::min(images, kNormalisationImages);
    write_file_atomically(phantom_layout::file(root.string(), phantom_layout::kModelFile), json_text(model, 2));

    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // The stimuli file last: its presence marks a finished subject.
    std::error_code ec;
    fs::rename(stimuli_path + ".partial", stimuli_path, ec);
    if (ec) throw Error(stimuli_path, "could not be written: " + ec.message());
    report.done();
    return summary;
}

}  // namespace soul
