// Decoder plugins (docs/decoder-plugins.md) with the shipped model on the default phantom subject:
// the example plugin end to end as a researcher makes it (export-targets, the Python script with
// Debian's python3-torch, then decoders, reconstruct and evaluate on the command line) and shown to
// have learned; plugins written here as TorchScript from C++ reach the generator; every kind of
// bad plugin is refused with a message that names its file, and the built-in decoders go on.
#include "ExpectError.h"
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "soul/error.h"
#include "soul/reconstruct.h"
#include "train/encoder_run.h"
#include "infer/decoder_plugin.h"

#include <QProcess>
#include <QtTest>

#include <torch/script.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using soultest::expectError;
using json = nlohmann::json;

namespace {

const std::string kModel = SOUL_MODEL_DIR;

// TorchScript bodies of forward(self, betas: Tensor) -> Dict[str, Tensor].
const char* kRedDecoder = R"(
def forward(self, betas: Tensor) -> Dict[str, Tensor]:
    image = torch.zeros([betas.size(0), 3, 8, 8])
    image[:, 0] = 1.0
    return {"palette": image, "low_level": image}
)";
const char* kWrongShape = R"(
def forward(self, betas: Tensor) -> Dict[str, Tensor]:
    return {"palette": torch.zeros([betas.size(0), 3, 4, 4])}
)";
const char* kNotADict = R"(
def forward(self, betas: Tensor) -> Tensor:
    return torch.zeros([betas.size(0), 3, 8, 8])
)";
const char* kNaN = R"(
def forward(self, betas: Tensor) -> Dict[str, Tensor]:
    return {"palette": torch.full([betas.size(0), 3, 8, 8], float('nan'))}
)";
// Fails inside forward: 29 334 voxels do not split into rows of 7.
const char* kRaises = R"(
def forward(self, betas: Tensor) -> Dict[str, Tensor]:
    rows = betas.reshape([-1, 7])
    return {"palette": torch.zeros([rows.size(0), 3, 8, 8])}
)";
const char* kMissingOutput = R"(
def forward(self, betas: Tensor) -> Dict[str, Tensor]:
    return {"low_level": torch.zeros([betas.size(0), 3, 8, 8])}
)";

}  // namespace

class TestPlugins : public QObject {
    Q_OBJECT
    std::string m_dir, m_data, m_plugins;
    json m_fingerprint;
    std::unique_ptr<soul::ReconstructionEngine> m_engine;

    struct Run {
        int code;
        QString out, err;
    };
    Run run(const QString& program, const QStringList& args) {
        QProcess p;
        p.start(program, args);
        if (!p.waitForFinished(280000)) p.kill();
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }
    Run cli(const QStringList& args) { return run(SOUL_CLI, args); }

    // A plugin folder: the manifest (with this dataset's fingerprint unless changed) and, when
    // `body` is given, a TorchScript module with that forward.
    json writePlugin(const std::string& name, const json& outputs, const char* body, const std::function<void(json&)>& edit = {}) {
        const fs::path folder = fs::path(m_plugins) / name;
        fs::create_directories(folder);
        json manifest = {{"format", "souldiffuser-decoder-plugin"}, {"format_version", 1},    {"name", name},
                         {"module", "decoder.pt"},                  {"dataset", m_fingerprint}, {"outputs", outputs}};
        if (edit) edit(manifest);
        std::ofstream(folder / "decoder.json") << manifest.dump(2);
        if (body) {
            torch::jit::Module module("Decoder");
            module.define(body);
            module.save((folder / "decoder.pt").string());
        }
        return manifest;
    }

