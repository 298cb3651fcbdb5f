// Label volumes and their tables (value → name, colour): NSD's streams and prf-visualrois codes,
// plain .txt label lists (MRIcron / AAL style) and .lut colour tables; nearest-neighbour
// resampling of a label volume onto another grid.
#pragma once

#include "soul/volume.h"

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace soul {

struct Label {
    int value = 0;
    std::string name;
    std::array<uint8_t, 3> rgb{200, 200, 200};
};

class LabelTable {
public:
    LabelTable() = default;
    explicit LabelTable(std::string name) : name_(std::move(name)) {}

    const std::string& name() const { return name_; }
    void set(const Label& label) { labels_[label.value] = label; }
    const Label* find(int value) const;
    // The label's name, or "label N" for a value the table does not list.
    std::string name_of(int value) const;
    std::array<uint8_t, 3> colour_of(int value) const;
    std::vector<Label> labels() const;
    bool empty() const { return labels_.empty(); }
    size_t size() const { return labels_.size(); }

private:
    std::string name_;
    std::map<int, Label> labels_;
};

// NSD's streams.nii.gz codes (design.md 4.1): 1 early … 7 parietal; 0 (unknown) is not listed.
LabelTable nsd_streams_table();
// NSD's prf-visualrois.nii.gz codes: 1 V1v … 7 hV4.
LabelTable nsd_prf_visualrois_table();

// Reads a label list:
//  - `.txt`: lines "value name [anything]" (MRIcron/AAL style) or "value name r g b [a]"
//    (FreeSurfer/ITK-SNAP style); '#' starts a comment.
//  - `.lut`: MRIcron/ImageJ binary colour table (768 bytes: 256 reds, 256 greens, 256 blues) or
//    a text table like `.txt`.
// Throws soul::Error naming the file and the line on a malformed entry.
LabelTable read_label_table(const std::string& path);

// The table for a label volume: NSD's own names (streams, prf-visualrois) get the built-in
// tables; otherwise the sibling `<file>.txt` / `<file>.lut` (AAL in mricron-data ships both:
// names from .txt, colours from .lut); otherwise generated names and colours.
LabelTable label_table_for(const std::string& volume_path, const Volume& labels);

// Distinct colour for a label without one (golden-angle hue steps).
std::array<uint8_t, 3> generated_colour(int value);

// The label values present in a label volume (rounded voxel values, 0 and negatives excluded:
// NSD uses 0 for unlabelled and −1 for non-cortical).
std::vector<int> present_labels(const Volume& labels);

// Resamples `labels` onto the grid of `target` by nearest neighbour through both affines
// (voxel centres; outside the source's box gives `outside`).
Volume resample_nearest(const Volume& labels, const Volume& target, float outside = 0.0f);

// Opens a label volume for display over `image`: read, take frame 0, and resample it onto
// `image`'s grid when needed. A label volume whose box does not overlap the image at all is
// refused with a soul::Error naming the file — it is surely the wrong file.
Volume read_labels_onto(const std::string& path, const Volume& image, bool* resampled = nullptr);

}  // namespace soul
