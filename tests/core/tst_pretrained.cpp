// The pretrained networks of research scale (core/pretrained): CLIP's text tower, BERT and Stable
// Diffusion's autoencoder against PyTorch's own layers on the same random weights, laid out as the
// published files are (tests/core/text_encoder_reference.py, autoencoder_reference.py); the
// full-size key lists of openai/clip-vit-large-patch14's text tower, bert-base-uncased and Stable
// Diffusion 1.x's VAE written down from their published configs (tests/data/*.keys); config.json
// files; bad input.
#include "ExpectError.h"
#include "ReferenceTensors.h"
#include "io/weight_files.h"
#include "pretrained/autoencoder_kl.h"
#include "pretrained/checkpoint_identity.h"
#include "pretrained/text_encoders.h"
#include "soul/autoencoding.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/text_encoding.h"

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace soul::pretrained;
using soultest::compareKeys;
using soultest::expectError;
using soultest::readTensors;
using soultest::relativeError;

namespace {

constexpr double kReferenceTolerance = 1e-4;   // the issue's bar for ports checked against a reference
const std::string kTokenizerFixtures = SOUL_SOURCE_DIR "/tests/data/tokenizers/";

std::map<std::string, std::vector<int64_t>> publishedKeys(const std::string& name) {
    return soultest::publishedKeys(SOUL_SOURCE_DIR "/tests/data/" + name);
}

}  // namespace

class TestPretrained : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::vector<std::string> m_captions;   // the reference's captions, in the order of its rows
    std::string file(const char* name) const { return m_dir.filePath(name).toStdString(); }

    // A model folder as the publishers lay it out: {name: source file in m_dir or the tokenizer fixture}.
    std::string folder(const std::string& name, const std::map<std::string, std::string>& files) {
        for (const auto& [target, source] : files) {
            const auto path = std::filesystem::path(file(name.c_str())) / target;
            std::filesystem::create_directories(path.parent_path());
            const std::string from = std::filesystem::exists(file(source.c_str())) ? file(source.c_str()) : kTokenizerFixtures + source;
            std::filesystem::copy_file(from, path, std::filesystem::copy_options::overwrite_existing);
        }
        return file(name.c_str());
    }

