// Stable Diffusion from the user's files (core/pretrained/unet_2d_condition.h, stable_diffusion.h;
// core/infer/stable_diffusion_generator.cpp): the UNet against torch.nn's layers on the same random
// weights from both layouts it is published in (tests/core/unet_reference.py), the full-size key
// lists of stable-diffusion-v1-5's and stable-diffusion-2-1's UNets and single files (their sizes read
// from their shapes), the whole pipeline — tokenizer,
// CLIP, UNet, classifier-free guidance, DDIM, img2img, v-prediction, the autoencoder — against
// tests/core/stable_diffusion_reference.py from the same start noise, `souldiffuser generate --sd`,
// reconstruction of phantom trials through it (`reconstruct --sd`), and the folders and files it
// refuses.
#include "ExpectError.h"
#include "NsdFixture.h"
#include "ReferenceOutputs.h"
#include "PublishedKeys.h"
#include "ReferenceTensors.h"
#include "infer/generator.h"
#include "model/attention.h"
#include "pretrained/single_file_sizes.h"
#include "pretrained/stable_diffusion.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/generate.h"
#include "soul/reconstruct.h"
#include "soul/train.h"

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>
#include <numeric>

using namespace soul::pretrained;
using soultest::compareKeys;
using soultest::expectError;
using soultest::readTensors;
using soultest::relativeError;
namespace fs = std::filesystem;

namespace {

constexpr double kReferenceTolerance = 1e-4;   // the issue's bar for ports checked against a reference
// The reference's caption and sampler (stable_diffusion_reference.py).
const char* const kCaption = "a red t-shirt in the upper left on blue stripes";
constexpr double kGuidance = 3.0;
constexpr int64_t kTextToImageSteps = 3, kImageToImageSteps = 4;
constexpr double kImageToImageStrength = 0.5;
constexpr int64_t kImageSize = 32;   // the tiny autoencoder has f = 4: 8×8 latents

// unet_reference.py's TINY_LINEAR: 2.x's kind of UNet (linear projections), published as a single
// file that carries no config.
UNet2DConditionConfig tinyLinearConfig() {
    UNet2DConditionConfig c;
    c.channels = {16, 32, 32};
    c.cross_attention = {true, true, false};
    c.heads = {4, 8, 8};
    c.layers_per_block = 2;
    c.groups = 8;
    c.context_width = 20;
    c.linear_projection = true;
    return c;
}

// The reference's caption from its start noise, and its text-to-image sampler: guidance 3, 3
// deterministic DDIM steps.
soul::infer::GenerationConditions referenceConditions(const torch::Tensor& noise) {
    soul::infer::GenerationConditions c;
    c.captions = {kCaption};
    c.noise = noise;
    return c;
}

soul::SamplerSettings referenceTextToImage() {
    soul::SamplerSettings s;
    s.steps = kTextToImageSteps;
    s.cfg = kGuidance;
    s.eta = 0;
    return s;
}

// A UNet of `config` in eval mode with the weights of `path`, in whichever layout the file has.
UNet2DConditionModel loadedUnet(const UNet2DConditionConfig& config, const std::string& path) {
    UNet2DConditionModel unet(config);
    unet->eval();
    load_weights(*unet, path, unet_2d_condition_layout(weight_names(path), config.layers_per_block));
    return unet;
}

}  // namespace