    soul::ReconstructionSettings withDecoder(const std::string& name) {
        soul::ReconstructionSettings s;
        s.decoder = name;
        s.sampler.steps = 10;
        return s;
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = soultest::tempFolder("plugins");
        m_data = soultest::prepared_default_phantom(m_dir);
        m_plugins = m_dir + "/plugins";
        const soul::PreparedDataset dataset(m_data);
        m_fingerprint = soul::train::dataset_fingerprint(dataset);
        const json palette = {{"palette", {3, 8, 8}}, {"low_level", {3, 8, 8}}};
        writePlugin("red", palette, kRedDecoder);
        writePlugin("wrong-shape", {{"palette", {3, 8, 8}}}, kWrongShape);
        writePlugin("not-a-dict", {{"palette", {3, 8, 8}}}, kNotADict);
        writePlugin("nan", {{"palette", {3, 8, 8}}}, kNaN);
        writePlugin("raises", {{"palette", {3, 8, 8}}}, kRaises);
        writePlugin("missing-output", palette, kMissingOutput);
        writePlugin("no-module", palette, nullptr);
        writePlugin("garbage-module", palette, nullptr);
        std::ofstream(fs::path(m_plugins) / "garbage-module" / "decoder.pt") << "not a zip archive";
        writePlugin("other-dataset", palette, kRedDecoder, [](json& m) { m["dataset"]["voxels"] = 1000; });
        writePlugin("other-captions", {{"caption", {64}}}, kRedDecoder, [](json& m) { m["caption_space"] = "text-encoder:0000000000000000"; });
        // Unreadable manifests: listed as problems, never in the registry.
        writePlugin("ridge", palette, kRedDecoder);
        writePlugin("bad-shape-manifest", {{"palette", {3, 4, 4}}}, kRedDecoder);
        writePlugin("unknown-output", {{"depth", {1, 8, 8}}}, kRedDecoder);
        fs::create_directories(fs::path(m_plugins) / "broken-json");
        std::ofstream(fs::path(m_plugins) / "broken-json" / "decoder.json") << "{\"format\": ";
        m_engine = std::make_unique<soul::ReconstructionEngine>(kModel, m_data, "cpu", std::vector<std::string>{m_plugins});
    }
    void cleanupTestCase() {
        m_engine.reset();
        fs::remove_all(m_dir);
    }

    // The registry lists every plugin, and says why the ones that cannot decode cannot.
    void theRegistryListsPluginsAndWhyOneCannotDecode() {
        std::map<std::string, soul::DecoderInfo> byName;
        std::vector<std::string> unreadable;
        for (const auto& d : m_engine->decoders()) {
            if (d.name.empty()) unreadable.push_back(d.problem);
            else byName[d.name] = d;
        }
        QVERIFY(byName.count("souldiffuser") && byName.count("ridge"));
        QCOMPARE(byName.at("ridge").origin, std::string("built in"));   // the plugin named "ridge" did not replace it
        QVERIFY(byName.count("red") && byName.at("red").problem.empty());
        QVERIFY2(byName.at("other-dataset").problem.find("another dataset (1000 voxels, this run's dataset has 29334)") != std::string::npos,
                 byName.at("other-dataset").problem.c_str());
        QVERIFY2(byName.at("other-captions").problem.find("another text encoder's space") != std::string::npos, byName.at("other-captions").problem.c_str());
        QCOMPARE(unreadable.size(), size_t(4));
        auto mentions = [&](const std::string& fragment) {
            return std::any_of(unreadable.begin(), unreadable.end(), [&](const std::string& p) { return p.find(fragment) != std::string::npos; });
        };
        QVERIFY(mentions("broken-json/decoder.json: is not valid JSON"));
        QVERIFY(mentions("ridge/decoder.json: \"name\" 'ridge' is a built-in decoder's"));
        QVERIFY(mentions("bad-shape-manifest/decoder.json: output 'palette' is [3, 4, 4]: it must be [3, 8, 8]"));
        QVERIFY(mentions("unknown-output/decoder.json: output 'depth' is not one of"));
    }

    // A plugin's outputs are what the generator gets: a decoder that says "all red" gives a red
    // palette and a red start, and the image drawn from them is red.
    void aPluginsOutputsReachTheGenerator() {
        const auto red = m_engine->reconstruct({{soul::Split::Test, 0}}, withDecoder("red"));
        QCOMPARE(red[0].decoder, std::string("red (plugin)"));
        QVERIFY(red[0].caption.empty());          // no caption output: no caption condition
        QVERIFY(red[0].edges.pixels.empty());
        QCOMPARE(red[0].low_level.pixels[0], uint8_t(255));
        QCOMPARE(red[0].low_level.pixels[1], uint8_t(0));
        double channel[3] = {0, 0, 0};
        const auto& pixels = red[0].samples[0].pixels;
        for (size_t i = 0; i < pixels.size(); ++i) channel[i % 3] += pixels[i];
        QVERIFY2(channel[0] > 2 * channel[1] && channel[0] > 2 * channel[2],
                 ("mean R, G, B " + std::to_string(channel[0]) + ", " + std::to_string(channel[1]) + ", " + std::to_string(channel[2])).c_str());
        const auto own = m_engine->reconstruct({{soul::Split::Test, 0}}, withDecoder("souldiffuser"));
        QVERIFY(own[0].samples[0].pixels != red[0].samples[0].pixels);
    }