private Q_SLOTS:
    void initTestCase() {
        QProcess p;
        p.start(SOUL_PYTHON, {SOUL_SOURCE_DIR "/tests/core/text_encoder_reference.py", "outputs", m_dir.path()});
        QVERIFY(p.waitForFinished(300000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const auto printed = nlohmann::json::parse(p.readAllStandardOutput().toStdString());
        for (const auto& c : printed["captions"]) m_captions.push_back(c);
        QCOMPARE(int(m_captions.size()), 3);
        p.start(SOUL_PYTHON, {SOUL_SOURCE_DIR "/tests/core/autoencoder_reference.py", "outputs", m_dir.path()});
        QVERIFY(p.waitForFinished(300000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    }

    // The same tiny autoencoder from the three ways Stable Diffusion is published: a diffusers
    // vae/ folder, the same with diffusers' older attention names, and the original single file.
    void autoencoderMatchesPyTorch() {
        const auto config = read_autoencoder_kl_config(file("vae/config.json"));
        QCOMPARE(config.channels, (std::vector<int64_t>{8, 16, 16}));
        auto expected = readTensors(file("vae_expected.safetensors"));
        for (const char* weights : {"vae/diffusion_pytorch_model.safetensors", "vae_old_names.safetensors", "sd-single-file.safetensors"}) {
            AutoencoderKL vae(config);
            vae->eval();
            load_weights(*vae, file(weights), autoencoder_kl_layout(weight_names(file(weights))));
            torch::NoGradGuard noGrad;
            QCOMPARE(vae->downscale(), int64_t(4));
            const auto encoded = vae->encode(expected["image"]);
            const auto decoded = vae->decode(expected["latents"]);
            QCOMPARE(encoded.sizes().vec(), (std::vector<int64_t>{2, 4, 4, 4}));
            QCOMPARE(decoded.sizes().vec(), (std::vector<int64_t>{2, 3, 16, 16}));
            const double encodeError = relativeError(encoded, expected["encoded"]), decodeError = relativeError(decoded, expected["decoded"]);
            qInfo("AutoencoderKL from %s: encode %.2e, decode %.2e", weights, encodeError, decodeError);
            QVERIFY2(encodeError < kReferenceTolerance, weights);
            QVERIFY2(decodeError < kReferenceTolerance, weights);
        }
    }

    // An image through the autoencoder and back from a diffusers folder, as `souldiffuser
    // autoencode` runs it: the pixels are exactly the module's round trip.
    void autoencodeImage() {
        soul::RgbImage image{20, 28, {}};
        for (int64_t y = 0; y < image.height; ++y)
            for (int64_t x = 0; x < image.width; ++x)
                image.pixels.insert(image.pixels.end(), {uint8_t(9 * x), uint8_t(12 * y), uint8_t(x * y % 256)});
        soul::write_png(file("photo.png"), image);
        const auto result = soul::autoencode_image(m_dir.path().toStdString(), file("photo.png"), 16);   // the folder's vae/
        QCOMPARE(result.input.width, int64_t(16));
        QCOMPARE(result.latent_size, int64_t(4));
        AutoencoderKL vae(read_autoencoder_kl_config(file("vae/config.json")));
        load_weights(*vae, file("vae/diffusion_pytorch_model.safetensors"), autoencoder_kl_layout(weight_names(file("vae/diffusion_pytorch_model.safetensors"))));
        vae->eval();
        torch::NoGradGuard noGrad;
        const auto x = torch::tensor(std::vector<int64_t>(result.input.pixels.begin(), result.input.pixels.end())).view({1, 16, 16, 3}).permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1;
        const auto y = ((vae->decode(vae->encode(x)).clamp(-1, 1) + 1) * 127.5).round().permute({0, 2, 3, 1}).flatten();
        const auto ours = torch::tensor(std::vector<int64_t>(result.reconstruction.pixels.begin(), result.reconstruction.pixels.end())).to(torch::kFloat32);
        QVERIFY((ours - y).abs().max().item<double>() <= 1.0);
        // A single file carries no config: its sizes are read from its shapes (single_file_sizes.h),
        // and the norms' groups, which shapes do not tell, are Stable Diffusion's 32, which the
        // tiny one's widths do not split into (its layout is checked in autoencoderMatchesPyTorch).
        expectError([&] { soul::autoencode_image(file("sd-single-file.safetensors"), file("photo.png"), 16); },
                    {"sd-single-file.safetensors", "8 wide", "32 norm groups"});

        QProcess p;
        p.start(SOUL_CLI, {"autoencode", m_dir.filePath("photo.png"), "--model", m_dir.filePath("vae"), "--out", m_dir.filePath("round-trip.png"), "--size", "16"});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        QVERIFY(QString(p.readAllStandardOutput()).contains("latents 4×4×4"));
        QVERIFY(soul::read_rgb_image(file("round-trip.png")).pixels == result.reconstruction.pixels);
        p.start(SOUL_CLI, {"autoencode", m_dir.filePath("photo.png"), "--model", m_dir.filePath("vae"), "--out", m_dir.filePath("round-trip.png"), "--size", "16"});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY(p.exitCode() != 0);
        QVERIFY(QString(p.readAllStandardError()).contains("already exists"));

        expectError([&] { soul::autoencode_image(file("vae"), file("photo.png"), 18); }, {"--size 18", "multiple of", " 4"});
        expectError([&] { soul::autoencode_image(file("vae"), file("absent.png"), 16); }, {"absent.png"});
        expectError([&] { soul::find_autoencoder(file("clip_config.json")); }, {"clip_config.json", "checkpoint file"});
        expectError([&] { soul::autoencode_image(file("bert.safetensors"), file("photo.png"), 16); }, {"bert.safetensors", "AutoencoderKL"});
        expectError([&] { soul::find_autoencoder(file("absent-model")); }, {"absent-model", "does not exist"});
    }

    // Checkpoints of other models are named, and refused where they cannot be read.
    void otherCheckpointsNamed() {
        const auto sd = identify_checkpoint(file("sd-single-file.safetensors"));
        QVERIFY(sd.has_unet && sd.has_vae && sd.has_text_encoder && !sd.lora && !sd.xl);
        QCOMPARE(sd.unet_input_channels, int64_t(4));
        const auto inpainting = identify_checkpoint(file("sd2-inpainting.safetensors"));
        QCOMPARE(inpainting.name, std::string("an inpainting Stable Diffusion 2.x"));
        QCOMPARE(inpainting.context_width, int64_t(1024));
        QCOMPARE(identify_checkpoint(file("unet-only.safetensors")).name, std::string("Stable Diffusion 1.x"));
        QVERIFY(identify_checkpoint(file("sdxl.safetensors")).xl);
        QVERIFY(identify_checkpoint(file("lora.safetensors")).lora);
        expectError([&] { soul::autoencode_image(file("sdxl.safetensors"), file("photo.png"), 16); }, {"sdxl.safetensors", "Stable Diffusion XL"});
        expectError([&] { soul::autoencode_image(file("lora.safetensors"), file("photo.png"), 16); }, {"lora.safetensors", "LoRA", "not a model"});
        expectError([&] { soul::autoencode_image(file("unet-only.safetensors"), file("photo.png"), 16); },
                    {"unet-only.safetensors", "Stable Diffusion 1.x without its autoencoder"});
    }

    void clipTextMatchesPyTorch() {
        const auto config = read_clip_text_config(file("clip_config.json"));
        QCOMPARE(config.layers, int64_t(3));
        QCOMPARE(config.projection, int64_t(24));
        ClipTextModel model(config);
        model->eval();
        load_weights(*model, file("clip_text.safetensors"), clip_text_layout());
        auto expected = readTensors(file("clip_text_expected.safetensors"));
        torch::NoGradGuard noGrad;
        const auto out = model->forward(expected["ids"], config.vocabulary - 1);
        QCOMPARE(out.last_hidden_state.size(1), int64_t(77));
        for (const auto& [name, ours] : std::map<std::string, torch::Tensor>{{"last_hidden_state", out.last_hidden_state},
                                                                             {"penultimate_hidden_state", out.penultimate_hidden_state},
                                                                             {"pooled", out.pooled},
                                                                             {"text_embeds", out.text_embeds}}) {
            QCOMPARE(ours.sizes().vec(), expected[name].sizes().vec());
            const double error = relativeError(ours, expected[name]);
            qInfo("CLIP text %s: largest difference %.2e", name.c_str(), error);
            QVERIFY2(error < kReferenceTolerance, name.c_str());
        }
        // The causal mask matters: a token after the end changes nothing before it.
        auto ids = expected["ids"].clone();
        ids.index_put_({0, -1}, 7);
        const auto changed = model->forward(ids, config.vocabulary - 1);
        QVERIFY(torch::allclose(changed.last_hidden_state.slice(1, 0, -1), out.last_hidden_state.slice(1, 0, -1), 1e-5, 1e-6));
        QVERIFY(!torch::allclose(changed.last_hidden_state.select(1, -1)[0], out.last_hidden_state.select(1, -1)[0]));
    }

    // Stable Diffusion's text_encoder folder: CLIPTextModel (no projection) in half precision.
    void clipTextFromHalfPrecisionWithoutProjection() {
        auto config = read_clip_text_config(file("clip_config.json"));
        config.projection = 0;
        ClipTextModel model(config);
        model->eval();
        load_weights(*model, file("clip_text_f16.safetensors"), clip_text_layout());
        auto expected = readTensors(file("clip_text_expected.safetensors"));
        torch::NoGradGuard noGrad;
        const auto out = model->forward(expected["ids"], config.vocabulary - 1);
        QVERIFY(!out.text_embeds.defined());
        const double error = relativeError(out.last_hidden_state, expected["last_hidden_state"]);
        qInfo("CLIP text from float16 weights: largest difference %.2e", error);
        QVERIFY(error < 5e-3);   // float16 keeps about 3 decimal digits of each weight (7e-4 seen)
    }

    void bertMatchesPyTorch() {
        const auto config = read_bert_config(file("bert_config.json"));
        BertModel model(config);
        model->eval();
        load_weights(*model, file("bert.safetensors"), bert_layout());   // "bert." prefix, LayerNorm.gamma/beta, cls. heads
        auto expected = readTensors(file("bert_expected.safetensors"));
        torch::NoGradGuard noGrad;
        const auto out = model->forward(expected["ids"], expected["attention_mask"]);
        const double hidden = relativeError(out.last_hidden_state, expected["last_hidden_state"]);
        const double pooled = relativeError(out.pooler_output, expected["pooler_output"]);
        qInfo("BERT last_hidden_state: largest difference %.2e; pooler_output %.2e", hidden, pooled);
        QVERIFY(hidden < kReferenceTolerance);
        QVERIFY(pooled < kReferenceTolerance);
        // The padding mask matters: without it the real tokens see the padding.
        const auto unmasked = model->forward(expected["ids"]);
        QVERIFY(relativeError(unmasked.pooler_output, expected["pooler_output"]) > 1e-3);
    }

    // The full-size key lists, written down from the published configs: exactly what the
    // loaders expect, so that a real model.safetensors loads the first time.
    void fullSizeKeysAreThePublishedModels() {
        const auto clip = publishedKeys("clip-vit-large-patch14-text.keys");
        QCOMPARE(int(clip.size()), 197);
        ClipTextModel clipModel(ClipTextConfig{});
        compareKeys(*clipModel, clip);
        const auto bert = publishedKeys("bert-base-uncased.keys");
        QCOMPARE(int(bert.size()), 199);
        BertModel bertModel(BertConfig{});
        compareKeys(*bertModel, bert);
        const auto vae = publishedKeys("stable-diffusion-v1-5-vae.keys");
        QCOMPARE(int(vae.size()), 248);
        AutoencoderKL vaeModel(AutoencoderKLConfig{});
        compareKeys(*vaeModel, vae);
    }

    // Text → the tokenizer → the encoder, from the folders users have: a transformers model
    // folder (CLIP's whole model file, BERT's pre-training file) and a diffusers Stable Diffusion
    // folder (text_encoder/ without projection in float16, tokenizer/). The reference's ids were
    // made by Hugging Face's tokenizers, so this checks the whole way from the caption.
    void captionsThroughModelFolders() {
        auto clipExpected = readTensors(file("clip_text_expected.safetensors"));
        const auto clipFolder = folder("clip-model", {{"config.json", "clip_config.json"}, {"model.safetensors", "clip_text.safetensors"},
                                                      {"vocab.json", "vocab.json"}, {"merges.txt", "merges.txt"}});
        soul::TextEncoderSummary summary;
        const auto clip = soul::embed_captions(clipFolder, m_captions, &summary);
        QCOMPARE(summary.kind, std::string("CLIP"));
        QCOMPARE(summary.embedding_name, std::string("text_embeds"));
        QCOMPARE(summary.context, int64_t(77));
        for (size_t i = 0; i < clip.size(); ++i) {
            const auto row = static_cast<int64_t>(i);
            QVERIFY(torch::equal(torch::tensor(clip[i].ids), clipExpected["ids"][row]));
            const double error = relativeError(torch::tensor(clip[i].embedding), clipExpected["text_embeds"][row]);
            QVERIFY2(error < kReferenceTolerance, clip[i].text.c_str());
        }
        QCOMPARE(clip[0].tokens.front(), std::string("<|startoftext|>"));
        QCOMPARE(clip[0].tokens.back(), std::string("<|endoftext|>"));

        const auto sdFolder = folder("sd15", {{"text_encoder/config.json", "clip_config.json"}, {"text_encoder/model.safetensors", "clip_text_f16.safetensors"},
                                              {"tokenizer/vocab.json", "vocab.json"}, {"tokenizer/merges.txt", "merges.txt"},
                                              {"unet/config.json", "bert_config.json"}});
        const auto sd = soul::embed_captions(sdFolder, {m_captions[2]}, &summary);
        QCOMPARE(summary.embedding_name, std::string("pooled"));
        QVERIFY(relativeError(torch::tensor(sd[0].embedding), clipExpected["pooled"][2]) < 5e-3);

        auto bertExpected = readTensors(file("bert_expected.safetensors"));
        const auto bertFolder = folder("bert-model", {{"config.json", "bert_config.json"}, {"model.safetensors", "bert.safetensors"}, {"vocab.txt", "vocab.txt"}});
        const auto bert = soul::embed_captions(bertFolder, m_captions, &summary);
        QCOMPARE(summary.kind, std::string("BERT"));
        for (size_t i = 0; i < bert.size(); ++i) {
            const double error = relativeError(torch::tensor(bert[i].embedding), bertExpected["pooler_output"][static_cast<int64_t>(i)]);
            QVERIFY2(error < kReferenceTolerance, bert[i].text.c_str());
        }
    }

    void encodeTextCommand() {
        const auto bertFolder = folder("bert-cli", {{"config.json", "bert_config.json"}, {"model.safetensors", "bert.safetensors"}, {"vocab.txt", "vocab.txt"}});
        QProcess p;
        p.start(SOUL_CLI, {"encode-text", QString::fromStdString(bertFolder), "a red coat", "a blue bag", "--json"});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const auto out = nlohmann::json::parse(p.readAllStandardOutput().toStdString());
        QCOMPARE(out["kind"].get<std::string>(), std::string("BERT"));
        QCOMPARE(out["captions"].size(), size_t(2));
        QCOMPARE(out["captions"][0]["tokens"].get<std::vector<std::string>>(), (std::vector<std::string>{"[CLS]", "a", "red", "coat", "[SEP]"}));
        QCOMPARE(out["captions"][1]["embedding"].size(), size_t(32));

        std::filesystem::remove(std::filesystem::path(bertFolder) / "vocab.txt");
        p.start(SOUL_CLI, {"encode-text", QString::fromStdString(bertFolder), "a red coat"});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY(p.exitCode() != 0);
        const QString error = p.readAllStandardError();
        QVERIFY2(error.contains("bert-cli") && error.contains("vocab.txt"), qPrintable(error));
    }

    void badFolders() {
        expectError([&] { soul::find_text_encoder(file("nowhere")); }, {"nowhere", "not a folder"});
        const auto noConfig = folder("no-config", {{"model.safetensors", "bert.safetensors"}, {"vocab.txt", "vocab.txt"}});
        expectError([&] { soul::find_text_encoder(noConfig); }, {"no-config", "config.json"});
        std::ofstream(file("t5.json")) << R"({"model_type": "t5"})";
        const auto t5 = folder("t5-model", {{"config.json", "t5.json"}, {"model.safetensors", "bert.safetensors"}});
        expectError([&] { soul::find_text_encoder(t5); }, {"t5-model/config.json", "\"t5\""});
        const auto noWeights = folder("no-weights", {{"config.json", "bert_config.json"}, {"vocab.txt", "vocab.txt"}});
        expectError([&] { soul::find_text_encoder(noWeights); }, {"no-weights", "model.safetensors"});
        const auto noMerges = folder("no-merges", {{"config.json", "clip_config.json"}, {"model.safetensors", "clip_text.safetensors"}, {"vocab.json", "vocab.json"}});
        expectError([&] { soul::find_text_encoder(noMerges); }, {"no-merges", "merges.txt"});
        // A CLIP config beside BERT's weights: the loader names the first key it does not know.
        const auto mixed = folder("mixed", {{"config.json", "clip_config.json"}, {"model.safetensors", "bert.safetensors"},
                                            {"vocab.json", "vocab.json"}, {"merges.txt", "merges.txt"}});
        expectError([&] { soul::embed_captions(mixed, {"a coat"}); }, {"mixed/model.safetensors", "CLIP's text encoder does not have"});
    }

    void badInput() {
        const auto clipConfig = read_clip_text_config(file("clip_config.json"));
        ClipTextModel clip(clipConfig);
        const auto before = clip->parameters().front().clone();
        expectError([&] { load_weights(*clip, file("bert.safetensors"), clip_text_layout()); }, {"bert.safetensors", "bert.embeddings", "CLIP's text encoder"});
        QVERIFY(torch::equal(before, clip->parameters().front()));   // nothing half-loaded
        BertModel bert(read_bert_config(file("bert_config.json")));
        expectError([&] { load_weights(*bert, file("clip_text.safetensors"), bert_layout()); }, {"clip_text.safetensors", "BERT"});
        ClipTextModel wide(ClipTextConfig{795, 77, 48, 3, 4, 64, 24, true});
        expectError([&] { load_weights(*wide, file("clip_text.safetensors"), clip_text_layout()); }, {"clip_text.safetensors", ", 32) where CLIP's text encoder has (", ", 48)"});
        expectError([&] { clip->forward(torch::zeros({1, 78}, torch::kInt64), 794); }, {"at most 77"});
        expectError([&] { bert->forward(torch::zeros({24}, torch::kInt64)); }, {"at most 24"});

        auto writeConfig = [&](const char* name, const std::string& text) {
            std::ofstream(file(name)) << text;
            return file(name);
        };
        expectError([&] { read_clip_text_config(writeConfig("t5.json", R"({"model_type": "t5", "d_model": 512})")); }, {"t5.json", "model_type \"t5\""});
        expectError([&] { read_bert_config(writeConfig("relu.json", R"({"model_type": "bert", "hidden_act": "relu"})")); }, {"relu.json", "relu"});
        expectError([&] { read_bert_config(writeConfig("layers.json", R"({"num_hidden_layers": -2})")); }, {"layers.json", "num_hidden_layers"});
        expectError([&] { read_clip_text_config(writeConfig("heads.json", R"({"hidden_size": 100, "num_attention_heads": 12})")); },
                    {"heads.json", "multiple of num_attention_heads"});
        expectError([&] { read_clip_text_config(writeConfig("cut.json", R"({"hidden_size": )")); }, {"cut.json", "not JSON"});
        expectError([&] { read_bert_config(file("absent.json")); }, {"absent.json", "cannot be opened"});

        const auto vaeConfig = read_autoencoder_kl_config(file("vae/config.json"));
        AutoencoderKL vae(vaeConfig);
        expectError([&] { load_weights(*vae, file("bert.safetensors"), autoencoder_kl_layout(weight_names(file("bert.safetensors")))); },
                    {"bert.safetensors", "AutoencoderKL"});
        expectError([&] { vae->encode(torch::zeros({1, 3, 18, 16})); }, {"multiples of 4"});
        expectError([&] { vae->decode(torch::zeros({1, 3, 4, 4})); }, {"4, h, w"});
        expectError([&] { read_autoencoder_kl_config(writeConfig("unet.json", R"({"_class_name": "UNet2DConditionModel"})")); },
                    {"unet.json", "UNet2DConditionModel"});
        expectError([&] { read_autoencoder_kl_config(writeConfig("groups.json", R"({"block_out_channels": [128, 250], "norm_num_groups": 32})")); },
                    {"groups.json", "250"});
    }
};

QTEST_GUILESS_MAIN(TestPretrained)
#include "tst_pretrained.moc"
