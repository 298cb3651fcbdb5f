// Encoder runs: data as tensors, modules, checkpoints (see encoder_run.h).
#include "encoder_run.h"

#include "caption_table.h"

#include "../model/targets.h"
#include "../util/fnv1a.h"
#include "soul/checksum.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/phantom.h"
#include "soul/phantom_layout.h"
#include "soul/runtime.h"
#include "soul/train.h"


#include <filesystem>
#include <set>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul::train {

json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "no such file");
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        throw Error(path, std::string("is not valid JSON: ") + e.what());
    }
}

namespace {

// The raw root a prepared dataset came from, when it is a phantom (its ground truth is there).
std::string phantom_root_of(const PreparedDataset& prepared) {
    const std::string& root = prepared.manifest().source_root;
    return !root.empty() && fs::exists(phantom_layout::file(root, phantom_layout::kModelFile)) ? root : std::string();
}

// Whether an image falls in a `fraction` drawn by a hash of (seed ^ salt, image): the same image is
// drawn in every run with that seed.
bool image_drawn(uint64_t seed, uint64_t salt, int64_t image, double fraction) {
    const uint64_t x = splitmix64(seed ^ salt ^ splitmix64(static_cast<uint64_t>(image)));
    return static_cast<double>(x >> 11) / 9007199254740992.0 < fraction;   // 53 bits → [0, 1)
}

// Keeps only the training rows `keep` (indices into train_betas / train_image).
void keep_training_rows(TrainData& t, const std::vector<int64_t>& keep) {
    const torch::Tensor kept = torch::tensor(keep, torch::kLong).to(t.device);
    t.train_betas = t.train_betas.index_select(0, kept);
    t.train_image = t.train_image.index_select(0, kept);
}

// The validation split: a fraction of the training images, drawn by a hash of (seed, image), with
// all their trials; kept out of every stage and averaged over repeats like the test images.
void hold_out_validation(TrainData& t, const model::EncoderConfig& config) {
    auto chosen = [&](int64_t image) { return image_drawn(config.seed, 0, image, config.validation_fraction); };
    const torch::Tensor image = t.train_image.cpu();
    std::vector<int64_t> keep;
    std::map<int64_t, std::vector<int64_t>> rows_of;
    for (int64_t r = 0; r < image.size(0); ++r) {
        const int64_t i = image[r].item<int64_t>();
        if (chosen(i)) rows_of[i].push_back(r);
        else keep.push_back(r);
    }
    if (rows_of.empty() || keep.size() < 2) throw Error(t.dataset->manifest().path, "validation_fraction " + std::to_string(config.validation_fraction) +
                                                        " leaves no validation image or fewer than 2 training rows");
    std::vector<torch::Tensor> averaged;
    std::vector<int64_t> images;
    for (const auto& [i, rows] : rows_of) {
        averaged.push_back(t.train_betas.index_select(0, torch::tensor(rows, torch::kLong).to(t.device)).mean(0));
        images.push_back(i);
    }
    t.validation_betas = torch::stack(averaged);
    t.validation_image = torch::tensor(images, torch::kLong).to(t.device);
    keep_training_rows(t, keep);
}

// train_fraction: the fMRI encoders see only this share of the training images (with all their
// trials), drawn by another hash of (seed, image); the image-only stages and the probes keep
// every training image (TrainData::stimulus_image), so a sample-efficiency curve varies the fMRI
// alone.
void keep_train_fraction(TrainData& t, const model::EncoderConfig& config) {
    constexpr uint64_t kFractionSalt = 0x5EED'F4AC'7104ull;   // another draw than the validation split's
    t.stimulus_image = training_images(t);
    const torch::Tensor image = t.train_image.cpu();
    std::vector<int64_t> keep;
    for (int64_t r = 0; r < image.size(0); ++r)
        if (image_drawn(config.seed, kFractionSalt, image[r].item<int64_t>(), config.train_fraction)) keep.push_back(r);
    if (keep.size() < 2) throw Error(t.dataset->manifest().path, "train_fraction " + std::to_string(config.train_fraction) + " leaves fewer than 2 training rows");
    keep_training_rows(t, keep);
}

}  // namespace

uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

json dataset_fingerprint(const PreparedDataset& d) {
    Fnv1a voxel_table;
    voxel_table.mix(d.voxel_ijk(), static_cast<size_t>(d.voxels()) * 3 * sizeof(int16_t));
    voxel_table.mix(d.voxel_stream(), static_cast<size_t>(d.voxels()));
    return {{"voxels", d.voxels()}, {"voxel_table", std::to_string(voxel_table.hash)}, {"train", d.size(Split::Train)}, {"test", d.size(Split::Test)},
            {"images", d.manifest().images}};
}

namespace {

// The captions of the images `row_images` names (the first kMaxCaptions of each, those training
// uses), each image once, in row order.
std::vector<std::string> captions_of_rows(const PreparedDataset& d, const std::vector<int64_t>& row_images, std::vector<int32_t>* images) {
    std::vector<bool> seen(static_cast<size_t>(d.manifest().images), false);
    std::vector<std::string> out;
    for (const int64_t row_image : row_images) {
        const auto image = static_cast<int32_t>(row_image);
        if (seen[static_cast<size_t>(image)]) continue;
        seen[static_cast<size_t>(image)] = true;
        const auto& captions = d.captions(image);
        for (size_t c = 0; c < std::min(captions.size(), static_cast<size_t>(kMaxCaptions)); ++c) {
            out.push_back(captions[c]);
            if (images) images->push_back(image);
        }
    }
    return out;
}

}  // namespace

std::vector<std::string> training_captions(const PreparedDataset& d) {
    std::vector<int64_t> row_images;
    for (int64_t r = 0; r < d.size(Split::Train); ++r) row_images.push_back(d.image_of(Split::Train, r));
    return captions_of_rows(d, row_images, nullptr);
}

std::vector<std::string> training_captions(const TrainData& t, std::vector<int32_t>* images) {
    const torch::Tensor rows = t.train_image.cpu().contiguous();
    return captions_of_rows(*t.dataset, std::vector<int64_t>(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.size(0)), images);
}

