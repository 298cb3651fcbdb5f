// Caption embeddings from a pretrained text encoder (see caption_table.h).
#include "caption_table.h"

#include "soul/error.h"
#include "soul/text_encoding.h"

#include <filesystem>

namespace soul::train {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The table as a module's one buffer, so that it is written and read by the checkpoint code: the
// checksum run.json records, the shape, the element type and finite values are checked on load.
struct CaptionTableImpl : torch::nn::Module {
    explicit CaptionTableImpl(const torch::Tensor& table) { embeddings = register_buffer("embeddings", table); }
    torch::Tensor embeddings;
};
TORCH_MODULE(CaptionTable);

std::string table_path(const std::string& run) { return (fs::path(run) / kCaptionTableFile).string(); }

}  // namespace

torch::Tensor compute_caption_table(const TrainData& data, const std::string& folder, json* info, const Progress& progress) {
    const PreparedDataset& d = *data.dataset;
    const int64_t n_images = d.manifest().images;
    std::vector<std::string> texts;
    std::vector<int64_t> slot;   // image × kMaxCaptions + caption, for each text
    for (int32_t i = 0; i < n_images; ++i) {
        const auto& captions = d.captions(i);
        for (int64_t c = 0; c < std::min<int64_t>(kMaxCaptions, static_cast<int64_t>(captions.size())); ++c) {
            texts.push_back(captions[static_cast<size_t>(c)]);
            slot.push_back(i * kMaxCaptions + c);
        }
    }
    if (texts.empty()) throw Error(d.manifest().path, "has no captions; a caption encoder (" + folder + ") needs the images' captions");
    progress(0, 1, "encoding " + std::to_string(texts.size()) + " captions with " + folder);
    TextEncoderSummary summary;
    const std::vector<CaptionEmbedding> encoded = embed_captions(folder, texts, &summary);
    const int64_t width = static_cast<int64_t>(encoded.front().embedding.size());
    torch::Tensor table = torch::zeros({n_images * kMaxCaptions, width});
    for (size_t k = 0; k < encoded.size(); ++k)
        table[slot[k]] = torch::from_blob(const_cast<float*>(encoded[k].embedding.data()), {width}, torch::kFloat);
    table = table.view({n_images, kMaxCaptions, width}).to(data.device);

    // Centre on the training captions' mean (no validation or test caption is looked at), then unit norm.
    const torch::Tensor images = training_images(data);
    const torch::Tensor valid = (torch::arange(kMaxCaptions, torch::TensorOptions().device(data.device)).unsqueeze(0) <
                                 data.caption_count.unsqueeze(1)).to(torch::kFloat).unsqueeze(-1);   // (I, C, 1)
    const torch::Tensor train_valid = valid.index_select(0, images);
    const torch::Tensor mean = (table.index_select(0, images) * train_valid).sum(std::vector<int64_t>{0, 1}) / train_valid.sum().clamp_min(1);
    table = torch::nn::functional::normalize(table - mean, torch::nn::functional::NormalizeFuncOptions().dim(2)) * valid;
    if (info) *info = {{"folder", fs::absolute(folder).string()}, {"kind", summary.kind}, {"embedding", summary.embedding_name},
                       {"width", width}, {"captions", static_cast<int64_t>(texts.size())}, {"centred_on", "the training captions' mean"}};
    progress(1, 1, "encoded " + std::to_string(texts.size()) + " captions: " + summary.kind + " " + summary.embedding_name + ", " + std::to_string(width) + " wide");
    return table;
}

std::string save_caption_table(const std::string& run, const torch::Tensor& table) {
    CaptionTable module(table.cpu().contiguous());
    return save_weights(table_path(run), *module, false);
}

torch::Tensor load_caption_table(const std::string& run, const TrainData& data, const json& recorded) {
    const std::string path = table_path(run);
    if (!fs::exists(path)) throw Error(path, "is missing: this run's SemBERT predicts a pretrained caption encoder's embeddings, which training keeps there");
    const int64_t width = recorded.value("width", int64_t(0));
    if (width <= 0) throw Error((fs::path(run) / "run.json").string(), "has no width for its caption encoder ('caption_encoder.width')");
    CaptionTable module(torch::zeros({data.dataset->manifest().images, kMaxCaptions, width}));
    load_checkpoint(path, *module, nullptr, recorded.value("checksum", std::string()));
    return module->embeddings.to(data.device);
}

int64_t caption_dim(const model::EncoderConfig& config, const TrainData& data) {
    return data.caption_table.defined() ? data.caption_table.size(2) : config.embed_dim;
}

}  // namespace soul::train
