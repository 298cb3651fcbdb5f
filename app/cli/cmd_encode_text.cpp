// `souldiffuser encode-text`: captions through the user's own CLIP or BERT text encoder (a
// transformers model folder or a Stable Diffusion diffusers folder): the tokens, and the
// embedding research scale conditions on. A check that the files load and what they make.
#include "commands.h"

#include "soul/json_text.h"
#include "soul/text_encoding.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

namespace cli {

namespace {

struct EncodeTextArgs {
    std::string model;
    std::vector<std::string> texts;
    bool json = false;
    int values = 6;
};

void encode_text(const EncodeTextArgs& a) {
    soul::TextEncoderSummary summary;
    const auto embeddings = soul::embed_captions(a.model, a.texts, &summary);
    if (a.json) {
        nlohmann::json out = {{"kind", summary.kind}, {"device", summary.device}, {"embedding", summary.embedding_name},
                              {"layers", summary.layers}, {"width", summary.width}, {"context", summary.context},
                              {"parameters", summary.parameters}, {"captions", nlohmann::json::array()}};
        for (const auto& e : embeddings)
            out["captions"].push_back({{"text", e.text}, {"ids", e.ids}, {"tokens", e.tokens}, {"embedding", e.embedding}});
        std::cout << soul::json_text(out) << "\n";
        return;
    }
    std::printf("%s text encoder: %lld layers, width %lld, context %lld tokens, %.1f M parameters, on %s; embedding: %s\n",
                summary.kind.c_str(), static_cast<long long>(summary.layers), static_cast<long long>(summary.width),
                static_cast<long long>(summary.context), summary.parameters / 1e6, summary.device.c_str(), summary.embedding_name.c_str());
    for (const auto& e : embeddings) {
        double norm = 0;
        for (float v : e.embedding) norm += double(v) * v;
        std::printf("\n\"%s\"\n  %zu tokens:", e.text.c_str(), e.tokens.size());
        for (const auto& t : e.tokens) std::printf(" %s", t.c_str());
        std::printf("\n  ids:");
        for (size_t i = 0; i < e.tokens.size(); ++i) std::printf(" %lld", static_cast<long long>(e.ids[i]));
        std::printf("\n  %s (%zu values, norm %.4f):", summary.embedding_name.c_str(), e.embedding.size(), std::sqrt(norm));
        for (size_t i = 0; i < e.embedding.size() && static_cast<int>(i) < a.values; ++i) std::printf(" %.5f", e.embedding[i]);
        std::printf(e.embedding.size() > static_cast<size_t>(a.values) ? " …\n" : "\n");
    }
}

}  // namespace

Command add_encode_text(CLI::App& app) {
    auto* command = app.add_subcommand("encode-text", "Tokenize and embed captions with your own CLIP or BERT text encoder");
    auto a = std::make_shared<EncodeTextArgs>();
    command->add_option("model", a->model,
                        "A transformers model folder (config.json, model.safetensors or pytorch_model.bin, vocab.json + merges.txt "
                        "or vocab.txt) or a Stable Diffusion diffusers folder (text_encoder/, tokenizer/)")
        ->required();
    command->add_option("texts", a->texts, "Captions (UTF-8)")->required();
    command->add_flag("--json", a->json, "Print JSON: ids, tokens and the whole embedding of each caption");
    command->add_option("--values", a->values, "Embedding values to print per caption (text output)")->check(CLI::NonNegativeNumber);
    return {command, [a] { return reporting_errors("encode-text", false, [&] { encode_text(*a); }); }};
}

}  // namespace cli