TrainData load_train_data(const std::string& path, const model::EncoderConfig& config, const model::CaptionTokenizer& tokenizer,
                          torch::Device device, BetasAccess access) {
    TrainData t;
    t.dataset = std::make_unique<PreparedDataset>(path);
    t.device = device;
    const PreparedDataset& d = *t.dataset;
    const int64_t V = d.voxels(), n_train = d.size(Split::Train), n_test = d.size(Split::Test), n_images = d.manifest().images;
    if (n_train < 2 || n_test < 2) throw Error(path, "has " + std::to_string(n_train) + " training rows and " + std::to_string(n_test) + " test images; training needs at least 2 of each");
    // Mapped: a read-only view of the memory-mapped file (pages are read when a row is used, and
    // nothing is copied); TrainData owns the dataset, so the view lives as long as it does.
    const bool mapped = access == BetasAccess::Mapped && device.is_cpu() && config.validation_fraction <= 0 && config.train_fraction >= 1;
    auto rows = [&](Split split, int64_t n) {
        const torch::Tensor view = torch::from_blob(const_cast<float*>(d.betas(split, 0)), {n, V}, torch::kFloat);
        return mapped ? view : view.to(device, /*non_blocking=*/false, /*copy=*/true);
    };
    t.train_betas = rows(Split::Train, n_train);
    t.test_betas = rows(Split::Test, n_test);
    std::vector<int64_t> train_image(static_cast<size_t>(n_train)), test_image(static_cast<size_t>(n_test));
    for (int64_t i = 0; i < n_train; ++i) train_image[static_cast<size_t>(i)] = d.image_of(Split::Train, i);
    for (int64_t i = 0; i < n_test; ++i) test_image[static_cast<size_t>(i)] = d.image_of(Split::Test, i);
    t.train_image = torch::tensor(train_image, torch::kLong).to(device);
    t.test_image = torch::tensor(test_image, torch::kLong).to(device);
    if (config.validation_fraction > 0) hold_out_validation(t, config);
    const int64_t side = d.manifest().image_size;
    const torch::Tensor pixels = torch::from_blob(const_cast<uint8_t*>(d.image(0)), {n_images, side, side, 3}, torch::kUInt8);
    t.images = model::images_to_tensor(pixels, config.image_size).to(device);
    t.gen_images = model::images_to_tensor(pixels, config.gen_image_size).to(device);
    if (config.train_fraction < 1) keep_train_fraction(t, config);   // after t.images: it lists the training images
    t.palettes = model::palette_of(t.images);
    t.edges = model::edges_of(t.images);
    std::vector<std::vector<std::string>> texts;
    for (int32_t i = 0; i < n_images; ++i) texts.push_back(d.captions(i));
    const CaptionTokens tokens = tokenize_captions(texts, tokenizer, config.max_tokens);
    t.captions = tokens.tokens.to(device);
    t.caption_count = tokens.count.to(device);
    t.category = torch::full({n_images}, -1, torch::kLong);
    if (const std::string root = phantom_root_of(d); !root.empty()) {
        const std::string scenes = phantom_layout::file(root, phantom_layout::kScenesFile);
        const CsvTable table = read_csv(scenes);
        const int c_id = table.require("nsdId", scenes), c_cat = table.require("category", scenes);
        const int c_x = table.require("x", scenes), c_y = table.require("y", scenes);
        std::map<int64_t, size_t> row_of;
        for (size_t r = 0; r < table.rows.size(); ++r) row_of[static_cast<int64_t>(table.number(r, c_id, scenes))] = r;
        t.position = torch::zeros({n_images, 2});
        for (int32_t i = 0; i < n_images; ++i) {
            auto it = row_of.find(d.nsd_id(i));
            if (it == row_of.end()) continue;
            const size_t r = it->second;
            t.category[i] = static_cast<int64_t>(table.number(r, c_cat, scenes));
            t.position[i][0] = table.number(r, c_x, scenes);
            t.position[i][1] = table.number(r, c_y, scenes);
        }
        t.position = t.position.to(device);
        t.categories = kCategories;
    }
    t.category = t.category.to(device);
    t.ijk.assign(d.voxel_ijk(), d.voxel_ijk() + V * 3);
    t.stream.assign(d.voxel_stream(), d.voxel_stream() + V);
    t.fingerprint = dataset_fingerprint(d);
    return t;
}

CaptionTokens tokenize_captions(const std::vector<std::vector<std::string>>& captions, const model::CaptionTokenizer& tokenizer, int64_t max_tokens) {
    const int64_t n_images = static_cast<int64_t>(captions.size());
    CaptionTokens out{torch::zeros({n_images, kMaxCaptions, max_tokens}, torch::kLong), torch::zeros({n_images}, torch::kLong)};
    for (int64_t i = 0; i < n_images; ++i) {
        const auto& cs = captions[static_cast<size_t>(i)];
        const int64_t n = std::min<int64_t>(kMaxCaptions, static_cast<int64_t>(cs.size()));
        out.count[i] = n;
        for (int64_t c = 0; c < n; ++c) out.tokens[i][c] = torch::tensor(tokenizer.encode(cs[static_cast<size_t>(c)], max_tokens), torch::kLong);
    }
    return out;
}

