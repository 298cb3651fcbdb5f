// The prepared dataset, memory-mapped (POSIX mmap), and the batch loader.
#include "soul/dataset.h"

#include "soul/checksum.h"
#include "soul/error.h"
#include "soul/limits.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <random>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace soul {

// A section's checksum as the manifest records it.
struct SectionChecksum {
    std::string name, recorded;
    uint64_t offset = 0, bytes = 0;
};

struct PreparedDataset::Impl {
    PreparedManifest manifest;
    std::vector<SectionChecksum> checksums;
    int fd = -1;
    void* base = nullptr;
    size_t length = 0;
    std::map<std::string, const uint8_t*> sections;
    std::vector<std::vector<std::string>> captions;
    const float* train_betas = nullptr;
    const float* test_betas = nullptr;
    const int32_t *train_image = nullptr, *test_image = nullptr, *test_repeats = nullptr, *nsd_ids = nullptr;
    const int16_t* voxel_ijk = nullptr;
    const int8_t *voxel_stream = nullptr, *voxel_visualroi = nullptr;
    const uint8_t *crop_mask = nullptr, *images = nullptr;
    std::vector<int64_t> crop_index;  // per voxel: its index in the crop box
    ~Impl() {
        if (base && base != MAP_FAILED) munmap(base, length);
        if (fd >= 0) close(fd);
    }
};

namespace {

// Bounds of a manifest's numbers: generous, but small enough that products of them cannot wrap.
constexpr int64_t kMaxCount = int64_t(1) << 40;
constexpr int64_t kMaxGridSide = 4096;
constexpr int64_t kMinImageSize = 8, kMaxImageSize = 1024;   // prepare's --image-size bounds

// Sections up to this size are verified on every open (a few milliseconds); larger ones (betas,
// images: gigabytes for NSD) when asked (PreparedDataset::verify_sections, `souldiffuser inspect`).
constexpr uint64_t kVerifyOnOpenBytes = uint64_t(64) << 20;
constexpr size_t kMaxSectionRank = 8;

void verify_section(const std::string& data_path, const SectionChecksum& c, const void* base) {
    const std::string found = checksum_text(crc32_update(0, static_cast<const uint8_t*>(base) + c.offset, static_cast<size_t>(c.bytes)));
    if (found != c.recorded)
        throw Error(data_path, "is damaged: section '" + c.name + "' has checksum " + found + ", not the " + c.recorded +
                                   " recorded in manifest.json when it was prepared (a disk or copy error?); prepare the dataset again");
}

struct SectionSpec {
    std::string name, dtype;
    std::vector<int64_t> shape;
};

// Typed reads of a manifest's fields by JSON pointer, each error naming the field.
class ManifestFields {
public:
    ManifestFields(const json& root, const std::string& path, std::string prefix = "") : m_root(root), m_path(path), m_prefix(std::move(prefix)) {}

    int64_t integer(const std::string& pointer, int64_t lo, int64_t hi) const {
        const json& value = at(pointer);
        if (!value.is_number_integer())
            throw Error(m_path, m_prefix + "field '" + pointer.substr(1) + "' is " + describe(value) + "; expected a whole number");
        const int64_t n = value.get<int64_t>();
        if (n < lo || n > hi)
            throw Error(m_path, m_prefix + "field '" + pointer.substr(1) + "' is " + std::to_string(n) + "; expected " + std::to_string(lo) + " to " +
                                    std::to_string(hi));
        return n;
    }
    double finite(const std::string& pointer) const {
        const json& value = at(pointer);
        if (!value.is_number() || !std::isfinite(value.get<double>()))
            throw Error(m_path, m_prefix + "field '" + pointer.substr(1) + "' is " + describe(value) + "; expected a finite number");
        return value.get<double>();
    }
    std::string text(const std::string& pointer) const {
        const json& value = at(pointer);
        if (!value.is_string()) throw Error(m_path, m_prefix + "field '" + pointer.substr(1) + "' is " + describe(value) + "; expected text");
        return value.get<std::string>();
    }

private:
    const json& at(const std::string& pointer) const {
        try {
            const json::json_pointer where(pointer);
            if (m_root.contains(where)) return m_root.at(where);
        } catch (const json::exception&) {
            // a parent of the wrong type: the field is missing
        }
        throw Error(m_path, m_prefix + "lacks the field '" + pointer.substr(1) + "'");
    }
    static std::string describe(const json& value) {
        const std::string text = value.dump();
        return text.size() > 40 ? text.substr(0, 40) + "..." : text;
    }
    const json& m_root;
    std::string m_path, m_prefix;
};

size_t dtype_size(const std::string& d) {
    if (d == "float32" || d == "int32") return 4;
    if (d == "int16") return 2;
    if (d == "int8" || d == "uint8") return 1;
    return 0;
}

}  // namespace

