// What `prepare` needs from a raw dataset, whatever its layout: the ROI volumes on the betas'
// grid, the betas files ("sessions", each z-scored on its own), every trial with its image and
// split, and readers for images and captions. NSD (and the phantom) and the generic layout of
// docs/datasets.md each build one; prepare.cpp does the rest the same way for both.
#pragma once

#include "soul/formats.h"
#include "soul/prepare.h"
#include "soul/volume.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace soul::prepare_detail {

struct RawSession {
    int number = 0;                // 1-based, names the cache file
    std::string path;              // the betas file
    std::vector<int64_t> frames;   // 0-based frames of the file used, in trial order
    // Reads those frames at the given source voxel indices: frames.size() × voxels.size() floats,
    // in the dataset's unit (z-scoring comes after).
    std::function<std::vector<float>(const std::vector<int64_t>& voxels)> read;
};

struct RawTrial {
    int session = 0;        // index into RawSource::sessions
    int64_t row = 0;        // index into that session's frames
    int64_t image = 0;      // the dataset's image id (NSD: 0-based 73k id)
    bool test = false;      // NSD: a shared image
    int64_t number = 0;     // 1-based trial number as the dataset counts them
};

struct RawSource {
    std::string layout;                  // "nsd" | "generic"
    std::string mask_path;
    Volume mask, streams, visualrois;    // streams/visualrois are zero where the dataset has none
    std::vector<RawSession> sessions;
    std::vector<RawTrial> trials;
    int complete_repeats = 0;            // --shared complete keeps test images shown this often
    // The images of some ids, in order (prepare asks in batches: NSD's reader starts a process
    // per call, core/io/isolated.h).
    std::function<std::vector<RgbImage>(const std::vector<int64_t>& images)> images;
    // Captions of each image id (in order), as a JSON array of arrays of strings.
    std::function<nlohmann::json(const std::vector<int64_t>& images)> captions;
    nlohmann::json parameters;           // identifies the inputs (resume and no-op checks)
    nlohmann::json source;               // provenance paths for the manifest
    nlohmann::json image_names;          // generic: file of each image id; null for NSD
    int subject = 0;
};

RawSource open_nsd_source(const PrepareOptions& options);
RawSource open_generic_source(const PrepareOptions& options);
// True when `root` has the generic layout's trials.csv.
bool is_generic_layout(const std::string& root);

// Path, size and modification time of an input: what a cached session is checked against.
nlohmann::json file_identity(const std::string& path);
// ROI volume on the grid of `reference`, or an error naming both files.
Volume read_roi_on_grid(const std::string& path, const Volume& reference, const std::string& reference_path);

}  // namespace soul::prepare_detail