LabelledImages phantom_scenes_without_fmri(const TrainData& data, int64_t count, int64_t size, uint64_t seed, bool leave_out_test_objects) {
    const std::string root = phantom_root_of(*data.dataset);
    if (root.empty() || count <= 0) return {};
    // More scenes of the same phantom world, with ids far beyond the subject's images.
    const json info = read_json(phantom_layout::file(root, phantom_layout::kModelFile));
    const uint64_t phantom_seed = info.value("seed", uint64_t(1));
    const PhantomOptions defaults;
    const IdxImages objects = read_idx_images((fs::path(defaults.fashion_mnist_dir) / "train-images-idx3-ubyte.gz").string());
    const std::vector<uint8_t> labels = read_idx_labels((fs::path(defaults.fashion_mnist_dir) / "train-labels-idx1-ubyte.gz").string());
    std::set<int> test_objects;
    if (leave_out_test_objects) {
        const std::string scenes = phantom_layout::file(root, phantom_layout::kScenesFile);
        const CsvTable table = read_csv(scenes);
        const int c_id = table.require("nsdId", scenes), c_object = table.require("fmnist_index", scenes);
        std::set<int64_t> test_ids;
        const PreparedDataset& d = *data.dataset;
        for (int64_t i = 0; i < d.size(Split::Test); ++i) test_ids.insert(d.nsd_id(d.image_of(Split::Test, i)));
        for (size_t r = 0; r < table.rows.size(); ++r)
            if (test_ids.count(static_cast<int64_t>(table.number(r, c_id, scenes))))
                test_objects.insert(static_cast<int>(table.number(r, c_object, scenes)));
    }
    constexpr int64_t kFirstUnseenId = 1000000;   // phantom image ids the subject never sees
    constexpr int kRenderSize = 64;
    torch::Tensor out = torch::empty({count, kRenderSize, kRenderSize, 3}, torch::kUInt8);
    torch::Tensor category = torch::empty({count}, torch::kLong), position = torch::empty({count, 2});
    std::vector<std::vector<std::string>> captions;
    int64_t id = kFirstUnseenId + static_cast<int64_t>(seed % 1000) * count;
    for (int64_t i = 0; i < count; ++id) {
        const Scene scene = phantom_scene(phantom_seed, id, labels);
        if (test_objects.count(scene.fmnist_index)) continue;
        const auto pixels = render_scene(scene, objects, kRenderSize);
        std::memcpy(out[i].data_ptr<uint8_t>(), pixels.data(), pixels.size());
        category[i] = scene.category;
        position[i][0] = scene.x;
        position[i][1] = scene.y;
        captions.push_back(scene_captions(scene, phantom_seed, id));
        ++i;
    }
    return {out.to(data.device), size, category.to(data.device), position.to(data.device), std::move(captions)};
}

torch::Tensor images_without_fmri(const TrainData& data, int64_t count, int64_t size, uint64_t seed) {
    if (count <= 0) return {};
    if (!phantom_root_of(*data.dataset).empty()) return phantom_scenes_without_fmri(data, count, size, seed, false).images();
    const json m = read_json((fs::path(data.dataset->manifest().path) / "manifest.json").string());
    if (m.value("layout", std::string("nsd")) == "nsd" && m.contains("source") && m["source"].contains("stimuli")) {
        // NSD: the 73k images outside this subject's set.
        const std::string stimuli = m["source"]["stimuli"];
        if (!fs::exists(stimuli)) return {};
        const ImageBrickShape shape = image_brick_shape(stimuli);
        std::vector<bool> used(static_cast<size_t>(shape.count), false);
        for (int32_t i = 0; i < data.dataset->manifest().images; ++i)
            if (data.dataset->nsd_id(i) < shape.count) used[static_cast<size_t>(data.dataset->nsd_id(i))] = true;
        std::vector<int64_t> ids;
        for (int64_t id = 0; id < shape.count && static_cast<int64_t>(ids.size()) < count; ++id)
            if (!used[static_cast<size_t>(id)]) ids.push_back(id);
        if (ids.empty()) return {};
        auto pixels = read_image_brick_rows(stimuli, ids);
        const int64_t n = static_cast<int64_t>(ids.size());
        return model::images_to_tensor(torch::from_blob(pixels.data(), {n, shape.height, shape.width, 3}, torch::kUInt8), size).to(data.device);
    }
    return {};
}

RunModels build_models(const model::EncoderConfig& c, const TrainData& data, int64_t vocabulary) {
    RunModels m;
    build_generator_models(c, vocabulary, data.device, m);
    const auto ssm_layout = model::make_token_layout(model::stream_regions(data.stream), data.ijk, data.stream, c.ssm_patch);
    m.ssmnet = model::SSMNet(ssm_layout, model::SSMNetOptions{c.ssm_width, c.ssm_state, c.ssm_expand, c.ssm_global_layers, c.embed_dim, c.image_size, c.ssm_token_readout, c.ssm_per_patch_weights != 0});
    const auto sem_layout = model::make_token_layout({model::sembert_region()}, data.ijk, data.stream, c.sem_patch);
    const int64_t captions = caption_dim(c, data);
    m.sembert = model::SemBERT(sem_layout, model::SemBERTOptions{c.sem_width, c.sem_heads, c.sem_layers, captions, c.sem_mask_ratio, c.sem_token_readout, c.sem_per_patch_weights != 0});
    m.edgecolor = model::EdgeColorNet(model::edgecolor_voxels(data.stream), c.ec_hidden, c.image_size);
    m.baseline = model::FlatBaseline(data.dataset->voxels(), c.flat_hidden, c.embed_dim, captions, c.image_size);
    m.classifier = model::CategoryClassifier(c.classifier_width, data.categories, c.classifier_position != 0, c.classifier_stages);
    for (torch::nn::Module* module : all_modules(m)) module->to(data.device);
    return m;
}