PreparedDataset::PreparedDataset(const std::string& folder) : impl_(std::make_unique<Impl>()) {
    const fs::path dir(folder);
    const std::string manifest_path = (dir / "manifest.json").string();
    if (!fs::exists(manifest_path)) {
        if (fs::exists(folder + ".partial")) throw Error(folder, "is not finished: only " + folder + ".partial exists (re-run prepare to resume)");
        throw Error(folder, "is not a prepared dataset (no manifest.json)");
    }
    json m;
    try {
        std::ifstream in(manifest_path);
        m = json::parse(in);
    } catch (const json::exception& e) {
        throw Error(manifest_path, std::string("is not valid JSON: ") + e.what());
    }
    if (!m.is_object() || m.value("format", json()) != kPreparedFormat) throw Error(manifest_path, "is not a SoulDiffuser prepared-dataset manifest");
    PreparedManifest& pm = impl_->manifest;
    pm.path = folder;
    const ManifestFields f(m, manifest_path);
    pm.subject = f.integer("/subject", 0, kMaxCount);
    pm.voxels = f.integer("/voxels", 1, kMaxCount);
    pm.train_trials = f.integer("/train_trials", 0, kMaxCount);
    pm.test_images = f.integer("/test_images", 0, kMaxCount);
    pm.images = f.integer("/images", 1, kMaxCount);
    pm.image_size = f.integer("/image_size", kMinImageSize, kMaxImageSize);
    if (m.contains("source") && m["source"].is_object() && m["source"].contains("nsd_root")) pm.source_root = f.text("/source/nsd_root");
    for (size_t a = 0; a < 3; ++a) {
        const std::string axis = "/" + std::to_string(a);
        pm.source_dims[a] = f.integer("/source_grid/dims" + axis, 1, kMaxGridSide);
        pm.crop_dims[a] = f.integer("/crop/dims" + axis, 1, pm.source_dims[a]);
        pm.crop_offset[a] = f.integer("/crop/offset" + axis, 0, pm.source_dims[a] - pm.crop_dims[a]);
    }
    for (size_t e = 0; e < 16; ++e) {
        pm.crop_ijk_to_ras[e] = f.finite("/crop/ijk_to_ras/" + std::to_string(e));
        pm.source_ijk_to_ras[e] = f.finite("/source_grid/ijk_to_ras/" + std::to_string(e));
    }

    const std::string data_path = (dir / "data.bin").string();
    impl_->fd = open(data_path.c_str(), O_RDONLY);
    if (impl_->fd < 0) throw Error(data_path, "cannot be opened");
    struct stat st {};
    fstat(impl_->fd, &st);
    impl_->length = static_cast<size_t>(st.st_size);
    impl_->base = mmap(nullptr, impl_->length, PROT_READ, MAP_SHARED, impl_->fd, 0);
    if (impl_->base == MAP_FAILED) throw Error(data_path, "cannot be memory-mapped");

    // Every section the reader uses, with the type and shape the counts above imply: a manifest
    // whose sections disagree with its counts, or with data.bin's size, is refused here.
    const int64_t side = pm.image_size;
    const std::vector<SectionSpec> expected = {
        {"train_betas", "float32", {pm.train_trials, pm.voxels}},
        {"test_betas", "float32", {pm.test_images, pm.voxels}},
        {"train_image", "int32", {pm.train_trials}},
        {"test_image", "int32", {pm.test_images}},
        {"test_repeats", "int32", {pm.test_images}},
        {"image_nsd_id", "int32", {pm.images}},
        {"voxel_ijk", "int16", {pm.voxels, 3}},
        {"voxel_stream", "int8", {pm.voxels}},
        {"voxel_visualroi", "int8", {pm.voxels}},
        {"crop_mask", "uint8", {pm.crop_dims[2], pm.crop_dims[1], pm.crop_dims[0]}},
        {"images", "uint8", {pm.images, side, side, 3}},
    };
    if (!m.contains("sections") || !m["sections"].is_array()) throw Error(manifest_path, "has no list of sections ('sections')");
    for (const SectionSpec& spec : expected) {
        const json* found = nullptr;
        for (const json& candidate : m["sections"])
            if (candidate.is_object() && candidate.value("name", json()) == spec.name) found = &candidate;
        if (!found) throw Error(manifest_path, "lists no section '" + spec.name + "'");
        const ManifestFields section(*found, manifest_path, "section '" + spec.name + "' ");
        const std::string dtype = section.text("/dtype");
        if (dtype != spec.dtype) throw Error(manifest_path, "section '" + spec.name + "' is " + dtype + "; expected " + spec.dtype);
        uint64_t bytes = dtype_size(dtype);
        for (size_t d = 0; d < spec.shape.size(); ++d) {
            const int64_t extent = section.integer("/shape/" + std::to_string(d), 0, kMaxCount);
            if (extent != spec.shape[d])
                throw Error(manifest_path, "section '" + spec.name + "' has shape[" + std::to_string(d) + "] = " + std::to_string(extent) +
                                               "; the manifest's counts imply " + std::to_string(spec.shape[d]));
            bytes = checked_product(manifest_path, bytes, static_cast<uint64_t>(extent), "section '" + spec.name + "'");
        }
        const uint64_t offset = static_cast<uint64_t>(section.integer("/offset", 0, std::numeric_limits<int64_t>::max()));
        if (offset > impl_->length || bytes > impl_->length - offset)
            throw Error(data_path, "is truncated: section '" + spec.name + "' ends at byte " + std::to_string(offset + bytes) + " of " +
                                       std::to_string(impl_->length));
        // Values are read in place: a section must start on a multiple of its value size (prepare
        // aligns every section to 64 bytes).
        if (offset % dtype_size(dtype) != 0)
            throw Error(manifest_path, "section '" + spec.name + "' starts at byte " + std::to_string(offset) + ", not a multiple of its " +
                                           std::to_string(dtype_size(dtype)) + "-byte values");
        impl_->sections[spec.name] = static_cast<const uint8_t*>(impl_->base) + offset;
        // Datasets prepared before checksums have none; the big sections (betas, images) are
        // verified on request (verify_sections), the rest on every open: they are what the
        // reader follows as indices.
        if (found->contains("checksum")) {
            const std::string recorded = section.text("/checksum");
            impl_->checksums.push_back({spec.name, recorded, offset, bytes});
            if (bytes <= kVerifyOnOpenBytes) verify_section(data_path, impl_->checksums.back(), impl_->base);
        }
    }
    // Sections the reader does not use (train_trial: provenance) are still covered by checksums.
    for (const json& candidate : m["sections"]) {
        if (!candidate.is_object() || !candidate.contains("checksum") || impl_->sections.count(candidate.value("name", std::string()))) continue;
        const ManifestFields section(candidate, manifest_path, "a section ");
        const std::string name = section.text("/name");
        uint64_t bytes = dtype_size(section.text("/dtype"));
        if (bytes == 0) throw Error(manifest_path, "section '" + name + "' has an unknown dtype '" + section.text("/dtype") + "'");
        const json& shape = candidate.contains("shape") ? candidate["shape"] : json();
        if (!shape.is_array() || shape.size() > kMaxSectionRank) throw Error(manifest_path, "section '" + name + "' has no shape list");
        for (size_t d = 0; d < shape.size(); ++d)
            bytes = checked_product(manifest_path, bytes, static_cast<uint64_t>(section.integer("/shape/" + std::to_string(d), 0, kMaxCount)),
                                    "section '" + name + "'");
        const uint64_t offset = static_cast<uint64_t>(section.integer("/offset", 0, std::numeric_limits<int64_t>::max()));
        if (offset > impl_->length || bytes > impl_->length - offset)
            throw Error(data_path, "is truncated: section '" + name + "' ends at byte " + std::to_string(offset + bytes) + " of " + std::to_string(impl_->length));
        impl_->checksums.push_back({name, section.text("/checksum"), offset, bytes});
        if (bytes <= kVerifyOnOpenBytes) verify_section(data_path, impl_->checksums.back(), impl_->base);
    }
    auto section = [&](const char* name) { return impl_->sections.at(name); };
    impl_->train_betas = reinterpret_cast<const float*>(section("train_betas"));
    impl_->test_betas = reinterpret_cast<const float*>(section("test_betas"));
    impl_->train_image = reinterpret_cast<const int32_t*>(section("train_image"));
    impl_->test_image = reinterpret_cast<const int32_t*>(section("test_image"));
    impl_->test_repeats = reinterpret_cast<const int32_t*>(section("test_repeats"));
    impl_->nsd_ids = reinterpret_cast<const int32_t*>(section("image_nsd_id"));
    impl_->voxel_ijk = reinterpret_cast<const int16_t*>(section("voxel_ijk"));
    impl_->voxel_stream = reinterpret_cast<const int8_t*>(section("voxel_stream"));
    impl_->voxel_visualroi = reinterpret_cast<const int8_t*>(section("voxel_visualroi"));
    impl_->crop_mask = section("crop_mask");
    impl_->images = section("images");

    // Indices the reader follows: images within the image list, voxels within the crop box.
    auto check_images = [&](const int32_t* index, int64_t count, const char* name) {
        for (int64_t r = 0; r < count; ++r)
            if (index[r] < 0 || index[r] >= pm.images)
                throw Error(data_path, std::string("section '") + name + "' row " + std::to_string(r) + " names image " + std::to_string(index[r]) +
                                           "; the dataset has " + std::to_string(pm.images) + " (a damaged data.bin?)");
    };
    check_images(impl_->train_image, pm.train_trials, "train_image");
    check_images(impl_->test_image, pm.test_images, "test_image");
    for (int64_t v = 0; v < pm.voxels; ++v)
        for (size_t a = 0; a < 3; ++a) {
            const int64_t at = impl_->voxel_ijk[v * 3 + static_cast<int64_t>(a)];
            if (at < pm.crop_offset[a] || at >= pm.crop_offset[a] + pm.crop_dims[a])
                throw Error(data_path, "section 'voxel_ijk' puts voxel " + std::to_string(v) + " outside the crop box (a damaged data.bin?)");
        }

    const std::string captions_path = (dir / "captions.json").string();
    try {
        std::ifstream in(captions_path);
        const json c = json::parse(in);
        for (const auto& list : c) impl_->captions.push_back(list.get<std::vector<std::string>>());
    } catch (const json::exception& e) {
        throw Error(captions_path, std::string("cannot be read: ") + e.what());
    }
    if (static_cast<int64_t>(impl_->captions.size()) != pm.images)
        throw Error(captions_path, "lists " + std::to_string(impl_->captions.size()) + " images, the manifest " + std::to_string(pm.images));
    for (int64_t v = 0; v < pm.voxels; ++v) {
        const int64_t i = impl_->voxel_ijk[v * 3] - pm.crop_offset[0], j = impl_->voxel_ijk[v * 3 + 1] - pm.crop_offset[1],
                      k = impl_->voxel_ijk[v * 3 + 2] - pm.crop_offset[2];
        impl_->crop_index.push_back((k * pm.crop_dims[1] + j) * pm.crop_dims[0] + i);
    }
}