    void badPluginsAreRefusedNamingTheFile() {
        auto decode = [&](const std::string& name) { return [this, name] { m_engine->reconstruct({{soul::Split::Test, 0}}, withDecoder(name)); }; };
        expectError(decode("wrong-shape"), "wrong-shape/decoder.pt: output 'palette' is [1, 3, 4, 4], not [1, 3, 8, 8] as declared");
        expectError(decode("not-a-dict"), "not-a-dict/decoder.pt: forward must return Dict[str, Tensor]");
        expectError(decode("nan"), "nan/decoder.pt: output 'palette' holds NaN or infinite values");
        expectError(decode("raises"), "raises/decoder.pt: decoder plugin 'raises' failed on a batch of 1 × 29334 betas");
        expectError(decode("missing-output"), "missing-output/decoder.pt: forward gave no 'palette'");
        expectError(decode("no-module"), "no-module/decoder.pt: the module of decoder plugin 'no-module' is missing");
        expectError(decode("garbage-module"), "garbage-module/decoder.pt: is not a TorchScript module");
        expectError(decode("other-dataset"), "other-dataset/decoder.json: decoder plugin 'other-dataset' cannot decode for this run: trained on another dataset");
        expectError(decode("other-captions"), "cannot decode for this run: its captions are in another text encoder's space");
        expectError(decode("broken-json"), "--decoder 'broken-json' is not a decoder of this run (it has: souldiffuser, ridge, garbage-module, missing-output, nan, no-module, not-a-dict, raises, red, wrong-shape, baseline)");
        // The engine goes on with its own decoders.
        QCOMPARE(m_engine->reconstruct({{soul::Split::Test, 0}}, withDecoder("souldiffuser")).size(), size_t(1));
    }

    // As a researcher does it (docs/decoder-plugins.md): the run's targets out, the example
    // script's ridge decoder in Python, then the plugin in decoders, reconstruct and evaluate. It
    // learned: on held-out test images its caption finds the right image far above chance and its
    // 8×8 image correlates with the stimulus.
    void theExamplePluginFromPythonEndToEnd() {
        const QString targets = QString::fromStdString(m_dir + "/targets"), folder = QString::fromStdString(m_dir + "/python-plugins");
        Run r = cli({"export-targets", "--model", QString::fromStdString(kModel), "--data", QString::fromStdString(m_data), "--out", targets});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        r = run(SOUL_PYTHON, {QString(SOUL_SOURCE_DIR) + "/plugins/linear-decoder/train.py", "--targets", targets, "--out", folder + "/linear"});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        r = cli({"decoders", "--model", QString::fromStdString(kModel), "--data", QString::fromStdString(m_data), "--plugins", folder});
        QVERIFY2(r.code == 0 && r.out.contains("linear\tlinear decoder (ridge)\t" + folder + "/linear\n"), qPrintable(r.out + r.err));
        const QString out = QString::fromStdString(m_dir + "/reconstructed");
        r = cli({"reconstruct", "--model", QString::fromStdString(kModel), "--data", QString::fromStdString(m_data), "--plugins", folder, "--decoder", "linear",
                 "--trials", "0", "--steps", "10", "--out", out});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        std::ifstream settings((out + "/trial-test-0000/settings.json").toStdString());
        QCOMPARE(json::parse(settings).at("decoder").get<std::string>(), std::string("linear decoder (ridge)"));
        QVERIFY(fs::exists((out + "/trial-test-0000/reconstruction-0.png").toStdString()));
        QVERIFY(!fs::exists((out + "/trial-test-0000/edges.png").toStdString()));   // the plugin gives no edge map

        const QString report = QString::fromStdString(m_dir + "/evaluation");
        r = cli({"evaluate", QString::fromStdString(kModel), "--data", QString::fromStdString(m_data), "--plugins", folder, "--limit", "20", "--steps",
                 "4", "--out", report});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("| plugin linear: linear decoder (ridge) + same generator |"));
        std::ifstream in((report + "/report.json").toStdString());
        const json j = json::parse(in);
        const json* row = nullptr;
        for (const json& c : j.at("conditions"))
            if (c.at("decoder") == "plugin linear: linear decoder (ridge)") row = &c;
        QVERIFY(row);
        QVERIFY(row->at("edge_r").is_null());
        QVERIFY2(row->at("caption_top1").get<double>() > 0.5, row->dump().c_str());   // chance 1/20
        QVERIFY2(row->at("low_level_r").get<double>() > 0.5, row->dump().c_str());
    }
};

QTEST_GUILESS_MAIN(TestPlugins)
#include "tst_plugins.moc"