void build_generator_models(const model::EncoderConfig& c, int64_t vocabulary, torch::Device device, RunModels& m) {
    m.embedding = model::EmbeddingSpace(c.image_size, c.embed_dim, vocabulary, c.max_tokens, c.text_width, c.text_layers);
    m.vae = model::VAE(model::VAEOptions{c.vae_width, c.latent_channels});
    m.unet = model::UNet(model::UNetOptions{c.latent_channels, c.unet_width, c.unet_heads, c.text_width, c.unet_pooled_caption != 0});
    m.adapters = model::Adapters(c.unet_width, c.gen_image_size / 4);
    for (torch::nn::Module* module : all_modules(m)) module->to(device);
}

model::Adapters build_sd_adapters(const json& record, torch::Device device) {
    const std::vector<int64_t> levels = record.at("levels").get<std::vector<int64_t>>();
    const int64_t side = record.at("latent_side").get<int64_t>();
    if (levels.empty() || side < 1) throw Error("run.json's stable_diffusion record has no levels or latent side");
    model::Adapters adapters(levels, side);
    adapters->to(device);
    return adapters;
}

std::vector<torch::nn::Module*> all_modules(RunModels& m) {
    std::vector<torch::nn::Module*> out;
    auto add = [&](auto& holder) {
        if (!holder.is_empty()) out.push_back(holder.get());
    };
    add(m.embedding), add(m.ssmnet), add(m.sembert), add(m.edgecolor), add(m.baseline);
    add(m.vae), add(m.unet), add(m.adapters), add(m.classifier), add(m.sd_adapters);
    return out;
}

torch::nn::Module& module_for(RunModels& m, const std::string& stage) {
    if (stage == "embedding") return *m.embedding;
    if (stage == "ssmnet") return *m.ssmnet;
    if (stage == "sembert") return *m.sembert;
    if (stage == "ec_encoder" || stage == "ec_decoder" || stage == "ec_cycle") return *m.edgecolor;
    if (stage == "baseline") return *m.baseline;
    if (stage == "vae") return *m.vae;
    if (stage == "unet") return *m.unet;
    if (stage == "adapters") return *m.adapters;
    if (stage == "classifier") return *m.classifier;
    if (stage == "sd_adapters") {
        if (m.sd_adapters.is_empty()) throw Error("stage sd_adapters: the run names no Stable Diffusion (train it with --sd)");
        return *m.sd_adapters;
    }
    throw Error("unknown stage '" + stage + "'");
}

torch::Tensor mean_caption_embedding(model::EmbeddingSpace& space, const TrainData& data, const torch::Tensor& images) {
    torch::Tensor flat;
    if (data.caption_table.defined()) {
        flat = data.caption_table.index_select(0, images);
    } else {
        const int64_t length = data.captions.size(2);
        const torch::Tensor tokens = data.captions.index_select(0, images);   // B C L
        std::vector<torch::Tensor> parts;
        const torch::Tensor flat_tokens = tokens.view({-1, length});
        for (int64_t i = 0; i < flat_tokens.size(0); i += 512) parts.push_back(space->text(flat_tokens.narrow(0, i, std::min<int64_t>(512, flat_tokens.size(0) - i))));
        flat = torch::cat(parts, 0).view({images.size(0), kMaxCaptions, -1});
    }
    const torch::Tensor valid = (torch::arange(kMaxCaptions, torch::TensorOptions().device(data.device)).unsqueeze(0) <
                                 data.caption_count.index_select(0, images).unsqueeze(1)).to(torch::kFloat).unsqueeze(-1);
    return torch::nn::functional::normalize((flat * valid).sum(1), torch::nn::functional::NormalizeFuncOptions().dim(1));
}