PreparedDataset::~PreparedDataset() = default;

int PreparedDataset::verify_sections() const {
    const std::string data_path = (fs::path(impl_->manifest.path) / "data.bin").string();
    for (const SectionChecksum& c : impl_->checksums) verify_section(data_path, c, impl_->base);
    return static_cast<int>(impl_->checksums.size());
}

const PreparedManifest& PreparedDataset::manifest() const { return impl_->manifest; }
int64_t PreparedDataset::size(Split split) const { return split == Split::Train ? impl_->manifest.train_trials : impl_->manifest.test_images; }
int64_t PreparedDataset::voxels() const { return impl_->manifest.voxels; }

const float* PreparedDataset::betas(Split split, int64_t index) const {
    if (index < 0 || index >= size(split)) throw Error(impl_->manifest.path, "row " + std::to_string(index) + " is out of range");
    return (split == Split::Train ? impl_->train_betas : impl_->test_betas) + index * voxels();
}
int32_t PreparedDataset::image_of(Split split, int64_t index) const {
    return (split == Split::Train ? impl_->train_image : impl_->test_image)[index];
}
int32_t PreparedDataset::nsd_id(int32_t image) const { return impl_->nsd_ids[image]; }
int32_t PreparedDataset::repeats(int64_t test_index) const { return impl_->test_repeats[test_index]; }
const uint8_t* PreparedDataset::image(int32_t image) const {
    return impl_->images + static_cast<size_t>(image) * impl_->manifest.image_size * impl_->manifest.image_size * 3;
}
const std::vector<std::string>& PreparedDataset::captions(int32_t image) const { return impl_->captions[static_cast<size_t>(image)]; }
const int16_t* PreparedDataset::voxel_ijk() const { return impl_->voxel_ijk; }
const int8_t* PreparedDataset::voxel_stream() const { return impl_->voxel_stream; }
const int8_t* PreparedDataset::voxel_visualroi() const { return impl_->voxel_visualroi; }
const uint8_t* PreparedDataset::crop_mask() const { return impl_->crop_mask; }

