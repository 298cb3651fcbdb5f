// Runs the real `souldiffuser` program: info as text and JSON, labels, env, and its bad-input exits.
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "soul/formats.h"
#include "soul/nsd_layout.h"
#include "soul/volume.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

using namespace soultest;

namespace {

// Overwrites `bytes.size()` bytes of `file` at `offset`.
void patch(const std::string& file, std::streamoff offset, const std::string& bytes) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offset);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <class T>
std::string bytes_of(T value) {
    return std::string(reinterpret_cast<const char*>(&value), sizeof value);
}

// An IDX file as Fashion-MNIST ships it (big-endian header, gzip): labels (one dimension) or
// 28x28 images.
void writeIdx(const std::string& path, const std::vector<uint8_t>& values, bool images) {
    std::string bytes = images ? std::string("\0\0\x08\x03", 4) : std::string("\0\0\x08\x01", 4);
    auto big_endian = [&](uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((v >> shift) & 0xff));
    };
    const uint32_t count = static_cast<uint32_t>(images ? values.size() / (28 * 28) : values.size());
    big_endian(count);
    if (images) big_endian(28), big_endian(28);
    bytes.append(values.begin(), values.end());
    gzFile out = gzopen(path.c_str(), "wb");
    gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(out);
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT
    std::string m_dir;
    QString path(const std::string& name) const { return QString::fromStdString(m_dir + "/" + name); }

    struct Run {
        int code;
        QString out, err;
    };
    Run run(const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment()) {
        QProcess p;
        p.setProcessEnvironment(env);
        p.start(SOUL_CLI, args);
        p.waitForFinished(60000);
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
    }

    // The last one-line run of a command: exit 1, one line on stderr (after any progress lines)
    // that names `file` and contains `problem`.
    void expectOneLine(const Run& r, const QString& file, const QString& problem) {
        QCOMPARE(r.code, 1);
        QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
        lines.erase(std::remove_if(lines.begin(), lines.end(), [](const QString& l) { return l.startsWith('['); }), lines.end());
        QVERIFY2(lines.size() == 1 && r.err.endsWith(lines.front() + "\n"), qPrintable(r.err));
        QVERIFY2(lines.front().contains(file) && lines.front().contains(problem), qPrintable(r.err));
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = tempFolder("cli");
        NiftiSpec s;
        s.dims = {3, 4, 5, 2};
        s.datatype = 4;
        s.pixdim = {1.8f, 1.8f, 1.8f};
        s.sform_code = 1;
        s.srow = {{{-1.8f, 0, 0, 10}, {0, 1.8f, 0, -20}, {0, 0, 1.8f, -30}}};
        writeNifti(path("series.nii.gz").toStdString(), s, ramp(s));
        writeSyntheticBrain(m_dir);
    }
    void cleanupTestCase() { std::filesystem::remove_all(m_dir); }

    void infoText() {
        const Run r = run({"info", path("series.nii.gz")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("3 x 4 x 5 x 2"), qPrintable(r.out));
        QVERIFY(r.out.contains("1.8 x 1.8 x 1.8 mm"));
        QVERIFY(r.out.contains("int16"));
        QVERIFY(r.out.contains("0 .. 119"));
        QVERIFY(r.out.contains("LAS"));
    }

    void infoJson() {
        const Run r = run({"info", "--json", path("series.nii.gz")});
        QCOMPARE(r.code, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o["dims"].toArray().at(3).toInt(), 2);
        QCOMPARE(o["datatype"].toString(), QString("int16"));
        QCOMPARE(o["ijk_to_ras"].toArray().at(0).toArray().at(0).toDouble(), -1.8);
        QCOMPARE(o["ijk_to_ras"].toArray().at(2).toArray().at(3).toDouble(), -30.0);
        QCOMPARE(o["range"].toArray().at(1).toDouble(), 119.0);
        const Run two = run({"info", "--json", path("series.nii.gz"), path("brain.nii.gz")});
        QCOMPARE(QJsonDocument::fromJson(two.out.toUtf8()).array().size(), 2);
    }

    void labels() {
        const Run r = run({"labels", path("streams.nii.gz")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("ventral") && r.out.contains("parietal") && r.out.contains("early"), qPrintable(r.out));
    }

    void labelsOnAnotherGrid() {
        // Same labels shifted 500 mm: no overlap with the brain, refused with the file named.
        soul::Volume labels = soul::read_nifti(path("streams.nii.gz").toStdString());
        labels.ijk_to_ras(0, 3) += 500;
        soul::write_nifti(labels, path("streams-far.nii.gz").toStdString(), soul::StoredType::uint8);
        const Run far = run({"labels", path("streams-far.nii.gz"), "--like", path("brain.nii.gz")});
        QCOMPARE(far.code, 1);
        QVERIFY2(far.err.contains(path("streams-far.nii.gz")) && far.err.contains("does not overlap"), qPrintable(far.err));
        // Shifted by one voxel: overlaps, resampled with a notice, labels still listed.
        labels.ijk_to_ras(0, 3) -= 500 - 1.8;
        soul::write_nifti(labels, path("streams-shifted.nii.gz").toStdString(), soul::StoredType::uint8);
        const Run shifted = run({"labels", path("streams-shifted.nii.gz"), "--like", path("brain.nii.gz")});
        QCOMPARE(shifted.code, 0);
        QVERIFY2(shifted.err.contains("resampled"), qPrintable(shifted.err));
        QVERIFY(shifted.out.contains("parietal"));
    }

    void prepareAndInspect() {
        const auto fixture = soultest::write_nsd_fixture(m_dir + "/nsd");
        const Run prepared = run({"prepare", "--nsd", path("nsd"), "--out", path("prepared"), "--image-size", "8", "--sessions", "1-2"});
        QCOMPARE(prepared.code, 0);
        QVERIFY2(prepared.out.contains("18 voxels") && prepared.out.contains("1488 training trials") && prepared.out.contains("4 test images"),
                 qPrintable(prepared.out));
        const Run again = run({"prepare", "--nsd", path("nsd"), "--out", path("prepared"), "--image-size", "8", "--sessions", "1-2"});
        QVERIFY(again.out.contains("already prepared"));
        const Run inspect = run({"inspect", path("prepared")});
        QCOMPARE(inspect.code, 0);
        QVERIFY2(inspect.out.contains("1488 single trials") && inspect.out.contains("4 images, repeats averaged (4 shown 3x)"), qPrintable(inspect.out));
        const Run raw = run({"inspect", path("nsd")});
        QCOMPARE(raw.code, 0);
        QVERIFY2(raw.out.contains("subj01: 2 NIfTI") && raw.out.contains("1500 trials") && raw.out.contains("nsdgeneral   18 voxels"), qPrintable(raw.out));
        const Run bad = run({"prepare", "--nsd", path("nsd"), "--out", path("x"), "--sessions", "two"});
        QCOMPARE(bad.code, 1);
        QVERIFY(bad.err.contains("--sessions must be A-B"));
        const Run missing = run({"prepare", "--nsd", path("nsd"), "--out", path("x"), "--sessions", "1-3"});
        QCOMPARE(missing.code, 1);
        QVERIFY2(missing.err.contains("betas_session03.nii.gz") && missing.err.contains("session 3 is missing"), qPrintable(missing.err));
        const Run nothing = run({"inspect", path("nowhere")});
        QCOMPARE(nothing.code, 1);
        QVERIFY(nothing.err.contains("no such file"));
        // The manifest's descriptive fields (how it was made) are not needed to read the data:
        // with them missing or of another shape, inspect says "?" and reads the rest.
        QFile manifest(path("prepared/manifest.json"));
        QVERIFY(manifest.open(QIODevice::ReadOnly));
        QJsonObject m = QJsonDocument::fromJson(manifest.readAll()).object();
        manifest.close();
        QJsonObject parameters = m["parameters"].toObject();
        parameters.remove("sessions");
        parameters["betas"] = 7;
        m["parameters"] = parameters;
        m["voxels_per_stream"] = "many";
        QVERIFY(manifest.open(QIODevice::WriteOnly | QIODevice::Truncate));
        manifest.write(QJsonDocument(m).toJson());
        manifest.close();
        const Run odd = run({"inspect", path("prepared")});
        QCOMPARE(odd.code, 0);
        QVERIFY2(odd.out.contains("sessions ? (7 betas)") && odd.out.contains("per stream     ?") && odd.out.contains("1488 single trials"),
                 qPrintable(odd.out + odd.err));
    }

    void environment() {
        const Run r = run({"env"});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("LibTorch ") && r.out.contains("CPU threads ") && r.out.contains("\ndevice "), qPrintable(r.out));
        QVERIFY2(r.out.contains(QRegularExpression("C\\+\\+(17|20)")), qPrintable(r.out));     // the build's standard
        QVERIFY2(r.out.contains("LibTorch build configuration:"), qPrintable(r.out));   // at::show_config()
        // This machine kind has no GPU: the device is the CPU and no GPU is listed, with the reason.
        if (r.out.contains("device cpu")) QVERIFY2(r.out.contains("GPUs: none ("), qPrintable(r.out));
    }

    // data_paths.h: flag → environment → user data dir → install prefix → (build tree) source tree.
    void dataLookupOrder() {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove("SOUL_MODEL_DIR");
        env.insert("XDG_DATA_HOME", path("xdg"));
        Run r = run({"env"}, env);
        QCOMPARE(r.code, 0);
        // This program is in its build tree: the source tree's model is the last resort.
        QVERIFY2(r.out.contains("shipped model:  " SOUL_SOURCE_DIR "/models/phantom-small (source tree)"), qPrintable(r.out));
        QVERIFY2(r.out.contains("user data dir:  " + path("xdg/souldiffuser")), qPrintable(r.out));
        // A model in the user's data dir comes before it.
        const QString userModel = path("xdg/souldiffuser/models/phantom-small");
        QVERIFY(QDir().mkpath(userModel));
        QFile(userModel + "/run.json").open(QIODevice::WriteOnly);
        r = run({"env"}, env);
        QVERIFY2(r.out.contains("shipped model:  " + userModel + " (user data dir)"), qPrintable(r.out));
        // The environment variable before both, and the flag before everything.
        env.insert("SOUL_MODEL_DIR", path("elsewhere"));
        r = run({"env"}, env);
        QVERIFY2(r.out.contains("shipped model:  " + path("elsewhere") + " ($SOUL_MODEL_DIR)"), qPrintable(r.out));
        r = run({"reconstruct", "--model", path("flagged"), "--out", path("out-flagged")}, env);
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(path("flagged")), qPrintable(r.err));
        // A shipped model without --data and without the default subject says how to make it.
        QProcessEnvironment fresh = QProcessEnvironment::systemEnvironment();
        fresh.remove("SOUL_MODEL_DIR");
        fresh.remove("SOUL_PREPARED_DIR");
        fresh.insert("SOUL_PHANTOM_DIR", path("no-subject/phantom"));
        r = run({"reconstruct", "--out", path("out-default")}, fresh);
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("souldiffuser default-subject"), qPrintable(r.err));
        // Training configs by name; an unknown name lists where it looked.
        r = run({"train", "--data", path("none"), "--config", "no-such-config", "--out", path("run")}, env);
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("no training config named 'no-such-config'") && r.err.contains(SOUL_SOURCE_DIR "/models/configs/no-such-config.json"),
                 qPrintable(r.err));
        r = run({"train", "--data", path("none"), "--config", "phantom-small", "--out", path("run")}, env);
        QCOMPARE(r.code, 1);
        QVERIFY2(!r.err.contains("no training config") && r.err.contains(path("none")), qPrintable(r.err));   // found; the data is what is missing
    }

    void cudaUnavailableSaysWhy() {
        const Run probe = run({"env"});
        if (!probe.out.contains("device cpu")) QSKIP("a CUDA device is usable here");
        // The device is chosen before anything is read: the message names what is missing.
        for (const QStringList& args : {QStringList{"train", "--data", path("none"), "--config", path("none.json"), "--out", path("run-cuda"), "--device", "cuda"},
                                        QStringList{"evaluate-encoders", path("no-run"), "--device", "cuda"}}) {
            const Run r = run(args);
            QCOMPARE(r.code, 1);
            QVERIFY2(r.err.contains("--device cuda: this") && r.err.contains("souldiffuser env"), qPrintable(r.err));
            QVERIFY2(r.err.contains(probe.out.contains("CPU only") ? "CPU only" : "sees no usable CUDA device"), qPrintable(r.err));
        }
        const Run precision = run({"train", "--data", path("none"), "--config", path("none.json"), "--out", path("run-fp16"), "--device", "cpu", "--precision", "fp16"});
        QCOMPARE(precision.code, 1);
        QVERIFY2(precision.err.contains("--precision must be auto, fp32 or bf16, not fp16"), qPrintable(precision.err));
        QVERIFY(!std::filesystem::exists(m_dir + "/run-fp16"));
    }

    void badInputExitsNonZero() {
        std::ofstream(path("notes.nii").toStdString()) << "plain text, not an image at all......";
        const Run missing = run({"info", path("missing.nii")});
        QCOMPARE(missing.code, 1);
        QVERIFY2(missing.err.contains(path("missing.nii")) && missing.err.contains("no such file"), qPrintable(missing.err));
        const Run text = run({"info", path("notes.nii")});
        QCOMPARE(text.code, 1);
        QVERIFY2(text.err.contains("not a NIfTI file"), qPrintable(text.err));
        // One bad file among good ones: the good ones still print, the exit says failure.
        const Run mixed = run({"info", path("series.nii.gz"), path("missing.nii")});
        QCOMPARE(mixed.code, 1);
        QVERIFY(mixed.out.contains("3 x 4 x 5 x 2"));
        const Run usage = run({"info"});
        QVERIFY(usage.code != 0);
        // The generator commands on a folder that is not a run.
        const Run generate = run({"generate", "--model", path("nowhere"), "--out", path("gen"), "--caption", "a dress"});
        QCOMPARE(generate.code, 1);
        QVERIFY2(generate.err.contains(path("nowhere") + "/run.json") && generate.err.contains("no such file"), qPrintable(generate.err));
        QVERIFY(!QFileInfo::exists(path("gen")));
        const Run oracle = run({"evaluate-generator", path("nowhere")});
        QCOMPARE(oracle.code, 1);
        QVERIFY2(oracle.err.contains("run.json"), qPrintable(oracle.err));
        // The reconstruction commands likewise.
        for (const QStringList& args : {QStringList{"reconstruct", "--model", path("nowhere"), "--out", path("rec")},
                                        QStringList{"evaluate", path("nowhere")},
                                        QStringList{"export-model", path("nowhere"), "--out", path("exported")}}) {
            const Run r = run(args);
            QCOMPARE(r.code, 1);
            QVERIFY2(r.err.contains(path("nowhere") + "/run.json") && r.err.contains("no such file"), qPrintable(r.err));
        }
        QVERIFY(!QFileInfo::exists(path("rec")));
        QVERIFY(!QFileInfo::exists(path("exported")));
        const Run figure = run({"export", "--view", path("nowhere.json"), "--out", path("figure.png")});
        QCOMPARE(figure.code, 1);
        QVERIFY2(figure.err.contains(path("nowhere.json")) && figure.err.contains("no such file"), qPrintable(figure.err));
        QFile broken(path("broken.view.json"));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write(R"({"run": "x", "kind": "collage", "trials": [{"row": 0}]})");
        broken.close();
        const Run kind = run({"export", "--view", path("broken.view.json"), "--out", path("figure.png")});
        QCOMPARE(kind.code, 1);
        QVERIFY2(kind.err.contains("collage"), qPrintable(kind.err));
        QVERIFY(!QFileInfo::exists(path("figure.png")));
        // The sampler's settings: one check for every command, NaN and infinities included, before
        // anything is opened or written; the option is named.
        const std::vector<std::pair<QStringList, QString>> settings = {
            {{"--cfg", "nan"}, "--cfg"},          {{"--strength", "nan"}, "--strength"}, {{"--w-color", "inf"}, "--w-color"},
            {{"--steps", "0"}, "--steps"},        {{"--eta", "1.5"}, "--eta"},           {{"--w-edge", "-1"}, "--w-edge"},
            {{"--seed", "99999999999"}, "--seed"}};
        for (const auto& [bad, option] : settings)
            for (const QStringList& command : {QStringList{"generate", "--model", path("nowhere"), "--out", path("gen")},
                                               QStringList{"reconstruct", "--model", path("nowhere"), "--out", path("rec")},
                                               QStringList{"evaluate", path("nowhere"), "--data", path("nowhere")},
                                               QStringList{"evaluate-generator", path("nowhere")}}) {
                const Run r = run(command + bad);
                QCOMPARE(r.code, 1);
                QVERIFY2(r.err.contains(option + " must be in [") && r.err.count('\n') == 1, qPrintable(command.front() + ": " + r.err));
            }
        const Run samples = run({"reconstruct", "--model", path("nowhere"), "--out", path("rec"), "--samples", "17"});
        QVERIFY2(samples.code == 1 && samples.err.contains("--samples must be in [1, 16], not 17"), qPrintable(samples.err));
        QVERIFY(!QFileInfo::exists(path("gen")) && !QFileInfo::exists(path("rec")));
        const Run both = run({"reconstruct", "--model", path("nowhere"), "--out", path("rec"), "--test", "--trials", "0"});
        QCOMPARE(both.code, 1);
        QVERIFY2(both.err.contains("not both"), qPrintable(both.err));
    }

    // Hand-edited view descriptions (souldiffuser export): every field checked, unknown keys named.
    void hostileViewDescriptions_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("problem");
        QTest::newRow("not an object") << "[1, 2]" << "is not a view description";
        QTest::newRow("unknown key") << R"({"run": "x", "trials": [{"row": 0}], "kinds": "comparison"})" << "key 'kinds' is not part";
        QTest::newRow("trials not a list") << R"({"run": "x", "trials": {"row": 0}})" << "trials must be a list";
        QTest::newRow("negative row") << R"({"run": "x", "trials": [{"row": -1}]})" << "row must be a whole number from 0";
        QTest::newRow("fractional scale") << R"({"run": "x", "trials": [{"row": 0}], "scale": 2.5})" << "scale must be a whole number";
        QTest::newRow("scale out of range") << R"({"run": "x", "trials": [{"row": 0}], "scale": 9})" << "scale must be 1 to 4";
        QString many = R"({"run": "x", "trials": [)";
        for (int i = 0; i < 65; ++i) many += QString(i ? ", " : "") + R"({"row": 0})";
        QTest::newRow("too many trials") << many + "]}" << "at most 64";
        QTest::newRow("nan setting") << R"({"run": "x", "trials": [{"row": 0}], "settings": {"cfg": "nan"}})" << "cfg";
    }
    void hostileViewDescriptions() {
        QFETCH(QString, text);
        QFETCH(QString, problem);
        const QString view = path("hostile.view.json");
        std::ofstream(view.toStdString(), std::ios::trunc) << text.toStdString();
        const Run r = run({"export", "--view", view, "--out", path("hostile-figure.png")});
        expectOneLine(r, view, problem);
        QVERIFY(!QFileInfo::exists(path("hostile-figure.png")));
    }

    // The phantom's own inputs, pointed elsewhere (SOUL_FASHION_MNIST_DIR, SOUL_MRICRON_DIR): each
    // refused with the file named, before anything of the subject is written.
    void hostilePhantomInputs_data() {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("problem");
        QTest::newRow("fashion-mnist: label 12") << "label-12" << "train-labels-idx1-ubyte.gz" << "is not a Fashion-MNIST class";
        QTest::newRow("fashion-mnist: a class missing") << "class-missing" << "train-labels-idx1-ubyte.gz" << "has no image of class 9";
        QTest::newRow("fashion-mnist: counts differ") << "counts" << "fashion" << "differ in count";
        QTest::newRow("template: oblique") << "oblique" << "ch2bet.nii.gz" << "is oblique";
        QTest::newRow("template: no AAL regions") << "no-regions" << "aal.nii.gz" << "has none of the occipital";
        QTest::newRow("template: 1000 mm voxels") << "huge-voxels" << "ch2bet.nii.gz" << "voxel side of 1000";
    }
    void hostilePhantomInputs() {
        QFETCH(QString, damage);
        QFETCH(QString, file);
        QFETCH(QString, problem);
        const std::string dir = m_dir + "/phantom-inputs-" + damage.toStdString();
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir + "/fashion");
        std::filesystem::create_directories(dir + "/mricron");
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        if (damage == "label-12" || damage == "class-missing" || damage == "counts") {
            std::vector<uint8_t> labels(20);
            for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i % (damage == "class-missing" ? 9 : 10));
            if (damage == "label-12") labels[13] = 12;
            writeIdx(dir + "/fashion/train-labels-idx1-ubyte.gz", labels, false);
            writeIdx(dir + "/fashion/train-images-idx3-ubyte.gz", std::vector<uint8_t>((damage == "counts" ? 19 : 20) * 28 * 28, 128), true);
            env.insert("SOUL_FASHION_MNIST_DIR", QString::fromStdString(dir + "/fashion"));
        } else {
            // A tiny template pair on one grid; the atlas's codes are AAL's visual ones unless the
            // case says otherwise.
            NiftiSpec spec;
            spec.dims = {12, 12, 12, 1};
            spec.sform_code = 1;
            spec.srow = {{{1, 0, 0, -6}, {0, 1, 0, -100}, {0, 0, 1, -6}}};
            if (damage == "oblique") spec.srow = {{{0.8f, 0.6f, 0, -6}, {-0.6f, 0.8f, 0, -100}, {0, 0, 1, -6}}};
            if (damage == "huge-voxels") spec.srow = {{{1000, 0, 0, -6}, {0, 1, 0, -100}, {0, 0, 1, -6}}};
            writeNifti(dir + "/mricron/ch2bet.nii.gz", spec, std::vector<float>(12 * 12 * 12, damage == "no-regions" ? 100.f : 100.f));
            writeNifti(dir + "/mricron/aal.nii.gz", spec, std::vector<float>(12 * 12 * 12, damage == "no-regions" ? 0.f : 43.f));
            std::ofstream(dir + "/mricron/aal.nii.txt") << "43 Calcarine_L 1\n";
            env.insert("SOUL_MRICRON_DIR", QString::fromStdString(dir + "/mricron"));
        }
        const Run r = run({"phantom", "--out", QString::fromStdString(dir + "/subject")}, env);
        expectOneLine(r, file, problem);
        QVERIFY(!std::filesystem::exists(dir + "/subject/nsddata"));
    }

    // A config the validator accepts but this machine cannot train: refused before the memory is
    // touched (the guard on LibTorch's allocator; the stage plan), the config named, no run left.
    void configTooLargeForMemory_data() {
        QTest::addColumn<QString>("config");
        QTest::addColumn<QString>("problem");
        // EdgeColorNet's hidden layer of 65536 x 65536 floats: one 16 GiB tensor.
        QTest::newRow("one 16 GiB tensor") << R"({"ec_hidden": 65536})" << "a tensor of 16.0 GiB was asked for";
        // 8192 x 8192 (256 MiB) fits, but its gradients and AdamW's two moments do not.
        QTest::newRow("optimizer state") << R"({"ec_hidden": 8192})" << "for its gradients and AdamW's moments";
    }
    void configTooLargeForMemory() {
        QFETCH(QString, config);
        QFETCH(QString, problem);
        if (!QFileInfo::exists(path("memory-prepared/manifest.json"))) {
            soultest::write_nsd_fixture(m_dir + "/memory-nsd");
            const Run prepared = run({"prepare", "--nsd", path("memory-nsd"), "--out", path("memory-prepared"), "--image-size", "8", "--sessions", "1-2"});
            QCOMPARE(prepared.code, 0);
        }
        const QString file = path("too-large.json");
        std::ofstream(file.toStdString(), std::ios::trunc) << config.toStdString();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("SOUL_MEMORY_LIMIT", "900M");
        const Run r = run({"train", "--data", path("memory-prepared"), "--config", file, "--out", path("too-large-run"), "--device", "cpu"}, env);
        expectOneLine(r, file, problem);
        QVERIFY2(r.err.contains("asks for more memory than this machine has"), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(path("too-large-run")));
    }

    // Each class of hostile file (docs/reliability.md) through the real program: exit code 1, one
    // line on stderr naming the damaged file and the problem, and no output folder left behind.
    void hostileFilesGiveOneLine_data() {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("file");      // relative to the NSD root, or a NIfTI file's name
        QTest::addColumn<QString>("problem");
        QTest::newRow("nifti: nan in the sform") << "nan-sform" << "nan.nii" << "non-finite sform";
        QTest::newRow("nifti: negative dimension") << "negative-dim" << "negative.nii" << "dim[2] = -5";
        QTest::newRow("nifti: corrupt deflate data") << "corrupt-gz" << "corrupt.nii.gz" << "damaged gzip";
        QTest::newRow("mat: an element claims 4 GB") << "mat-huge-element" << QString::fromStdString(soul::nsd::expdesign_file()) << "claims";
        QTest::newRow("mat: not a MATLAB file") << "mat-text" << QString::fromStdString(soul::nsd::expdesign_file()) << "not a MATLAB";
        QTest::newRow("hdf5: LZF-compressed stimuli") << "hdf5-lzf" << QString::fromStdString(soul::nsd::stimuli_file()) << "cannot decode";
        QTest::newRow("coco: a caption that is a number") << "coco-number" << QString::fromStdString(soul::nsd::coco_captions_file("train2017"))
                                                          << "'caption' is not text";
        QTest::newRow("csv: an id that is not a number") << "csv-text" << QString::fromStdString(soul::nsd::stim_info_file()) << "row";
    }
    void hostileFilesGiveOneLine() {
        QFETCH(QString, damage);
        QFETCH(QString, file);
        QFETCH(QString, problem);
        const std::string case_dir = m_dir + "/hostile-" + damage.toStdString();
        std::filesystem::remove_all(case_dir);
        std::filesystem::create_directories(case_dir);
        QStringList args;
        std::string damaged;
        if (damage.startsWith("nan-") || damage.startsWith("negative") || damage.startsWith("corrupt")) {
            damaged = case_dir + "/" + file.toStdString();
            NiftiSpec spec;
            spec.dims = {16, 16, 16, 1};   // a deflate stream long enough to damage in the middle
            writeNifti(damaged, spec, ramp(spec));
            if (damage == "nan-sform") {
                patch(damaged, 254, bytes_of<int16_t>(1));                                        // sform_code
                patch(damaged, 280, bytes_of(std::numeric_limits<float>::quiet_NaN()));          // srow_x[0]
            } else if (damage == "negative-dim") {
                patch(damaged, 44, bytes_of<int16_t>(-5));                                        // dim[2]
            } else {
                const auto size = std::filesystem::file_size(damaged);
                patch(damaged, static_cast<std::streamoff>(size * 3 / 4), std::string(8, '\x55'));
            }
            args = {"info", QString::fromStdString(damaged)};
        } else {
            const std::string root = case_dir + "/nsd";
            write_nsd_fixture(root);
            damaged = root + "/" + file.toStdString();
            if (damage == "mat-huge-element") {
                patch(damaged, 132, bytes_of<uint32_t>(0xfffffff0u));                            // the first element's byte count
            } else if (damage == "mat-text") {
                std::ofstream(damaged, std::ios::trunc) << "masterordering = [1 2 3]\n";
            } else if (damage == "hdf5-lzf") {
                // The same shape as the fixture's stimuli, written by h5py with its LZF filter.
                const soul::ImageBrickShape shape = soul::image_brick_shape(damaged);
                QProcess python;
                python.start(SOUL_PYTHON, {"-c", "import h5py, numpy, sys\n"
                                                 "shape = tuple(int(n) for n in sys.argv[2:]) + (3,)\n"
                                                 "with h5py.File(sys.argv[1], 'w') as f:\n"
                                                 "    f.create_dataset('imgBrick', data=numpy.zeros(shape, numpy.uint8), compression='lzf')",
                                           QString::fromStdString(damaged), QString::number(shape.count), QString::number(shape.height),
                                           QString::number(shape.width)});
                QVERIFY(python.waitForFinished(60000));
                QVERIFY2(python.exitCode() == 0, python.readAllStandardError().constData());
            } else if (damage == "coco-number") {
                std::ofstream(damaged, std::ios::trunc) << R"({"annotations": [{"image_id": 5000, "caption": 5}]})";
            } else {
                soul::CsvTable table = soul::read_csv(damaged);
                table.rows[0][static_cast<size_t>(table.require("nsdId", damaged))] = "x";
                soul::write_csv(damaged, table);
            }
            args = {"prepare", "--nsd", QString::fromStdString(root), "--out", QString::fromStdString(case_dir + "/prepared"), "--image-size", "8"};
        }
        const Run r = run(args);
        QCOMPARE(r.code, 1);
        // Progress lines ("[1/7 0.2s] …") may come first; the error is one line, the last.
        QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
        lines.erase(std::remove_if(lines.begin(), lines.end(), [](const QString& l) { return l.startsWith('['); }), lines.end());
        QVERIFY2(lines.size() == 1 && r.err.endsWith(lines.front() + "\n"), qPrintable(r.err));
        QVERIFY2(lines.front().contains(QString::fromStdString(damaged)) && lines.front().contains(problem), qPrintable(r.err));
        QVERIFY(!std::filesystem::exists(case_dir + "/prepared/manifest.json"));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
