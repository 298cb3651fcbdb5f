// A prepared dataset (design.md 4.3), memory-mapped: random access to any trial, and a loader
// that shuffles, batches and prefetches on worker threads. Used by training and the studio.
#pragma once

#include "soul/volume.h"

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace soul {

// The "format" a prepared dataset's manifest.json names.
inline constexpr const char* kPreparedFormat = "souldiffuser-prepared";

enum class Split { Train, Test };

struct PreparedManifest {
    std::string path;                 // the dataset folder
    std::string source_root;          // the NSD (or phantom) root it was prepared from, if recorded
    int subject = 1;
    int64_t voxels = 0, train_trials = 0, test_images = 0, images = 0, image_size = 0;
    std::array<int64_t, 3> crop_dims{0, 0, 0};        // bounding box of nsdgeneral
    std::array<int64_t, 3> crop_offset{0, 0, 0};      // its first voxel in the source grid
    std::array<int64_t, 3> source_dims{0, 0, 0};
    std::array<double, 16> crop_ijk_to_ras{};         // affine of the crop box
    std::array<double, 16> source_ijk_to_ras{};
};

class PreparedDataset {
public:
    // Opens and validates a prepared dataset; throws soul::Error naming the file on a problem.
    explicit PreparedDataset(const std::string& folder);
    ~PreparedDataset();
    PreparedDataset(const PreparedDataset&) = delete;
    PreparedDataset& operator=(const PreparedDataset&) = delete;

    const PreparedManifest& manifest() const;
    // Verifies every section's checksum (opening verifies the small ones); returns how many
    // sections have one (0 for datasets prepared before checksums). Throws soul::Error naming
    // data.bin and the section on a mismatch.
    int verify_sections() const;
    int64_t size(Split split) const;
    int64_t voxels() const;

    // Row `index` of a split: z-scored betas of the visual voxels (test rows: repeats averaged).
    const float* betas(Split split, int64_t index) const;
    // The image (0 .. images−1) a row shows, its 0-based NSD 73k id, and (test) its repeat count.
    int32_t image_of(Split split, int64_t index) const;
    int32_t nsd_id(int32_t image) const;
    int32_t repeats(int64_t test_index) const;
    // size × size × 3 bytes.
    const uint8_t* image(int32_t image) const;
    const std::vector<std::string>& captions(int32_t image) const;

    // Per voxel: its (i, j, k) in the source grid, stream and prf-visualrois codes.
    const int16_t* voxel_ijk() const;   // voxels × 3
    const int8_t* voxel_stream() const;
    const int8_t* voxel_visualroi() const;
    // The crop box's nsdgeneral mask (x fastest), and a row scattered back into the box (0 outside).
    const uint8_t* crop_mask() const;
    std::vector<float> to_crop_volume(const float* row) const;
    // A row (betas, an attribution: one value per voxel) in the subject's original grid, with its
    // affine; 0 outside nsdgeneral.
    Volume to_source_volume(const float* row) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A row of a prepared dataset's split: test rows are held-out images (repeats averaged).
struct TrialRef {
    Split split = Split::Test;
    int64_t row = 0;
};
// "test" or "train", as trial lists and output folders name them.
std::string split_name(Split split);
// Parses a trial list ("--trials"): comma-separated test rows or ranges ("0,4,10-19"), "train:N"
// for a training row. Throws soul::Error on a malformed item or a row out of range.
std::vector<TrialRef> parse_trials(const std::string& list, const PreparedDataset& dataset);

// Batches of rows: shuffled per epoch (by seed and epoch number), prefetched by worker threads
// into a bounded queue. Each batch holds betas (n × voxels), images (n × size × size × 3) and
// the row and image indices.
struct Batch {
    std::vector<int64_t> rows;
    std::vector<int32_t> images;
    std::vector<float> betas;
    std::vector<uint8_t> pixels;
    int64_t epoch = 0;
};

class BatchLoader {
public:
    BatchLoader(const PreparedDataset& dataset, Split split, int64_t batch_size, bool shuffle, uint64_t seed,
                int workers = 2, int queue_depth = 4, bool with_images = true);
    ~BatchLoader();
    // The next batch (the last of an epoch may be smaller); epochs follow one another.
    Batch next();
    int64_t batches_per_epoch() const;

private:
    void work(int worker);
    std::vector<int64_t> order_for(int64_t epoch) const;

    const PreparedDataset& dataset_;
    Split split_;
    int64_t batch_size_;
    bool shuffle_, with_images_;
    uint64_t seed_;
    int queue_depth_;
    std::mutex mutex_;
    std::condition_variable ready_, space_;
    std::deque<std::pair<int64_t, Batch>> done_;   // (sequence number, batch)
    int64_t next_to_make_ = 0, next_to_give_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace soul