class TestStableDiffusion : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string file(const std::string& name) const { return m_dir.filePath(QString::fromStdString(name)).toStdString(); }

    // A copy of the reference's Stable Diffusion folder, changed by `edit`.
    std::string variant(const std::string& name, const std::function<void(const fs::path&)>& edit) {
        const fs::path to = file(name);
        fs::copy(file("sd"), to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
        edit(to);
        return to.string();
    }

    torch::Tensor generate(StableDiffusion& sd, const soul::infer::GenerationConditions& c, const soul::SamplerSettings& s, int64_t* frames = nullptr,
                           int64_t size = kImageSize) {
        auto generator = soul::infer::make_stable_diffusion_generator(sd, size);
        return generator->generate(c, s, [&](const soul::infer::DenoiseFrame& f) {
            if (frames) ++*frames;
            QCOMPARE(f.predicted.sizes().vec(), (std::vector<int64_t>{1, 3, size, size}));
        });
    }

private Q_SLOTS:
    void initTestCase() {
        const QString failed = soultest::referenceOutputs(SOUL_PYTHON, SOUL_SOURCE_DIR, soultest::kTinyStableDiffusion, m_dir.path());
        QVERIFY2(failed.isEmpty(), qPrintable(failed));
    }

    // The tiny UNet from a diffusers unet/ folder, at a size the reference was made at and at an
    // odd one (5×7 latents: each upsampler meets its skip's size).
    void unetMatchesPyTorch() {
        const auto config = read_unet_2d_condition_config(file("unet/config.json"));
        QCOMPARE(config.channels, (std::vector<int64_t>{16, 32, 32}));
        QCOMPARE(config.heads, (std::vector<int64_t>{2, 4, 4}));
        QVERIFY(!config.linear_projection);
        auto unet = loadedUnet(config, file("unet/diffusion_pytorch_model.safetensors"));
        auto expected = readTensors(file("unet_expected.safetensors"));
        torch::NoGradGuard noGrad;
        for (const std::string prefix : {"", "odd_"}) {
            const auto out = unet->forward(expected[prefix + "latents"], expected[prefix + "timesteps"], expected[prefix + "context"]);
            QCOMPARE(out.sizes().vec(), expected[prefix + "output"].sizes().vec());
            const double error = relativeError(out, expected[prefix + "output"]);
            qInfo("UNet2DConditionModel (%s): largest difference %.2e", prefix.empty() ? "8×8" : "5×7", error);
            QVERIFY2(error < kReferenceTolerance, prefix.c_str());
        }
        // The context matters: cross-attention reads it (each sample given the other's).
        const auto other = unet->forward(expected["latents"], expected["timesteps"], expected["context"].flip(0));
        QVERIFY(relativeError(other, expected["output"]) > 1e-3);
    }

    // At Stable Diffusion's sizes the attention is computed a block of query rows at a time
    // (model/attention.cpp); blocks change nothing: the same numbers as all rows at once, with a
    // key mask and with a mask per query row.
    void attentionInBlocksIsExact() {
        torch::manual_seed(3);
        const int64_t length = 4200, keys = 4100, width = 8;   // 4200 × 4100 scores: more than one block
        const auto q = torch::randn({1, length, width}), k = torch::randn({1, keys, width}), v = torch::randn({1, keys, width});
        const auto keyMask = (torch::rand({1, 1, 1, keys}) > 0.2);
        const auto rowMask = torch::randn({1, 1, length, keys});
        auto direct = [&](const torch::Tensor& additive) {
            auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(width));
            if (additive.defined()) scores = scores + additive[0][0];
            return torch::matmul(torch::softmax(scores, -1), v);
        };
        const auto keyAdditive = torch::zeros({1, 1, 1, keys}).masked_fill(~keyMask, -1e9);
        QVERIFY(relativeError(soul::model::multi_head_attention(q, k, v, 1), direct({})) < 1e-5);
        QVERIFY(relativeError(soul::model::multi_head_attention(q, k, v, 1, keyMask), direct(keyAdditive)) < 1e-5);
        QVERIFY(relativeError(soul::model::multi_head_attention(q, k, v, 1, rowMask), direct(rowMask)) < 1e-5);
    }

    // 2.x's kind (linear projections, more heads) from the original single file: CompVis' names
    // under model.diffusion_model., beside an autoencoder's, a text encoder's and the schedule's keys.
    void unetFromSingleFile() {
        auto unet = loadedUnet(tinyLinearConfig(), file("sd-unet-single-file.safetensors"));
        auto expected = readTensors(file("unet_expected.safetensors"));
        torch::NoGradGuard noGrad;
        const auto out = unet->forward(expected["linear_latents"], expected["linear_timesteps"], expected["linear_context"]);
        const double error = relativeError(out, expected["linear_output"]);
        qInfo("UNet2DConditionModel from a single file: largest difference %.2e", error);
        QVERIFY(error < kReferenceTolerance);
    }

    // The full-size key lists, written down from the published configs (unet_reference.py keys):
    // a real diffusion_pytorch_model.safetensors loads the first time.
    void fullSizeKeysAreThePublishedModels() {
        for (const auto& [keys, config] : std::vector<std::pair<std::string, UNet2DConditionConfig>>{
                 {"stable-diffusion-v1-5-unet.keys", stable_diffusion_1_unet_config()}, {"stable-diffusion-2-1-unet.keys", stable_diffusion_2_unet_config()}}) {
            const auto published = soultest::publishedKeys(SOUL_SOURCE_DIR "/tests/data/" + keys);
            QCOMPARE(int(published.size()), 686);
            UNet2DConditionModel unet(config);
            compareKeys(*unet, published);
            int64_t parameters = 0;
            for (const auto& p : unet->parameters()) parameters += p.numel();
            qInfo("%s: %.1f M parameters", keys.c_str(), double(parameters) / 1e6);
        }
    }

    // A single file carries no config: its sizes are read from its shapes. The published files'
    // key lists (stable_diffusion_reference.py keys) give the published configs, and every key of
    // them fits the modules built from those sizes, so a real file loads the first time.
    void singleFileSizesFromPublishedShapes() {
        struct Published {
            std::string keys;
            UNet2DConditionConfig unet;
            bool text;   // 1.x carries CLIP's text tower; 2.x's OpenCLIP is read from a folder
        };
        for (const auto& published : {Published{"stable-diffusion-v1-5-single-file.keys", stable_diffusion_1_unet_config(), true},
                                      Published{"stable-diffusion-2-1-single-file.keys", stable_diffusion_2_unet_config(), false}}) {
            const auto shapes = soultest::publishedKeys(SOUL_SOURCE_DIR "/tests/data/" + published.keys);
            std::vector<std::string> names;
            for (const auto& entry : shapes) names.push_back(entry.first);
            const auto unet = unet_config_from_shapes(published.keys, shapes);
            QCOMPARE(unet.channels, published.unet.channels);
            QCOMPARE(unet.cross_attention, published.unet.cross_attention);
            QCOMPARE(unet.heads, published.unet.heads);
            QCOMPARE(unet.layers_per_block, published.unet.layers_per_block);
            QCOMPARE(unet.context_width, published.unet.context_width);
            QCOMPARE(unet.linear_projection, published.unet.linear_projection);
            QCOMPARE(unet.groups, published.unet.groups);
            QCOMPARE(unet.in_channels, int64_t(4));
            QCOMPARE(unet.out_channels, int64_t(4));
            UNet2DConditionModel unetModel(unet);
            check_weight_shapes(*unetModel, published.keys, shapes, unet_2d_condition_layout(names, unet.layers_per_block));

            const auto vae = autoencoder_kl_config_from_shapes(published.keys, shapes);
            const auto vaeSizes = [](const AutoencoderKLConfig& c) { return std::tie(c.channels, c.layers_per_block, c.latent_channels, c.image_channels, c.groups); };
            QVERIFY(vaeSizes(vae) == vaeSizes(AutoencoderKLConfig{}));
            AutoencoderKL vaeModel(vae);
            check_weight_shapes(*vaeModel, published.keys, shapes, autoencoder_kl_layout(names));
            if (!published.text) continue;
            const auto text = clip_text_config_from_shapes(published.keys, shapes);
            const auto textSizes = [](const ClipTextConfig& c) { return std::tie(c.vocabulary, c.positions, c.hidden, c.layers, c.heads, c.intermediate); };
            QVERIFY(textSizes(text) == textSizes(ClipTextConfig{}));
            QCOMPARE(text.projection, int64_t(0));
            ClipTextModel textModel(text);
            check_weight_shapes(*textModel, published.keys, shapes, clip_text_layout());
        }
        // A key list cut short, or a tensor of another rank, is named.
        auto shapes = soultest::publishedKeys(SOUL_SOURCE_DIR "/tests/data/stable-diffusion-v1-5-single-file.keys");
        shapes.erase("model.diffusion_model.time_embed.0.weight");
        expectError([&] { unet_config_from_shapes("cut.safetensors", shapes); }, {"cut.safetensors", "model.diffusion_model.time_embed.0.weight"});
        shapes = soultest::publishedKeys(SOUL_SOURCE_DIR "/tests/data/stable-diffusion-v1-5-single-file.keys");
        shapes["first_stage_model.encoder.conv_in.weight"] = {128, 3};
        expectError([&] { autoencoder_kl_config_from_shapes("flat.safetensors", shapes); },
                    {"flat.safetensors", "first_stage_model.encoder.conv_in.weight", "(128, 3)", "4-dimensional"});
        shapes = soultest::publishedKeys(SOUL_SOURCE_DIR "/tests/data/stable-diffusion-v1-5-single-file.keys");
        shapes["model.diffusion_model.input_blocks.1.1.transformer_blocks.1.norm1.weight"] = {320};
        expectError([&] { unet_config_from_shapes("deep.safetensors", shapes); }, {"deep.safetensors", "more than one transformer block"});
        // The tiny single file's widths (16, 32) are not Stable Diffusion's multiples of 32 groups.
        expectError([&] { unet_config_from_shapes(file("sd-unet-single-file.safetensors"), weight_shapes(file("sd-unet-single-file.safetensors"))); },
                    {"sd-unet-single-file.safetensors", "16 wide", "32 norm groups"});
    }

    // A 1.x single file of other sizes than the published model's (stable_diffusion_reference.py:
    // two UNet blocks 32 and 64 wide with one resnet each, an f = 2 autoencoder, one text layer)
    // loads with its own sizes and draws what the reference draws from the same noise.
    void singleFileOfOtherSizesMatchesPyTorch() {
        auto expected = readTensors(file("sd_expected.safetensors"));
        const auto files = find_stable_diffusion(file("sd-small-single-file.safetensors"), file("sd"));   // the folder's tokenizer
        QVERIFY(QString::fromStdString(files.name).contains("single file"));
        auto sd = load_stable_diffusion(files, torch::kCPU, torch::kFloat32);
        QCOMPARE(sd->unet->config.channels, (std::vector<int64_t>{32, 64}));
        QCOMPARE(sd->unet->config.layers_per_block, int64_t(1));
        QCOMPARE(sd->vae->downscale(), int64_t(2));
        QCOMPARE(sd->text_encoder->config.layers, int64_t(1));
        const auto image = generate(*sd, referenceConditions(expected["small_noise"]), referenceTextToImage(), nullptr, 16);   // 8×8 latents, f = 2
        const double error = relativeError(image, expected["small_txt2img"]);
        qInfo("A single file of other sizes, text to image: largest difference %.2e", error);
        QVERIFY(error < kReferenceTolerance);
    }

    // The whole pipeline from the diffusers folder against the reference, from the same noise:
    // text to image with guidance 3 and 3 DDIM steps; then img2img at strength 0.5 of 4 steps with
    // the model read as v-predicting (as --prediction v asks).
    void pipelineMatchesPyTorch() {
        auto expected = readTensors(file("sd_expected.safetensors"));
        const auto files = find_stable_diffusion(file("sd"));
        QCOMPARE(files.prediction, Prediction::Epsilon);
        QVERIFY(QString::fromStdString(files.name).contains("diffusers folder"));
        auto sd = load_stable_diffusion(files, torch::kCPU, torch::kFloat32);
        QCOMPARE(sd->vae->downscale(), int64_t(4));
        QVERIFY(sd->parameters() > 0);

        soul::infer::GenerationConditions c = referenceConditions(expected["noise"]);
        soul::SamplerSettings s = referenceTextToImage();
        int64_t frames = 0;
        const auto txt2img = generate(*sd, c, s, &frames);
        QCOMPARE(frames, kTextToImageSteps);
        const double textError = relativeError(txt2img, expected["txt2img"]);
        qInfo("Stable Diffusion text to image: largest difference %.2e", textError);
        QVERIFY(textError < kReferenceTolerance);
        // The caption matters.
        c.captions = {"a blue bag"};
        QVERIFY(relativeError(generate(*sd, c, s), expected["txt2img"]) > 1e-3);

        auto vFiles = find_stable_diffusion(file("sd"), "", "v");
        QCOMPARE(vFiles.prediction, Prediction::V);
        auto v = load_stable_diffusion(vFiles, torch::kCPU, torch::kFloat32);
        c.captions = {kCaption};
        c.init = expected["init"];
        s.steps = kImageToImageSteps;
        s.strength = kImageToImageStrength;
        frames = 0;
        const auto img2img = generate(*v, c, s, &frames);
        QCOMPARE(frames, int64_t(2));   // strength 0.5 of 4 steps
        const double imageError = relativeError(img2img, expected["img2img"]);
        qInfo("Stable Diffusion img2img, v-prediction: largest difference %.2e", imageError);
        QVERIFY(imageError < kReferenceTolerance);
    }

    // `souldiffuser generate --sd` as a user runs it: PNGs of the asked size, the same bytes for
    // the same seed.
    void generateCommand() {
        auto run = [&](const QString& out) {
            QProcess p;
            p.start(SOUL_CLI, {"generate", "--sd", m_dir.filePath("sd"), "--caption", kCaption, "--out", out, "--size", QString::number(kImageSize),
                               "--steps", "3", "--samples", "2", "--seed", "5"});
            if (!p.waitForFinished(300000)) return QString("did not finish");
            return p.exitCode() == 0 ? QString() : QString(p.readAllStandardError());
        };
        QCOMPARE(run(m_dir.filePath("gen-a")), QString());
        QCOMPARE(run(m_dir.filePath("gen-b")), QString());
        const auto first = soul::read_rgb_image(file("gen-a/sample-0.png"));
        QCOMPARE(first.width, kImageSize);
        QCOMPARE(first.height, kImageSize);
        QVERIFY(first.pixels == soul::read_rgb_image(file("gen-b/sample-0.png")).pixels);
        QVERIFY(first.pixels != soul::read_rgb_image(file("gen-a/sample-1.png")).pixels);   // each sample its own noise

        QProcess p;
        p.start(SOUL_CLI, {"generate", "--model", m_dir.filePath("sd"), "--sd", m_dir.filePath("sd"), "--out", m_dir.filePath("gen-c")});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY(p.exitCode() != 0);
        QVERIFY(QString(p.readAllStandardError()).contains("excludes"));
        p.start(SOUL_CLI, {"generate", "--sd", m_dir.filePath("sd"), "--out", m_dir.filePath("gen-d"), "--size", "30", "--steps", "2"});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY(p.exitCode() != 0);
        QVERIFY2(QString(p.readAllStandardError()).contains("multiple of its autoencoder's downscale 4"), "");
    }

    // The shipped model's encoders read phantom trials and Stable Diffusion draws: SemBERT's
    // caption (retrieved from the training bank) as text, SSMNet's image as the img2img start, no
    // palette or edges (the shipped model has no adapters for it); the stimulus at the generator's size.
    void reconstructWithStableDiffusion() {
        const std::string data = soultest::prepared_default_phantom(file("phantom-data"));
        soul::ReconstructionEngine engine(SOUL_MODEL_DIR, data, "cpu", std::vector<std::string>{});
        const std::string own = engine.generator_title();
        soul::StableDiffusionOptions options;
        options.path = file("sd");
        options.size = kImageSize;
        options.text_encoder = file("absent-clip");
        expectError([&] { engine.use_stable_diffusion(options); }, {"absent-clip"});
        QCOMPARE(engine.generator_title(), own);   // unchanged by the failure
        options.text_encoder.clear();
        engine.use_stable_diffusion(options);
        QVERIFY(QString::fromStdString(engine.generator_title()).contains("Stable Diffusion"));
        soul::ReconstructionSettings s;
        s.sampler.steps = 4;
        const std::vector<soul::TrialRef> trials = {{soul::Split::Test, 0}, {soul::Split::Test, 1}};
        const auto first = engine.reconstruct(trials, s);
        QCOMPARE(first.size(), size_t(2));
        for (const auto& r : first) {
            QCOMPARE(r.samples.front().width, kImageSize);
            QCOMPARE(r.stimulus.width, kImageSize);
            QVERIFY(!r.caption.empty());
        }
        QVERIFY(first[0].samples.front().pixels != first[1].samples.front().pixels);
        QVERIFY(engine.reconstruct(trials, s)[0].samples.front().pixels == first[0].samples.front().pixels);   // same seed, same bytes
        s.sampler.use_caption = false;
        QVERIFY(engine.reconstruct(trials, s)[0].samples.front().pixels != first[0].samples.front().pixels);   // the caption reaches it
        s.sampler.use_caption = true;
        s.sampler.use_init = false;
        QVERIFY(engine.reconstruct(trials, s)[0].samples.front().pixels != first[0].samples.front().pixels);   // and the start image

        QProcess p;
        p.start(SOUL_CLI, {"reconstruct", "--model", SOUL_MODEL_DIR, "--data", QString::fromStdString(data), "--sd", m_dir.filePath("sd"), "--size",
                           QString::number(kImageSize), "--steps", "4", "--out", m_dir.filePath("reconstructions")});
        QVERIFY(p.waitForFinished(300000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const auto settings = nlohmann::json::parse(std::ifstream(file("reconstructions/trial-test-0000/settings.json")));
        QVERIFY(QString::fromStdString(settings["generator"].get<std::string>()).contains("Stable Diffusion"));
        s.sampler.use_init = true;
        const auto alone = engine.reconstruct({trials.front()}, s);   // one trial, as the command ran it
        QVERIFY(soul::read_rgb_image(file("reconstructions/trial-test-0000/reconstruction-0.png")).pixels == alone[0].samples.front().pixels);
    }

    // `evaluate --sd`: every method's conditions drawn by Stable Diffusion and scored at the run's
    // generator size; the rows without a palette or edges are left out (they would draw the same).
    void evaluateWithStableDiffusion() {
        const std::string data = soultest::prepared_default_phantom(file("phantom-data"));
        QProcess p;
        p.start(SOUL_CLI, {"evaluate", SOUL_MODEL_DIR, "--data", QString::fromStdString(data), "--sd", m_dir.filePath("sd"), "--size",
                           QString::number(kImageSize), "--steps", "3", "--limit", "4", "--out", m_dir.filePath("evaluation-sd")});
        QVERIFY(p.waitForFinished(600000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const auto report = nlohmann::json::parse(std::ifstream(file("evaluation-sd/report.json")));
        QVERIFY(QString::fromStdString(report["generator"].get<std::string>()).contains("Stable Diffusion"));
        std::set<std::string> names;
        for (const auto& row : report["rows"]) names.insert(row["setting"].get<std::string>());
        QVERIFY(names.count("SoulDiffuser") && names.count("SoulDiffuser, no caption") && names.count("SoulDiffuser, no img2img start"));
        QVERIFY(!names.count("SoulDiffuser, no palette") && !names.count("SoulDiffuser, no edges"));
        const soul::RgbImage figure = soul::read_rgb_image(file("evaluation-sd/comparison.png"));
        QVERIFY(figure.width > 0 && figure.height > 0);
    }

    // The method's box d on Stable Diffusion: colour and edge adapters trained with it frozen
    // (`train --stages sd_adapters --sd`), added to a copy of the shipped model; reconstruction
    // through it then takes the palette and edge map at ω1, ω2.
    void adaptersTrainedForStableDiffusion() {
        const std::string data = soultest::prepared_default_phantom(file("phantom-data"));
        const std::string run = file("shipped-copy");
        std::filesystem::copy(SOUL_MODEL_DIR, run, std::filesystem::copy_options::recursive);
        nlohmann::json config = nlohmann::json::parse(std::ifstream(run + "/run.json"))["config"];
        config["sd_adapters"] = {{"epochs", 1}, {"lr", 0.001}};
        std::ofstream(file("sd-config.json")) << config.dump();
        soul::TrainOptions o;
        o.data = data;
        o.config = file("sd-config.json");
        o.out = run;
        o.stages = {"sd_adapters"};
        o.device = "cpu";
        o.resume = true;
        expectError([&] { soul::train_encoders(o); }, {"sd_adapters", "--sd"});
        o.stable_diffusion.path = file("sd");
        o.stable_diffusion.size = 24;   // not a multiple of 4 × 2² (the tiny UNet's three levels)
        expectError([&] { soul::train_encoders(o); }, {"--size 24", "multiple of 16"});
        o.stable_diffusion.size = kImageSize;
        QCOMPARE(soul::train_encoders(o).stages_trained, std::vector<std::string>{"sd_adapters"});
        const auto state = nlohmann::json::parse(std::ifstream(run + "/run.json"));
        QCOMPARE(state["stable_diffusion"]["levels"], nlohmann::json({16, 32, 32}));
        std::vector<double> loss;
        std::ifstream metrics(run + "/metrics.jsonl");
        for (std::string line; std::getline(metrics, line);) {
            const auto j = nlohmann::json::parse(line);
            if (j["stage"] == "sd_adapters") loss.push_back(j["loss"]);
        }
        QVERIFY(loss.size() >= 20);
        const size_t k = loss.size() / 5;
        const double first = std::accumulate(loss.begin(), loss.begin() + k, 0.0) / k, last = std::accumulate(loss.end() - k, loss.end(), 0.0) / k;
        qInfo("sd_adapters: loss %.4f -> %.4f over %zu steps", first, last, loss.size());
        QVERIFY(last < 0.97 * first);

        soul::ReconstructionEngine engine(run, data, "cpu", std::vector<std::string>{});
        soul::StableDiffusionOptions options;
        options.path = file("sd");
        options.size = kImageSize;
        engine.use_stable_diffusion(options);
        QVERIFY2(QString::fromStdString(engine.generator_title()).contains("adapters"), engine.generator_title().c_str());
        soul::ReconstructionSettings s;
        s.sampler.steps = 4;
        const std::vector<soul::TrialRef> trial = {{soul::Split::Test, 0}};
        const auto both = engine.reconstruct(trial, s)[0].samples.front().pixels;
        s.sampler.use_palette = s.sampler.use_edges = false;
        const auto neither = engine.reconstruct(trial, s)[0].samples.front().pixels;
        QVERIFY(both != neither);   // the adapters reach the UNet
        s.sampler.use_palette = s.sampler.use_edges = true;
        s.sampler.w_color = s.sampler.w_edge = 0;
        QVERIFY(engine.reconstruct(trial, s)[0].samples.front().pixels == neither);   // ω = 0: as without them

        // export-model ships them with the run's record of the Stable Diffusion they were trained for.
        nlohmann::json described = state;
        described["dataset"]["path"] = data;   // the copy came from an exported model, which names none
        std::ofstream(run + "/run.json") << described.dump(2);
        soul::ExportModelOptions e;
        e.run = run;
        e.out = file("exported-with-sd-adapters");
        soul::export_model(e);
        QVERIFY(std::filesystem::exists(e.out + "/sd-adapters.pt"));
        soul::ReconstructionEngine exported(e.out, data, "cpu", std::vector<std::string>{});
        exported.use_stable_diffusion(options);
        QVERIFY(QString::fromStdString(exported.generator_title()).contains("adapters"));
    }

    void badFolders() {
        expectError([&] { find_stable_diffusion(file("absent-sd")); }, {"absent-sd", "does not exist"});
        const auto noUnet = variant("no-unet", [](const fs::path& d) { fs::remove_all(d / "unet"); });
        expectError([&] { find_stable_diffusion(noUnet); }, {"no-unet", "has no unet/ folder"});
        const auto noWeights = variant("no-weights", [](const fs::path& d) { fs::remove(d / "vae" / "diffusion_pytorch_model.safetensors"); });
        expectError([&] { find_stable_diffusion(noWeights); }, {"no-weights/vae", "diffusion_pytorch_model.safetensors"});
        const auto xl = variant("xl", [](const fs::path& d) { std::ofstream(d / "model_index.json") << R"({"_class_name": "StableDiffusionXLPipeline"})"; });
        expectError([&] { find_stable_diffusion(xl); }, {"xl/model_index.json", "Stable Diffusion XL"});
        auto editUnetConfig = [](const std::function<void(nlohmann::json&)>& change) {
            return [change](const fs::path& d) {
                auto j = nlohmann::json::parse(std::ifstream(d / "unet" / "config.json"));
                change(j);
                std::ofstream(d / "unet" / "config.json") << j.dump();
            };
        };
        const auto inpainting = variant("inpainting", editUnetConfig([](nlohmann::json& j) { j["in_channels"] = 9; }));
        expectError([&] { find_stable_diffusion(inpainting); }, {"inpainting/unet/config.json", "an inpainting UNet"});
        const auto xlUnet = variant("xl-unet", editUnetConfig([](nlohmann::json& j) { j["addition_embed_type"] = "text_time"; }));
        expectError([&] { find_stable_diffusion(xlUnet); }, {"xl-unet/unet/config.json", "Stable Diffusion XL UNet"});
        const auto blocks = variant("blocks", editUnetConfig([](nlohmann::json& j) { j["up_block_types"][0] = "CrossAttnUpBlock2D"; }));
        expectError([&] { find_stable_diffusion(blocks); }, {"blocks/unet/config.json", "do not mirror"});
        const auto heads = variant("heads", editUnetConfig([](nlohmann::json& j) { j["attention_head_dim"] = nlohmann::json::array({3, 4, 4}); }));
        expectError([&] { find_stable_diffusion(heads); }, {"heads/unet/config.json", "does not split into 3 heads"});
        const auto scheduler = variant("scheduler", [](const fs::path& d) {
            std::ofstream(d / "scheduler" / "scheduler_config.json") << R"({"beta_schedule": "squaredcos_cap_v2"})";
        });
        expectError([&] { find_stable_diffusion(scheduler); }, {"scheduler_config.json", "squaredcos_cap_v2", "scaled_linear"});
        expectError([&] { find_stable_diffusion(file("sd"), "", "x0"); }, {"--prediction", "\"x0\""});
        // Weights of another size than the config: the loader names the file and the key; nothing is returned half-loaded.
        const auto wrong = variant("wrong-weights", [&](const fs::path& d) {
            fs::copy_file(file("sd-unet-single-file.safetensors"), d / "unet" / "diffusion_pytorch_model.safetensors", fs::copy_options::overwrite_existing);
        });
        expectError([&] { load_stable_diffusion(find_stable_diffusion(wrong), torch::kCPU, torch::kFloat32); },
                    {"wrong-weights/unet/diffusion_pytorch_model.safetensors"});
    }

    void badFilesAndSettings() {
        expectError([&] { find_stable_diffusion(file("sd2-single-file.safetensors")); },
                    {"sd2-single-file.safetensors", "carries no tokenizer", "--text-encoder"});
        expectError([&] { find_stable_diffusion(file("sd2-single-file.safetensors"), file("sd")); },
                    {"sd2-single-file.safetensors", "Stable Diffusion 2.x single file", "--prediction v"});
        expectError([&] { find_stable_diffusion(file("unet/diffusion_pytorch_model.safetensors"), file("sd")); },
                    {"unet/diffusion_pytorch_model.safetensors", "a part of a diffusers folder"});
        expectError([&] { find_stable_diffusion(file("sd_expected.safetensors"), file("sd")); }, {"sd_expected.safetensors", "a file without a Stable Diffusion UNet"});
        const auto files = find_stable_diffusion(file("sd"));
        expectError([&] { load_stable_diffusion(files, torch::kCPU, torch::kHalf); }, {"half precision is for CUDA"});
        auto sd = load_stable_diffusion(files, torch::kCPU, torch::kFloat32);
        expectError([&] { soul::infer::make_stable_diffusion_generator(*sd, 30); }, {"multiple of its autoencoder's downscale 4", "30"});
        auto generator = soul::infer::make_stable_diffusion_generator(*sd, kImageSize);
        soul::infer::GenerationConditions c;
        c.palette = torch::zeros({1, 3, 8, 8});
        expectError([&] { generator->generate(c, soul::SamplerSettings{}); }, {"has no colour and edge adapters", "sd_adapters"});
        c = {};
        c.init = torch::zeros({1, 3, 16, 16});
        expectError([&] { generator->generate(c, soul::SamplerSettings{}); }, {"start image must be (1, 3, 32, 32)"});

        soul::GenerateOptions o;
        o.stable_diffusion.path = file("sd");
        o.out = file("gen-palette");
        o.palette_from = file("gen-palette.png");
        expectError([&] { soul::generate_images(o); }, {"--palette-from", "sd_adapters"});
        QVERIFY(!fs::exists(o.out));   // nothing written
    }
};

QTEST_GUILESS_MAIN(TestStableDiffusion)
#include "tst_stable_diffusion.moc"