std::vector<float> PreparedDataset::to_crop_volume(const float* row) const {
    const auto& d = impl_->manifest.crop_dims;
    std::vector<float> volume(static_cast<size_t>(d[0] * d[1] * d[2]), 0.0f);
    for (int64_t v = 0; v < voxels(); ++v) volume[static_cast<size_t>(impl_->crop_index[static_cast<size_t>(v)])] = row[v];
    return volume;
}

Volume PreparedDataset::to_source_volume(const float* row) const {
    const PreparedManifest& m = impl_->manifest;
    Volume v;
    v.dims = m.source_dims;
    v.ijk_to_ras.m = m.source_ijk_to_ras;
    for (int c = 0; c < 3; ++c)
        v.spacing[static_cast<size_t>(c)] = std::sqrt(v.ijk_to_ras(0, c) * v.ijk_to_ras(0, c) + v.ijk_to_ras(1, c) * v.ijk_to_ras(1, c) +
                                                      v.ijk_to_ras(2, c) * v.ijk_to_ras(2, c));
    v.voxels.assign(static_cast<size_t>(v.frame_size()), 0.0f);
    const int16_t* ijk = voxel_ijk();
    for (int64_t i = 0; i < voxels(); ++i) v.voxels[v.index(ijk[3 * i], ijk[3 * i + 1], ijk[3 * i + 2])] = row[i];
    return v;
}