torch::Tensor training_images(const TrainData& data) {
    if (data.stimulus_image.defined()) return data.stimulus_image;
    const torch::Tensor rows = data.train_image.cpu();
    std::vector<bool> seen(static_cast<size_t>(data.images.size(0)), false);
    std::vector<int64_t> unique;
    for (int64_t i = 0; i < rows.size(0); ++i) {
        const int64_t image = rows[i].item<int64_t>();
        if (!seen[static_cast<size_t>(image)]) unique.push_back(image);
        seen[static_cast<size_t>(image)] = true;
    }
    return torch::tensor(unique, torch::kLong).to(data.device);
}

torch::Device choose_device(const std::string& name) {
    if (name == "cpu") return torch::kCPU;
    if (name == "cuda") {
        if (!torch::cuda::is_available()) throw Error("--device cuda: " + cuda_unavailable_reason() + "; `souldiffuser env` lists what it sees");
        return torch::kCUDA;
    }
    if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    throw Error("--device must be auto, cpu or cuda, not " + name);
}

namespace {

// The checksum run.json records for a stage's checkpoint; empty for runs written before checksums.
std::string recorded_checksum(const json& info, const std::string& stage) {
    const json& entry = info["stages"][stage];
    return entry.contains("checksum") && entry["checksum"].is_string() ? entry["checksum"].get<std::string>() : std::string();
}

// run.json's value at a JSON pointer ("/dataset/path"); a missing key names the file and the key.
const json& run_key(const json& info, const char* pointer, const std::string& run_json) {
    const json::json_pointer key(pointer);
    if (!info.contains(key)) throw Error(run_json, std::string("has no '") + pointer + "' (an incomplete or damaged run.json?)");
    return info.at(key);
}

LoadedRun load_described_run(const std::string& run, const std::string& run_json, const json& info, const std::string& data_path,
                              torch::Device device, BetasAccess access);

}  // namespace

LoadedRun load_run(const std::string& run, const std::string& data_path, torch::Device device, BetasAccess access) {
    const std::string run_json = (fs::path(run) / "run.json").string();
    const json info = read_json(run_json);
    if (!info.is_object()) throw Error(run_json, "is not a run description (a JSON object)");
    try {
        return load_described_run(run, run_json, info, data_path, device, access);
    } catch (const json::exception& e) {
        // A key of the wrong type: nlohmann's message names it ("[json.exception.type_error.302] ...").
        throw Error(run_json, std::string("has a value of the wrong type: ") + e.what());
    }
}

namespace {

LoadedRun load_described_run(const std::string& run, const std::string& run_json, const json& info, const std::string& data_path,
                              torch::Device device, BetasAccess access) {
    LoadedRun r;
    const json& config = run_key(info, "/config", run_json);
    if (!config.is_object()) throw Error(run_json, "has a 'config' that is not a JSON object (a damaged run.json?)");
    r.config = model::encoder_config_from_json(config, run_json);
    r.tokenizer = model::CaptionTokenizer::read((fs::path(run) / "vocab.json").string());
    const std::string data = data_path.empty() ? run_key(info, "/dataset/path", run_json).get<std::string>() : data_path;
    if (data.empty()) throw Error(run, "names no dataset (an exported model): give the prepared dataset it was trained on with --data");
    r.data = load_train_data(data, r.config, r.tokenizer, device, access);
    if (r.data.fingerprint != run_key(info, "/dataset/fingerprint", run_json))
        throw Error(data, "is not the dataset " + run + " was trained on (voxels " + r.data.fingerprint["voxels"].dump() + " vs " +
                              info["dataset"]["fingerprint"]["voxels"].dump() + ", or another voxel table or split)");
    if (!r.config.caption_encoder.empty()) r.data.caption_table = load_caption_table(run, r.data, info.value("caption_encoder", json::object()));
    r.models = build_models(r.config, r.data, r.tokenizer.size());
    if (info.contains("stable_diffusion") && info.contains("stages") && info["stages"].value("sd_adapters", json::object()).value("done", false))
        r.models.sd_adapters = build_sd_adapters(info["stable_diffusion"], device);
    // In training order: later phases of EdgeColorNet hold the whole module, so the last one wins.
    // An exported model names one checkpoint for the three phases; it is read once.
    std::set<std::string> loaded;
    for (const std::string& stage : training_stages())
        if (info.contains("stages") && info["stages"].value(stage, json::object()).value("done", false)) {
            // The judge names the dataset's categories; on data without them it has nothing to name.
            if (stage == "classifier" && r.data.categories == 0) continue;
            r.trained.push_back(stage);
            const std::string file = info["stages"][stage].value("checkpoint", stage + ".pt");
            if (loaded.insert(file).second)
                load_checkpoint((fs::path(run) / file).string(), module_for(r.models, stage), nullptr, recorded_checksum(info, stage));
        }
    for (torch::nn::Module* module : all_modules(r.models)) module->eval();
    return r;
}

}  // namespace

