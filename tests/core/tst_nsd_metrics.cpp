// The field's NSD metrics (core/metrics): known values worked out by hand, PixCorr and SSIM against
// MindEye2's own code with scikit-image on real photographs, the metric networks against
// torchvision's on the same random weights in the published files' formats, bad files, and the
// standard table with the published rows of the same split.
#include "PublishedKeys.h"
#include "io/weight_files.h"
#include "metrics/metric_nets.h"
#include "metrics/nsd_metrics.h"
#include "metrics/published_scores.h"
#include "metrics/standard_table.h"
#include "soul/error.h"
#include "soul/formats.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonArray>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace soul::metrics;

namespace {

constexpr double kReferenceTolerance = 1e-4;   // the issue's bar for ports checked against a reference
constexpr const char* kPhotos = "/usr/lib/python3/dist-packages/skimage/data/";   // python3-skimage's sample photographs

QJsonObject runReference(const QStringList& args) {
    QProcess p;
    p.start(SOUL_PYTHON, QStringList{SOUL_SOURCE_DIR "/tests/core/metric_reference.py"} + args);
    if (!p.waitForFinished(600000) || p.exitCode() != 0)
        qFatal("metric_reference.py %s failed: %s", qPrintable(args.join(' ')), p.readAllStandardError().constData());
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
}

void writeFloats(const std::string& path, const torch::Tensor& t) {
    const auto c = t.to(torch::kFloat32).contiguous();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::streamsize>(c.numel() * 4));
}

torch::Tensor readFloats(const std::string& path, std::vector<int64_t> shape) {
    auto t = torch::empty(shape, torch::kFloat32);
    std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(t.data_ptr<float>()), static_cast<std::streamsize>(t.numel() * 4));
    return t;
}

// A photograph as a (3, 256, 256) tensor in [0, 1]: the central square, resized.
torch::Tensor photo(const std::string& name) {
    const auto image = soul::read_rgb_image(std::string(kPhotos) + name);
    const int64_t side = std::min(image.height, image.width);
    auto t = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, torch::kUInt8)
                 .narrow(0, (image.height - side) / 2, side)
                 .narrow(1, (image.width - side) / 2, side)
                 .permute({2, 0, 1})
                 .to(torch::kFloat32)
                 .div(255)
                 .unsqueeze(0);
    return resize(t, kEvaluationSize)[0].clamp(0, 1);
}

void expectError(const std::function<void()>& action, const QString& file, const QString& words) {
    try {
        action();
        QFAIL(qPrintable("no error; expected one naming " + file + " with: " + words));
    } catch (const soul::Error& e) {
        const QString message = e.what();
        QVERIFY2(message.contains(file), qPrintable(message));
        QVERIFY2(message.contains(words), qPrintable(message));
    }
}

}  // namespace

