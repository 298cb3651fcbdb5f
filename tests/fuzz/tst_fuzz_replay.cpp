// Replays every saved fuzz input (tests/fuzz/corpus/<target>/: the seeds and what fuzzing kept;
// tests/fuzz/crashes/<target>/: every crash found, minimised) through its target, in the normal
// suite and under ASan + UBSan in the sanitizer build (docs/reliability.md, "Fuzzing").
#include "fuzz_targets.h"

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace fs = std::filesystem;

namespace {

constexpr size_t kMinimumSeeds = 3;   // a target with fewer saved inputs is not really exercised

// The targets this suite replays: all, or the one SOUL_FUZZ_REPLAY_ONLY names (fuzz_replay_checkpoint).
std::vector<soul::fuzz::Target> replayed_targets() {
    std::vector<soul::fuzz::Target> out;
    for (const auto& t : soul::fuzz::targets()) {
#ifdef SOUL_FUZZ_REPLAY_ONLY
        if (std::string(t.name) != SOUL_FUZZ_REPLAY_ONLY) continue;
#endif
        out.push_back(t);
    }
    return out;
}

std::vector<fs::path> saved_inputs(const std::string& target, const char* kind) {
    std::vector<fs::path> files;
    const fs::path folder = fs::path(SOUL_FUZZ_DIR) / kind / target;
    if (fs::is_directory(folder))
        for (const auto& e : fs::directory_iterator(folder))
            if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

class TestFuzzReplay : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Every target has seeds, and at least one of them reads cleanly: the seeds are real files of
    // their format, so fuzzing starts from inputs that reach deep into the reader.
    void everyTargetHasSeeds_data() {
        QTest::addColumn<QString>("target");
        for (const auto& t : replayed_targets()) QTest::newRow(t.name) << QString(t.name);
    }
    void everyTargetHasSeeds() {
        QFETCH(QString, target);
        const auto seeds = saved_inputs(target.toStdString(), "corpus");
        QVERIFY2(seeds.size() >= kMinimumSeeds, qPrintable(target + ": too few seeds; run tools/fuzz.sh seeds"));
        const auto* t = soul::fuzz::find_target(target.toStdString());
        const int64_t before = soul::fuzz::clean_reads();
        for (const auto& file : seeds) {
            std::ifstream in(file, std::ios::binary);
            const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            t->run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        }
        QVERIFY2(soul::fuzz::clean_reads() > before, qPrintable(target + ": no seed reads without an error"));
    }

    // Each saved input ends in a result or in a one-line soul::Error naming the file; a crash,
    // a sanitizer finding or another exception fails the row (named by target and file).
    void savedInputsKeepTheContract_data() {
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("file");
        for (const auto& t : replayed_targets())
            for (const char* kind : {"corpus", "crashes"})
                for (const auto& file : saved_inputs(t.name, kind))
                    QTest::newRow(qPrintable(QString("%1/%2/%3").arg(kind, t.name, QString::fromStdString(file.filename().string()))))
                        << QString(t.name) << QString::fromStdString(file.string());
    }
    void savedInputsKeepTheContract() {
        QFETCH(QString, target);
        QFETCH(QString, file);
        std::ifstream in(file.toStdString(), std::ios::binary);
        QVERIFY(in);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        try {
            soul::fuzz::find_target(target.toStdString())->run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        } catch (const std::exception& e) {
            QFAIL(qPrintable(QString("an exception other than soul::Error escaped: ") + e.what()));
        }
    }
};

QTEST_GUILESS_MAIN(TestFuzzReplay)
#include "tst_fuzz_replay.moc"
