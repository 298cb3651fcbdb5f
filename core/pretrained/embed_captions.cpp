// Captions through a pretrained text encoder from the user's files (soul/text_encoding.h).
#include "soul/text_encoding.h"

#include "config_json.h"
#include "soul/error.h"
#include "soul/runtime.h"
#include "soul/tokenizers.h"
#include "text_encoders.h"

#include <algorithm>
#include <filesystem>

namespace soul {
namespace {

namespace fs = std::filesystem;

// Texts encoded per forward pass: a dataset's tens of thousands of captions in bounded memory
// (bert-base at 32 tokens: about 0.4 GB of activations per pass).
constexpr size_t kTextsPerForward = 256;

std::string first_existing(const fs::path& folder, const std::vector<const char*>& names) {
    for (const char* name : names)
        if (fs::exists(folder / name)) return (folder / name).string();
    return {};
}

torch::Tensor id_tensor(const std::vector<std::vector<int64_t>>& rows) {
    auto t = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows.front().size())}, torch::kInt64);
    for (size_t r = 0; r < rows.size(); ++r) std::copy(rows[r].begin(), rows[r].end(), t[static_cast<int64_t>(r)].data_ptr<int64_t>());
    return t;
}

std::vector<float> row_of(const torch::Tensor& t, int64_t row) {
    const auto r = t[row].to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(r.data_ptr<float>(), r.data_ptr<float>() + r.numel());
}

}  // namespace

TextEncoderFiles find_text_encoder(const std::string& folder_in) {
    fs::path folder(folder_in);
    if (!fs::is_directory(folder)) throw Error(folder_in, "is not a folder (a transformers model folder or a Stable Diffusion diffusers folder)");
    fs::path tokenizer = folder;
    if (fs::is_directory(folder / "text_encoder")) {   // diffusers
        tokenizer = folder / "tokenizer";
        folder /= "text_encoder";
    }
    TextEncoderFiles files;
    files.config = (folder / "config.json").string();
    if (!fs::exists(files.config)) throw Error(folder.string(), "has no config.json (the model's sizes)");
    const auto j = pretrained::read_config_json(files.config);
    const std::string type = j.value("model_type", std::string());
    if (type == "bert") {
        files.kind = "BERT";
    } else if (type == "clip" || type == "clip_text_model") {
        files.kind = "CLIP";
    } else {
        throw Error(files.config, "model_type \"" + type + "\" is neither CLIP (clip, clip_text_model) nor BERT (bert)");
    }
    files.weights = first_existing(folder, {"model.safetensors", "pytorch_model.bin", "model.fp16.safetensors"});
    if (files.weights.empty()) throw Error(folder.string(), "has no model.safetensors or pytorch_model.bin (the weights)");
    const std::vector<const char*> tokenizer_files = files.kind == "BERT" ? std::vector<const char*>{"vocab.txt"}
                                                                          : std::vector<const char*>{"vocab.json", "merges.txt"};
    for (const char* name : tokenizer_files)
        if (!fs::exists(tokenizer / name))
            throw Error(tokenizer.string(), std::string("has no ") + name + " (" + files.kind + "'s tokenizer)");
    files.tokenizer = tokenizer.string();
    return files;
}

std::vector<CaptionEmbedding> embed_captions(const std::string& folder, const std::vector<std::string>& texts, TextEncoderSummary* summary) {
    const TextEncoderFiles files = find_text_encoder(folder);
    const torch::Device device(default_device_name());
    std::vector<CaptionEmbedding> out(texts.size());
    TextEncoderSummary s;
    s.kind = files.kind;
    s.device = device.str();
    torch::NoGradGuard no_grad;
    auto count = [](torch::nn::Module& m) {
        int64_t n = 0;
        for (const auto& p : m.parameters()) n += p.numel();
        return n;
    };
    if (files.kind == "CLIP") {
        const auto tokenizer = ClipTokenizer::read(files.tokenizer);
        auto config = pretrained::read_clip_text_config(files.config);
        // transformers' CLIPTextConfig carries projection_dim even for CLIPTextModel, which has no
        // projection (Stable Diffusion's text_encoder): the weights decide.
        const auto names = pretrained::weight_names(files.weights);
        if (std::find(names.begin(), names.end(), "text_projection.weight") == names.end()) config.projection = 0;
        pretrained::ClipTextModel model(config);
        pretrained::load_weights(*model, files.weights, pretrained::clip_text_layout());
        model->eval();
        model->to(device);
        s = {files.kind, device.str(), config.projection > 0 ? "text_embeds" : "pooled", config.layers, config.hidden, config.positions, count(*model)};
        for (size_t first = 0; first < texts.size(); first += kTextsPerForward) {
            const size_t end = std::min(texts.size(), first + kTextsPerForward);
            std::vector<std::vector<int64_t>> ids;
            for (size_t i = first; i < end; ++i) ids.push_back(tokenizer.encode(texts[i], config.positions));
            const auto result = model->forward(id_tensor(ids).to(device), tokenizer.end_id());
            const auto& embedding = config.projection > 0 ? result.text_embeds : result.pooled;
            for (size_t i = first; i < end; ++i) {
                const auto& row_ids = ids[i - first];
                out[i] = {texts[i], row_ids, {}, row_of(embedding, static_cast<int64_t>(i - first))};
                const auto real = tokenizer.encode(texts[i]);
                for (size_t k = 0; k < std::min(real.size(), row_ids.size()); ++k) out[i].tokens.push_back(tokenizer.token(row_ids[k]));
            }
        }
    } else {
        const auto tokenizer = WordPieceTokenizer::read(files.tokenizer);
        const auto config = pretrained::read_bert_config(files.config);
        pretrained::BertModel model(config);
        pretrained::load_weights(*model, files.weights, pretrained::bert_layout());
        model->eval();
        model->to(device);
        s = {files.kind, device.str(), "pooler_output", config.layers, config.hidden, config.positions, count(*model)};
        for (size_t first = 0; first < texts.size(); first += kTextsPerForward) {
            const size_t end = std::min(texts.size(), first + kTextsPerForward);
            std::vector<std::vector<int64_t>> ids, masks;
            int64_t longest = 2;
            for (size_t i = first; i < end; ++i) longest = std::max<int64_t>(longest, static_cast<int64_t>(tokenizer.encode(texts[i]).size()));
            const int64_t length = std::min(longest, config.positions);
            for (size_t i = first; i < end; ++i) {
                ids.push_back(tokenizer.encode(texts[i], length));
                const auto real = std::min<int64_t>(static_cast<int64_t>(tokenizer.encode(texts[i]).size()), length);
                std::vector<int64_t> mask(static_cast<size_t>(length), 0);
                std::fill(mask.begin(), mask.begin() + real, 1);
                masks.push_back(mask);
            }
            const auto result = model->forward(id_tensor(ids).to(device), id_tensor(masks).to(device));
            for (size_t i = first; i < end; ++i) {
                const auto& row_ids = ids[i - first];
                out[i] = {texts[i], row_ids, {}, row_of(result.pooler_output, static_cast<int64_t>(i - first))};
                for (size_t k = 0; k < row_ids.size() && masks[i - first][k]; ++k) out[i].tokens.push_back(tokenizer.token(row_ids[k]));
            }
        }
    }
    if (summary) *summary = s;
    return out;
}

}  // namespace soul