class TestNsdMetrics : public QObject {
    Q_OBJECT
    QTemporaryDir m_nets;   // the reference networks, written once

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_nets.isValid());
        runReference({"nets", m_nets.path()});
        runReference({"clip", m_nets.path()});
    }

    // Worked out by hand. Stimuli s0 = (1, 0, −1), s1 = (−1, 0, 1), s2 = (0, 1, −1); reconstructions
    // p0 = s0, p1 = s2, p2 = s0. For each reconstruction, the stimuli that correlate with it less
    // than its own stimulus does:
    //   p0: own r 1; s1 (r −1) and s2 (r 0.5) both less → 2 of 2;
    //   p1: own r(s1, s2) −0.5; s0 (0.5) and s2 (1) both more → 0 of 2;
    //   p2: own r(s2, s0) 0.5; s0 (1) more, s1 (−1) less → 1 of 2.
    // Two-way: (2 + 0 + 1) / 3 / 2 = 0.5.
    void twoWayByHand() {
        const auto truth = torch::tensor({{1.0, 0.0, -1.0}, {-1.0, 0.0, 1.0}, {0.0, 1.0, -1.0}}, torch::kFloat64);
        const auto recon = torch::tensor({{1.0, 0.0, -1.0}, {0.0, 1.0, -1.0}, {1.0, 0.0, -1.0}}, torch::kFloat64);
        QCOMPARE(two_way(truth, recon), 0.5);
        // Ties lose (the reference's strict "<"): twin stimuli, each reconstruction ties with the other.
        const auto twins = torch::tensor({{1.0, 2.0, 3.0}, {1.0, 2.0, 3.0}}, torch::kFloat64);
        QCOMPARE(two_way(twins, twins), 0.0);
        // Perfect reconstructions of distinct stimuli: 100 %.
        QCOMPARE(two_way(truth, truth), 1.0);
    }

    void correlationDistanceByHand() {
        const auto a = torch::tensor({{1.0, 2.0, 3.0}, {1.0, 0.0, 1.0}}, torch::kFloat64);
        const auto b = torch::tensor({{2.0, 4.0, 6.0}, {0.0, 1.0, 0.0}}, torch::kFloat64);
        // Row 0: r 1 → distance 0. Row 1: r −1 → distance 2. Mean 1.
        QVERIFY(std::abs(correlation_distance(a, b) - 1.0) < 1e-12);
        QVERIFY(std::abs(correlation_distance(a, a)) < 1e-12);
    }

    void retrievalByHand() {
        const auto embeddings = torch::randn({40, 8}, torch::TensorOptions().dtype(torch::kFloat64));
        const auto same = retrieval(embeddings, embeddings, 300, 5);
        QCOMPARE(same.subset, int64_t(40));   // fewer trials than 300: all of them
        QCOMPARE(same.forward, 1.0);
        QCOMPARE(same.backward, 1.0);
        // Brain embeddings shifted by one trial: each retrieves its neighbour, never itself.
        const auto shifted = retrieval(embeddings.roll(1, 0), embeddings, 300, 5);
        QCOMPARE(shifted.forward, 0.0);
        // The subset is drawn per repeat: a 10-of-40 subset keeps perfect retrieval perfect.
        QCOMPARE(retrieval(embeddings, embeddings, 10, 3).forward, 1.0);
    }

    // PixCorr and SSIM as MindEye2's notebook computes them (torchvision's Resize, skimage's
    // rgb2gray and structural_similarity), on photographs from python3-skimage.
    void pixelMetricsMatchMindEye2() {
        const auto astronaut = photo("astronaut.png"), coffee = photo("coffee.png"), chelsea = photo("chelsea.png");
        const auto truth = torch::stack({astronaut, coffee, chelsea});
        // Reconstructions of three kinds: blurred, shifted, and another photograph.
        const auto blurred = torch::avg_pool2d(astronaut.unsqueeze(0), 9, 1, 4, false, false)[0];
        const auto recon = torch::stack({blurred, coffee.roll(12, 2), astronaut});
        QTemporaryDir dir;
        writeFloats(dir.filePath("truth.f32").toStdString(), truth);
        writeFloats(dir.filePath("recon.f32").toStdString(), recon);
        const auto reference = runReference({"pixels", dir.path()});
        const double ours_pixcorr = pixcorr(truth, recon), ours_ssim = ssim(truth, recon);
        qInfo("PixCorr %.6f (reference %.6f), SSIM %.6f (reference %.6f)", ours_pixcorr, reference["pixcorr"].toDouble(), ours_ssim,
              reference["ssim"].toDouble());
        QVERIFY(std::abs(ours_pixcorr - reference["pixcorr"].toDouble()) < kReferenceTolerance);
        QVERIFY(std::abs(ours_ssim - reference["ssim"].toDouble()) < kReferenceTolerance);
        // And they order the reconstructions sensibly: the image itself scores 1.
        QVERIFY(std::abs(ssim(truth, truth) - 1.0) < 1e-9);
        QVERIFY(std::abs(pixcorr(truth, truth) - 1.0) < 1e-9);
    }

    // Each network from a file in its published layout and format (legacy and zip, SwAV's
    // "module." prefix and extra heads), random weights: the same features as torchvision's.
    void networksMatchTorchvision_data() {
        QTest::addColumn<int>("id");
        QTest::addColumn<QString>("ident");
        QTest::newRow("AlexNet (legacy format)") << int(NetId::AlexNet) << "alexnet";
        QTest::newRow("Inception v3 (zip)") << int(NetId::InceptionV3) << "inception";
        QTest::newRow("EfficientNet-B1 (zip)") << int(NetId::EfficientNetB1) << "efficientnet";
        QTest::newRow("SwAV ResNet-50 (legacy, module. prefix, heads)") << int(NetId::SwAV) << "swav";
    }
    void networksMatchTorchvision() {
        QFETCH(int, id);
        QFETCH(QString, ident);
        const auto spec = net_file(NetId(id));
        auto net = make_network(spec.id);
        load_network(*net, spec, m_nets.filePath(spec.file).toStdString());
        QFile manifestFile(m_nets.filePath("manifest.json"));
        QVERIFY(manifestFile.open(QIODevice::ReadOnly));
        const auto entry = QJsonDocument::fromJson(manifestFile.readAll()).object()[ident].toObject();
        std::vector<int64_t> inputShape;
        for (const auto v : entry["input"].toArray()) inputShape.push_back(v.toInt());
        const auto input = readFloats(m_nets.filePath(ident + ".input.f32").toStdString(), inputShape);
        torch::NoGradGuard noGrad;
        const auto layers = net->layers(input);
        const auto names = net->layer_names();
        QCOMPARE(int(layers.size()), int(names.size()));
        for (size_t l = 0; l < names.size(); ++l) {
            const auto shape = entry["layers"].toObject()[QString::fromStdString(names[l])].toArray();
            const auto expected = readFloats(m_nets.filePath(ident + "." + QString::fromStdString(names[l]) + ".f32").toStdString(),
                                             {shape[0].toInt(), shape[1].toInt()});
            const auto ours = layers[l].flatten(1);
            QCOMPARE(ours.sizes().vec(), expected.sizes().vec());
            const double scale = std::max(1.0, expected.abs().max().item<double>());
            const double error = (ours - expected).abs().max().item<double>() / scale;
            qInfo("%s %s: largest difference %.2e of the largest value %.3g", qPrintable(ident), names[l].c_str(), error, scale);
            QVERIFY2(error < kReferenceTolerance, qPrintable(QString("%1 %2: %3").arg(ident).arg(names[l].c_str()).arg(error)));
        }
    }

    // CLIP's vision tower from a safetensors file with the real file's key names (its text tower,
    // logit_scale and position_ids too), tiny: the same image embedding as transformers' forward
    // written out in Python (metric_reference.py clip).
    void clipVisionFromSafetensors() {
        QFile manifest(m_nets.filePath("clip.json"));
        QVERIFY(manifest.open(QIODevice::ReadOnly));
        const auto info = QJsonDocument::fromJson(manifest.readAll()).object();
        const auto c = info["config"].toObject();
        ClipVisionConfig config;
        config.hidden = c["hidden"].toInt(), config.layers = c["layers"].toInt(), config.heads = c["heads"].toInt();
        config.intermediate = c["intermediate"].toInt(), config.patch = c["patch"].toInt(), config.image = c["image"].toInt();
        config.projection = c["projection"].toInt();
        auto net = make_clip_vision(config);
        net->eval();
        load_network(*net, net_file(NetId::Clip), m_nets.filePath(net_file(NetId::Clip).file).toStdString());
        const auto input = readFloats(m_nets.filePath("clip.input.f32").toStdString(), {2, 3, config.image, config.image});
        const auto expected = readFloats(m_nets.filePath("clip.image_embeds.f32").toStdString(), {2, config.projection});
        torch::NoGradGuard noGrad;
        const auto ours = net->layers(input)[0];
        const double error = (ours - expected).abs().max().item<double>() / std::max(1.0, expected.abs().max().item<double>());
        qInfo("CLIP image_embeds: largest difference %.2e", error);
        QVERIFY(error < kReferenceTolerance);
    }

    // The full-size ViT-L/14 keys and shapes, written down from the published config in a data
    // file: exactly what the loader expects, so a real model.safetensors loads the first time.
    void clipFullSizeKeysAreViTL14() {
        auto published = soultest::publishedKeys(SOUL_SOURCE_DIR "/tests/data/clip-vit-large-patch14-vision.keys");
        QCOMPARE(int(published.size()), 392);
        auto net = make_network(NetId::Clip);
        const auto keys = expected_keys(*net);
        QCOMPARE(int(keys.size()), int(published.size()));
        for (const auto& [key, shape] : keys) {
            QVERIFY2(published.count(key), key.c_str());
            QVERIFY2(published[key] == shape, key.c_str());
        }
    }

    void badSafetensors() {
        QTemporaryDir dir;
        const auto good = m_nets.filePath(net_file(NetId::Clip).file).toStdString();
        std::ifstream in(good, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto write = [&](const QString& name, const std::string& content) {
            const auto path = dir.filePath(name).toStdString();
            std::ofstream(path, std::ios::binary) << content;
            return path;
        };
        const auto cut = write("cut.safetensors", bytes.substr(0, bytes.size() - 100));
        expectError([&] { soul::read_safetensors(cut); }, "cut.safetensors", "cut short");
        const auto tiny = write("tiny.safetensors", "abc");
        expectError([&] { soul::read_safetensors(tiny); }, "tiny.safetensors", "shorter than its 8-byte header length");
        auto withHeader = [&](const QString& name, const std::string& header) {
            std::string length(8, '\0');
            for (int i = 0; i < 8; ++i) length[i] = char((header.size() >> (8 * i)) & 0xff);
            return write(name, length + header + std::string(64, '\0'));
        };
        expectError([&] { soul::read_safetensors(withHeader("json.safetensors", "{not json")); }, "json.safetensors", "is not JSON");
        expectError([&] { soul::read_safetensors(withHeader("dtype.safetensors", R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})")); },
                    "dtype.safetensors", "which this reader does not know");
        expectError([&] { soul::read_safetensors(withHeader("size.safetensors", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})")); },
                    "size.safetensors", "has 8 bytes for 3 elements of float32");
        expectError([&] {
            soul::read_safetensors(withHeader("overlap.safetensors",
                                              R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})"));
        }, "overlap.safetensors", "overlap");
        expectError([&] { soul::read_safetensors(withHeader("past.safetensors", R"({"w":{"dtype":"F32","shape":[32],"data_offsets":[0,128]}})")); },
                    "past.safetensors", "cut short");
        // A key the tower lacks and a mis-shaped one, through the loader.
        auto clip = make_clip_vision({});
        expectError([&] { load_network(*clip, net_file(NetId::Clip), good); }, "model.safetensors", "has shape (");
    }

    void scoreRowWithAndWithoutNetworks() {
        const auto truth = torch::stack({photo("astronaut.png"), photo("coffee.png"), photo("chelsea.png")});
        const auto recon = truth.flip(0);
        const MetricNetworks none("");
        const auto bare = StandardScorer(truth, none)("test", recon);
        QVERIFY(bare.values.at("PixCorr").has_value());
        QVERIFY(bare.values.at("SSIM").has_value());
        for (const char* column : {"AlexNet(2)", "AlexNet(5)", "Incep", "CLIP", "EffNet-B", "SwAV"}) {
            QVERIFY2(!bare.values.at(column).has_value(), column);
            QVERIFY2(QString::fromStdString(bare.missing.at(column)).startsWith("n/a"), column);
        }
        // With the networks: the columns are numbers; the perfect reconstruction wins every pair.
        // The folder's CLIP is the tiny test tower, not ViT-L/14: named as unreadable, its column
        // n/a, every other column computed.
        const MetricNetworks nets(m_nets.path().toStdString());
        QCOMPARE(int(nets.problems().size()), 1);
        QVERIFY2(QString::fromStdString(nets.problems()[0]).contains("model.safetensors"), nets.problems()[0].c_str());
        const auto full = StandardScorer(truth, nets)("test", truth);
        QCOMPARE(*full.values.at("AlexNet(2)"), 1.0);
        QCOMPARE(*full.values.at("Incep"), 1.0);
        QVERIFY(std::abs(*full.values.at("SwAV")) < 1e-9);
        QVERIFY(std::abs(*full.values.at("EffNet-B")) < 1e-9);
        QVERIFY(!full.values.at("CLIP").has_value());
        QVERIFY(QString::fromStdString(full.missing.at("CLIP")).contains("unreadable"));
    }

    // The compiled-in rows are the data file's (read here with Qt, independently), each under its
    // split only.
    void publishedRowsAreTheDataFile() {
        QFile file(SOUL_SOURCE_DIR "/resources/published-nsd-metrics.json");
        QVERIFY(file.open(QIODevice::ReadOnly));
        const auto rows = QJsonDocument::fromJson(file.readAll()).object()["rows"].toArray();
        QVERIFY(rows.size() >= 2);
        QCOMPARE(int(published_scores().rows.size()), int(rows.size()));
        for (int i = 0; i < rows.size(); ++i) {
            const auto expected = rows[i].toObject();
            const auto& row = published_scores().rows[size_t(i)];
            QCOMPARE(QString::fromStdString(row.method), expected["method"].toString());
            QCOMPARE(row.test_images, int64_t(expected["test_images"].toInt()));
            const auto values = expected["values"].toObject();
            QCOMPARE(int(row.values.size()), int(values.size()));
            for (const auto& column : metric_columns()) QCOMPARE(row.values.at(column.name), values[column.name].toDouble());
        }
        QCOMPARE(int(published_rows_for(1000).size()), 1);
        QCOMPARE(QString::fromStdString(published_rows_for(1000)[0].method), QString("MindEye2"));
        QCOMPARE(QString::fromStdString(published_rows_for(982)[0].method), QString("MindEye1"));
        QVERIFY(published_rows_for(20).empty());
    }

    // On a published split the table prints the published rows under ours, formatted as ours
    // (two-way in %), with their sources and what is left out; on any other split it says none
    // compares.
    void standardTableWithPublishedRows() {
        MetricRow ours{"SoulDiffuser", {}, {}};
        for (const auto& c : metric_columns()) ours.values[c.name] = 0.5;
        ours.values["CLIP"] = std::nullopt;
        ours.missing["CLIP"] = "n/a (no weights: test)";
        const MetricNetworks none("");
        const auto table = standard_table({ours}, {{"SoulDiffuser", Retrieval{0.25, 0.125, 300, 30}}}, none, 1000);
        const QString md = QString::fromStdString(table.markdown);
        QVERIFY2(md.contains("| SoulDiffuser | 0.500 | 0.500 | 50.0% | 50.0% | 50.0% | n/a | 0.500 | 0.500 | 0.250 | 0.125 |"), qPrintable(md));
        QVERIFY2(md.contains("| *published: MindEye2* (subj01, 40 sessions, pretrained on the other 7 subjects; final (enhanced) reconstructions) | "
                             "0.374 | 0.439 | 97.9% | 99.1% | 96.0% | 93.7% | 0.607 | 0.336 | 1.000 | 0.999 |"),
                 qPrintable(md));
        QVERIFY2(md.contains("c184718"), qPrintable(md));
        QVERIFY2(md.contains("not included: Brain-Diffuser"), qPrintable(md));
        QVERIFY2(md.contains("- CLIP: n/a (no weights: test)"), qPrintable(md));
        QCOMPARE(int(table.report["published"].size()), 1);
        QCOMPARE(table.report["published"][0]["values"]["SSIM"].get<double>(), published_rows_for(1000)[0].values.at("SSIM"));
        const auto other = standard_table({ours}, {}, none, 20);
        QVERIFY(QString::fromStdString(other.markdown).contains("No published row compares with this split"));
        QVERIFY(!QString::fromStdString(other.markdown).contains("*published:"));
        QVERIFY(other.report["published"].empty());
    }

    void badPublishedData_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("words");
        const QString row = R"j({"method": "M", "detail": "d", "test_images": 982, "retrieval_space": "r", "source": "s", "values": %1})j";
        QTest::newRow("not JSON") << "{rows" << "not a JSON object";
        QTest::newRow("no rows") << "{}" << "\"rows\" is missing";
        QTest::newRow("unknown column") << R"j({"rows": [)j" + row.arg(R"j({"PixCor": 0.3})j") + "]}" << "unknown column \"PixCor\"";
        QTest::newRow("percent, not fraction") << R"j({"rows": [)j" + row.arg(R"j({"AlexNet(2)": 97.9})j") + "]}" << "outside [0, 1]";
        QTest::newRow("text value") << R"j({"rows": [)j" + row.arg(R"j({"SSIM": "0.4"})j") + "]}" << "\"SSIM\" is not a number";
        QTest::newRow("no values") << R"j({"rows": [)j" + row.arg("{}") + "]}" << "\"values\" is missing or empty";
        QTest::newRow("no source") << R"j({"rows": [{"method": "M", "detail": "d", "test_images": 982, "retrieval_space": "r", "values": {"SSIM": 0.4}}]})j"
                                   << "rows[0]: \"source\" is missing";
        QTest::newRow("bad split") << R"j({"rows": [{"method": "M", "detail": "d", "test_images": "982", "retrieval_space": "r", "source": "s", "values": {"SSIM": 0.4}}]})j"
                                   << "\"test_images\" is missing or not a positive integer";
        QTest::newRow("bad not_included") << R"j({"rows": [], "not_included": [{"method": "M"}]})j" << "not_included[0]: \"why\" is missing";
    }

    void badPublishedData() {
        QFETCH(QString, text);
        QFETCH(QString, words);
        expectError([&] { parse_published_scores(text.toStdString(), "scores.json"); }, "scores.json", words);
    }

    void badFiles() {
        QTemporaryDir dir;
        const auto alex = m_nets.filePath(net_file(NetId::AlexNet).file).toStdString();
        const auto effnet = m_nets.filePath(net_file(NetId::EfficientNetB1).file).toStdString();
        auto copyCut = [&](const std::string& from, const QString& name, double share) {
            const auto to = dir.filePath(name).toStdString();
            std::filesystem::copy_file(from, to);
            std::filesystem::resize_file(to, static_cast<uintmax_t>(std::filesystem::file_size(to) * share));
            return to;
        };
        // Cut short, in both formats.
        const auto cutLegacy = copyCut(alex, "alex-cut.pth", 0.5);
        expectError([&] { soul::read_pytorch_state_dict(cutLegacy); }, "alex-cut.pth", "cut short");
        const auto cutZip = copyCut(effnet, "eff-cut.pth", 0.9);
        expectError([&] { soul::read_pytorch_state_dict(cutZip); }, "eff-cut.pth", "is not a readable PyTorch state dict");
        // Another network's weights: named by a key it does not have.
        auto alexNet = make_network(NetId::AlexNet);
        expectError([&] { load_network(*alexNet, net_file(NetId::AlexNet), effnet); }, "efficientnet_b1-c27df63c.pth", "which AlexNet does not have");
        // A missing key and a mis-shaped key: the SwAV file is a ResNet-50; read as Inception it lacks keys.
        auto inception = make_network(NetId::InceptionV3);
        expectError([&] { load_network(*inception, net_file(NetId::InceptionV3), m_nets.filePath("swav_800ep_pretrain.pth.tar").toStdString()); },
                    "swav_800ep_pretrain.pth.tar", "does not have");
        // A changed byte inside a zip record: its CRC fails.
        const auto flipped = dir.filePath("eff-flipped.pth").toStdString();
        std::filesystem::copy_file(effnet, flipped);
        {
            std::fstream f(flipped, std::ios::binary | std::ios::in | std::ios::out);
            f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(flipped) / 2));
            f.put('\x5a');
        }
        expectError([&] { soul::read_pytorch_state_dict(flipped); }, "eff-flipped.pth", "CRC-32");
        // Text and a plain pickle are refused by what they are.
        const auto text = dir.filePath("notes.pth").toStdString();
        std::ofstream(text) << "weights: none\n";
        expectError([&] { soul::read_pytorch_state_dict(text); }, "notes.pth", "starts neither as a zip archive nor");
        const auto pickle = dir.filePath("plain.pkl").toStdString();
        std::ofstream(pickle, std::ios::binary) << std::string("\x80\x02}q\x00.", 6);
        expectError([&] { soul::read_pytorch_state_dict(pickle); }, "plain.pkl", "a pickle without torch.save's header");
        // A file that fails loads nothing: the network keeps its weights.
        auto before = alexNet->named_parameters()["features.0.weight"].clone();
        expectError([&] { load_network(*alexNet, net_file(NetId::AlexNet), cutLegacy); }, "alex-cut.pth", "cut short");
        QVERIFY(torch::equal(before, alexNet->named_parameters()["features.0.weight"]));
        // In a folder, a bad file costs only its own columns.
        QTemporaryDir folder;
        std::filesystem::copy_file(cutZip, folder.filePath(net_file(NetId::EfficientNetB1).file).toStdString());
        std::filesystem::copy_file(alex, folder.filePath(net_file(NetId::AlexNet).file).toStdString());
        const MetricNetworks partial(folder.path().toStdString());
        QCOMPARE(int(partial.problems().size()), 1);
        QVERIFY(QString::fromStdString(partial.problems()[0]).contains("efficientnet_b1-c27df63c.pth"));
        const auto truth = torch::stack({photo("astronaut.png"), photo("coffee.png")});
        const auto row = StandardScorer(truth, partial)("test", truth);
        QVERIFY(row.values.at("AlexNet(5)").has_value());
        QVERIFY(!row.values.at("EffNet-B").has_value());
        QVERIFY(QString::fromStdString(row.missing.at("EffNet-B")).contains("unreadable"));
    }
};

QTEST_GUILESS_MAIN(TestNsdMetrics)
#include "tst_nsd_metrics.moc"