CaptionBank caption_bank(LoadedRun& run) {
    CaptionBank b;
    b.captions = training_captions(run.data, &b.image);
    std::vector<int64_t> ids;
    ids.reserve(b.captions.size() * static_cast<size_t>(run.config.max_tokens));
    for (const auto& caption : b.captions) {
        const auto t = run.tokenizer.encode(caption, run.config.max_tokens);
        ids.insert(ids.end(), t.begin(), t.end());
    }
    b.tokens = torch::tensor(ids, torch::kLong).view({static_cast<int64_t>(b.captions.size()), run.config.max_tokens}).to(run.data.device);
    torch::NoGradGuard no_grad;
    if (run.data.caption_table.defined()) {
        // captions_of_rows lists each image's captions together and in order: the k-th of a run is caption k.
        std::vector<int64_t> slot;
        slot.reserve(b.image.size());
        for (size_t i = 0; i < b.image.size(); ++i) {
            const int64_t k = i > 0 && b.image[i - 1] == b.image[i] ? slot.back() % kMaxCaptions + 1 : 0;
            slot.push_back(b.image[i] * kMaxCaptions + k);
        }
        const torch::Tensor flat = run.data.caption_table.view({-1, run.data.caption_table.size(2)});
        b.embedding = flat.index_select(0, torch::tensor(slot, torch::kLong).to(flat.device()));
        return b;
    }
    std::vector<torch::Tensor> parts;
    constexpr int64_t kChunk = 512;
    for (int64_t i = 0; i < b.tokens.size(0); i += kChunk) parts.push_back(run.models.embedding->text(b.tokens.narrow(0, i, std::min(kChunk, b.tokens.size(0) - i))));
    b.embedding = torch::cat(parts, 0);
    return b;
}

GeneratorRun load_generator_run(const std::string& run, torch::Device device) {
    const std::string run_json = (fs::path(run) / "run.json").string();
    const json info = read_json(run_json);
    GeneratorRun r;
    try {
        r.config = model::encoder_config_from_json(info.at("config"), run_json);
    } catch (const json::exception&) {
        throw Error(run_json, "has no config (is this a run folder of `souldiffuser train`?)");
    }
    r.tokenizer = model::CaptionTokenizer::read((fs::path(run) / "vocab.json").string());
    auto done = [&](const std::string& stage) { return info.contains("stages") && info["stages"].value(stage, json::object()).value("done", false); };
    for (const char* needed : {"embedding", "vae", "unet"})
        if (!done(needed))
            throw Error(run, std::string("has no trained '") + needed + "' stage; train the generator with `souldiffuser train --stages vae,unet,adapters` (after 'embedding')");
    build_generator_models(r.config, r.tokenizer.size(), device, r.models);
    for (const char* stage : {"embedding", "vae", "unet", "adapters"})
        if (done(stage)) {
            r.trained.push_back(stage);
            load_checkpoint((fs::path(run) / (std::string(stage) + ".pt")).string(), module_for(r.models, stage), nullptr, recorded_checksum(info, stage));
        }
    for (torch::nn::Module* module : all_modules(r.models)) module->eval();
    return r;
}

}  // namespace soul::train
