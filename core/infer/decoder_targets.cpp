// `souldiffuser export-targets` (docs/decoder-plugins.md): what a brain decoder is trained to give,
// in the spaces of one run — the image at the encoders' size, the 8×8 palette, the edge map and
// the captions' mean embedding in the run's own text encoder — for every training image, as NumPy
// .npy files (the format NumPy's own `numpy.lib.format` documents: magic, version 1.0, a Python
// dict header padded to 64 bytes, then the data in C order) that a Python decoder reads with
// numpy.load, beside the row → image table of the dataset's training trials.
#include "soul/reconstruct.h"

#include "../train/caption_table.h"
#include "../train/encoder_run.h"
#include "decoder_plugin.h"
#include "soul/error.h"
#include "soul/json_text.h"
#include "soul/output_folder.h"
#include "soul/runtime.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;
using nlohmann::json;

namespace soul {

namespace {

// One tensor (float32 or int64) as a .npy file, written atomically.
void write_npy(const std::string& path, const torch::Tensor& tensor) {
    const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const bool is_float = t.scalar_type() == torch::kFloat;
    if (!is_float && t.scalar_type() != torch::kLong) throw Error(path, "only float32 and int64 arrays are written");
    std::string shape = "(";
    for (int64_t d : t.sizes()) shape += std::to_string(d) + ", ";
    if (t.dim() > 1) shape.erase(shape.size() - 2);
    else if (t.dim() == 1) shape.erase(shape.size() - 1);
    shape += ")";
    std::string header = std::string("{'descr': '") + (is_float ? "<f4" : "<i8") + "', 'fortran_order': False, 'shape': " + shape + ", }";
    const size_t preamble = 10;   // magic (6), version (2), header length (2)
    header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += '\x01';
    bytes += '\x00';
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    bytes += header;
    bytes.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * t.element_size());
    write_file_atomically(path, bytes);
}

}  // namespace

std::vector<std::string> export_decoder_targets(const DecoderTargetsOptions& o, const Progress& progress) {
    if (o.run.empty() || o.out.empty()) throw Error("export-targets: --model RUN and --out DIR are required");
    init_compute_threads();
    Steps report(progress, 3);
    report("loading " + o.run + " and its dataset");
    train::LoadedRun run = train::load_run(o.run, o.data, torch::kCPU, train::BetasAccess::Mapped);
    const PreparedDataset& d = *run.data.dataset;
    torch::NoGradGuard no_grad;

    report("computing the targets of the training images");
    // The run's training images (a validation split holds whole images out), each once, in order.
    std::set<int64_t> train_images;
    const torch::Tensor train_image = run.data.train_image.to(torch::kCPU);
    for (int64_t i = 0; i < train_image.size(0); ++i) train_images.insert(train_image[i].item<int64_t>());
    const std::vector<int64_t> images(train_images.begin(), train_images.end());
    std::map<int64_t, int64_t> target_of;
    for (size_t i = 0; i < images.size(); ++i) target_of[images[i]] = static_cast<int64_t>(i);
    // The dataset's training rows whose image the run trained on, and each one's target.
    std::vector<int64_t> rows, row_target;
    for (int64_t r = 0; r < d.size(Split::Train); ++r)
        if (const auto it = target_of.find(d.image_of(Split::Train, r)); it != target_of.end()) {
            rows.push_back(r);
            row_target.push_back(it->second);
        }
    const torch::Tensor index = torch::tensor(images, torch::kLong);
    const torch::Tensor caption = train::mean_caption_embedding(run.models.embedding, run.data, index);

    report("writing " + o.out);
    make_output_folder(o.out);
    const std::vector<std::pair<std::string, torch::Tensor>> files = {
        {"train_rows.npy", torch::tensor(rows, torch::kLong)},
        {"row_target.npy", torch::tensor(row_target, torch::kLong)},
        {"target_image.npy", index},
        {"low_level.npy", run.data.images.index_select(0, index).to(torch::kFloat)},
        {"palette.npy", run.data.palettes.index_select(0, index).to(torch::kFloat)},
        {"edges.npy", run.data.edges.index_select(0, index).to(torch::kFloat)},
        {"caption.npy", caption.to(torch::kFloat)},
    };
    std::vector<std::string> written;
    json listing = json::object();
    for (const auto& [name, tensor] : files) {
        const std::string path = (fs::path(o.out) / name).string();
        write_npy(path, tensor);
        listing[name] = tensor.sizes().vec();
        written.push_back(path);
    }
    const json targets = {
        {"format", "souldiffuser-decoder-targets"},
        {"format_version", 1},
        {"run", fs::absolute(o.run).string()},
        {"dataset", {{"path", fs::absolute(d.manifest().path).string()}, {"fingerprint", run.data.fingerprint}}},
        {"caption_space", infer::caption_space(run)},
        {"image_size", run.config.image_size},
        {"caption_dim", train::caption_dim(run.config, run.data)},
        {"files", listing},
        {"about",
         "train_rows: the dataset's training rows (its train_betas section) a decoder fits on; row_target: each row's index into the "
         "target arrays; target_image: the dataset image of each target; low_level (I, 3, S, S), palette (I, 3, 8, 8), edges (I, 1, S, S) "
         "in [0, 1]; caption (I, D): the mean embedding of the image's captions in this run's text encoder (caption_space)."},
    };
    const std::string manifest = (fs::path(o.out) / "targets.json").string();
    write_file_atomically(manifest, json_text(targets, 2) + "\n");
    written.push_back(manifest);
    report.done();
    return written;
}

}  // namespace soul