BatchLoader::BatchLoader(const PreparedDataset& dataset, Split split, int64_t batch_size, bool shuffle, uint64_t seed, int workers,
                         int queue_depth, bool with_images)
    : dataset_(dataset), split_(split), batch_size_(std::max<int64_t>(1, batch_size)), shuffle_(shuffle),
      with_images_(with_images), seed_(seed), queue_depth_(std::max(1, queue_depth)) {
    for (int w = 0; w < std::max(1, workers); ++w) workers_.emplace_back([this, w] { work(w); });
}

BatchLoader::~BatchLoader() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    space_.notify_all();
    ready_.notify_all();
    for (auto& t : workers_) t.join();
}

int64_t BatchLoader::batches_per_epoch() const { return (dataset_.size(split_) + batch_size_ - 1) / batch_size_; }

std::vector<int64_t> BatchLoader::order_for(int64_t epoch) const {
    std::vector<int64_t> order(static_cast<size_t>(dataset_.size(split_)));
    std::iota(order.begin(), order.end(), 0);
    if (shuffle_) {
        std::mt19937_64 rng(seed_ * 1000003ull + static_cast<uint64_t>(epoch));
        std::shuffle(order.begin(), order.end(), rng);
    }
    return order;
}

void BatchLoader::work(int) {
    int64_t cached_epoch = -1;
    std::vector<int64_t> order;
    for (;;) {
        int64_t sequence;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            space_.wait(lock, [&] { return stopping_ || next_to_make_ - next_to_give_ < queue_depth_; });
            if (stopping_) return;
            sequence = next_to_make_++;
        }
        const int64_t per_epoch = batches_per_epoch();
        const int64_t epoch = sequence / per_epoch, within = sequence % per_epoch;
        if (epoch != cached_epoch) {
            order = order_for(epoch);
            cached_epoch = epoch;
        }
        Batch b;
        b.epoch = epoch;
        const int64_t first = within * batch_size_, last = std::min<int64_t>(first + batch_size_, static_cast<int64_t>(order.size()));
        const int64_t V = dataset_.voxels();
        const int64_t pixels = dataset_.manifest().image_size * dataset_.manifest().image_size * 3;
        b.betas.resize(static_cast<size_t>((last - first) * V));
        if (with_images_) b.pixels.resize(static_cast<size_t>((last - first) * pixels));
        for (int64_t r = first; r < last; ++r) {
            const int64_t row = order[static_cast<size_t>(r)];
            b.rows.push_back(row);
            const int32_t image = dataset_.image_of(split_, row);
            b.images.push_back(image);
            std::memcpy(b.betas.data() + (r - first) * V, dataset_.betas(split_, row), static_cast<size_t>(V) * 4);
            if (with_images_) std::memcpy(b.pixels.data() + (r - first) * pixels, dataset_.image(image), static_cast<size_t>(pixels));
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            done_.emplace_back(sequence, std::move(b));
        }
        ready_.notify_all();
    }
}

Batch BatchLoader::next() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        auto it = std::find_if(done_.begin(), done_.end(), [&](const auto& p) { return p.first == next_to_give_; });
        if (it != done_.end()) {
            Batch b = std::move(it->second);
            done_.erase(it);
            ++next_to_give_;
            lock.unlock();
            space_.notify_all();
            return b;
        }
        ready_.wait(lock);
    }
}

}  // namespace soul
