// Data-parallel training (docs/distributed.md), run as a user runs it: `souldiffuser train --nproc 2`
// with two Gloo ranks on the loopback address. Two ranks with batch b end with the weights of one
// rank with batch 2b (global-batch contrastive stages and per-row stages alike); a killed rank
// ends the run with a message naming it and --resume finishes it; a rank that never joins times
// out with a clear message; bad launcher options are refused.
#include "CheckpointWeights.h"
#include "NsdFixture.h"
#include "NiftiFixture.h"

#include <QProcess>
#include <QtTest>

#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The stages whose every random draw is the trainer's (sliced from the global batch's draws):
// two global-loss stages (contrastive, gathered across ranks) and one per-row stage.
const char* kExactStages = "embedding,ssmnet,ec_encoder";

// Summed in another order, float32 gradients differ in their last bits; AdamW's steps carry that
// through the updates. Measured (2026-12-02): 2 ranks vs 1 differ by 0 (embedding space,
// EdgeColorNet's encoder) and 9.5e-11 (SSMNet) of the weights' scale. The bound leaves room for
// other BLAS builds and stays far below a wrong gradient's effect (a rank's gradient counted
// twice, or another batch order, moves the weights by 1e-2 or more).
constexpr double kSameWeightsTolerance = 1e-4;

json tiny_config(int batch) {
    return {{"name", "tiny-b" + std::to_string(batch)}, {"seed", 5}, {"image_size", 16}, {"embed_dim", 32}, {"batch_size", batch}, {"checkpoint_every", 4},
            {"text_width", 32}, {"text_layers", 1}, {"embedding_caption_weight", 1.0}, {"embedding", {{"epochs", 2}, {"lr", 0.003}}},
            {"ssm_width", 16}, {"ssm_state", 4}, {"ssm_patch", 512}, {"ssm_token_readout", 2}, {"ssm_per_patch_weights", 1},
            {"ssmnet", {{"epochs", 2}, {"lr", 0.002}}}, {"ec_hidden", 64}, {"ec_encoder", {{"epochs", 2}, {"lr", 0.002}}}};
}

// The "loss" of every step of a stage in metrics.jsonl, in order.
std::map<std::string, std::vector<double>> losses_of(const std::string& run) {
    std::map<std::string, std::vector<double>> out;
    std::ifstream in(fs::path(run) / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
        const json j = json::parse(line);
        out[j["stage"]].push_back(j["loss"]);
    }
    return out;
}

struct Run {
    int code = -1;
    QString out, err;
};

// The pids of the processes whose parent is `parent` and whose command line holds `needle`.
std::vector<pid_t> children_with(qint64 parent, const std::string& needle) {
    std::vector<pid_t> found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        std::string state;
        long ppid = 0;
        rest >> state >> ppid;
        if (ppid != parent) continue;
        std::ifstream cmdline_file(entry.path() / "cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)), std::istreambuf_iterator<char>());
        for (char& c : cmdline)
            if (c == '\0') c = ' ';
        if (cmdline.find(needle) != std::string::npos) found.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return found;
}

size_t lines_of_stage(const std::string& metrics, const std::string& stage) {
    std::ifstream in(metrics);
    size_t n = 0;
    for (std::string line; std::getline(in, line);)
        if (line.find("\"stage\":\"" + stage + "\"") != std::string::npos) ++n;
    return n;
}

}  // namespace

class TestDistributed : public QObject {
    Q_OBJECT
    std::string m_dir, m_data;

    Run cli(const QStringList& args, int timeout_ms = 500000) {
        QProcess p;
        p.start(SOUL_CLI, args);
        if (!p.waitForFinished(timeout_ms)) p.kill();
        p.waitForFinished();
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }
    std::string config(int batch, const std::function<void(json&)>& edit = {}) {
        json c = tiny_config(batch);
        if (edit) edit(c);
        const std::string path = m_dir + "/" + c["name"].get<std::string>() + ".json";
        std::ofstream(path) << c.dump(2);
        return path;
    }
    QStringList train(const std::string& config, const std::string& out, const char* stages = kExactStages) {
        return {"train", "--data", QString::fromStdString(m_data), "--config", QString::fromStdString(config), "--out",
                QString::fromStdString(m_dir + "/" + out), "--stages", stages, "--device", "cpu"};
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = soultest::tempFolder("distributed");
        m_data = soultest::prepared_phantom(m_dir, 2, 5, 32);
    }
    void cleanupTestCase() { fs::remove_all(m_dir); }

    void twoRanksEqualOneRankWithTheDoubleBatch() {
        const Run one = cli(train(config(32), "one-rank"));
        QVERIFY2(one.code == 0, qPrintable(one.err));
        const Run two = cli(train(config(16), "two-ranks") << "--nproc" << "2");
        QVERIFY2(two.code == 0, qPrintable(two.err));
        QVERIFY2(two.err.contains("2 ranks meeting at 127.0.0.1:"), qPrintable(two.err));
        for (const char* stage : {"embedding", "ssmnet", "ec_encoder"}) {
            const torch::Tensor a = soultest::checkpoint_weights(m_dir + "/one-rank/" + stage + ".pt"), b = soultest::checkpoint_weights(m_dir + "/two-ranks/" + stage + ".pt");
            QCOMPARE(a.numel(), b.numel());
            const double difference = ((a - b).abs().max() / a.abs().max()).item<double>();
            qInfo("%s: 2 ranks vs 1, max |difference| / max |weight| = %.3g", stage, difference);
            QVERIFY2(difference < kSameWeightsTolerance, stage);
        }
        // The same steps, logged once (by rank 0), with the global batch's losses.
        const auto l1 = losses_of(m_dir + "/one-rank"), l2 = losses_of(m_dir + "/two-ranks");
        for (const char* stage : {"embedding", "ssmnet", "ec_encoder"}) {
            QCOMPARE(l2.at(stage).size(), l1.at(stage).size());
            for (size_t i = 0; i < l1.at(stage).size(); ++i) QVERIFY2(std::abs(l1.at(stage)[i] - l2.at(stage)[i]) < 1e-3 * std::max(1.0, std::abs(l1.at(stage)[i])), stage);
        }
        // Training moved the weights: the comparison above is not between two untouched models.
        const json run = json::parse(std::ifstream(m_dir + "/two-ranks/run.json"));
        QVERIFY(run["stages"]["ssmnet"]["done"].get<bool>());
        QVERIFY(l2.at("ssmnet").back() < l2.at("ssmnet").front());
    }

    void aKilledRankEndsTheRunAndResumeFinishesIt() {
        const std::string cfg = config(16, [](json& c) {
            c["name"] = "tiny-long";
            c["ssmnet"]["epochs"] = 8;   // 304 steps: long enough to be killed mid-stage
        });
        QProcess launcher;
        launcher.start(SOUL_CLI, train(cfg, "killed", "embedding,ssmnet") << "--nproc" << "2");
        QVERIFY(launcher.waitForStarted());
        const std::string metrics = m_dir + "/killed/metrics.jsonl";
        // Rank 1 is killed once the ssmnet stage has checkpointed (checkpoint_every 4 steps).
        QTRY_VERIFY_WITH_TIMEOUT(lines_of_stage(metrics, "ssmnet") >= 6, 300000);
        const std::vector<pid_t> rank1 = children_with(launcher.processId(), "--rank 1");
        QCOMPARE(rank1.size(), size_t(1));
        ::kill(rank1[0], SIGKILL);
        QVERIFY(launcher.waitForFinished(120000));
        const QString err = QString::fromUtf8(launcher.readAllStandardError());
        QVERIFY(launcher.exitCode() != 0);
        QVERIFY2(err.contains("rank 1 of 2 was killed by signal 9"), qPrintable(err));
        QVERIFY2(err.contains("continue with --resume"), qPrintable(err));
        const json before = json::parse(std::ifstream(m_dir + "/killed/run.json"));
        QVERIFY(!before["stages"]["ssmnet"]["done"].get<bool>());
        QVERIFY(before["stages"]["ssmnet"]["step"].get<int64_t>() >= 4);

        // The rest, resumed from the last checkpoint, with a shorter stage would change the config:
        // resume with the same one and let it finish.
        const Run resumed = cli(train(cfg, "killed", "embedding,ssmnet") << "--nproc" << "2" << "--resume", 900000);
        QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
        const json after = json::parse(std::ifstream(m_dir + "/killed/run.json"));
        QVERIFY(after["stages"]["ssmnet"]["done"].get<bool>());
        // Every step logged once: the killed run's steps after its checkpoint were dropped.
        std::ifstream in(metrics);
        int64_t previous = 0;
        for (std::string line; std::getline(in, line);) {
            const json j = json::parse(line);
            if (j["stage"] != "ssmnet") continue;
            QCOMPARE(j["step"].get<int64_t>(), previous + 1);
            previous = j["step"];
        }
        QCOMPARE(previous, after["stages"]["ssmnet"]["steps"].get<int64_t>());
    }

    void aRankThatNeverJoinsTimesOut() {
        // Rank 0 of 2 alone: it serves the rendezvous and waits for a rank 1 that never comes.
        QElapsedTimer clock;
        clock.start();
        const Run alone = cli(train(config(16), "alone") << "--world-size" << "2" << "--rank" << "0" << "--master" << "127.0.0.1:29613" << "--dist-timeout" << "3");
        QVERIFY(alone.code != 0);
        QVERIFY2(alone.err.contains("rank 0 of 2 could not meet the others at 127.0.0.1:29613 within 3 s"), qPrintable(alone.err));
        QVERIFY2(clock.elapsed() < 120000, "the timeout was not kept");
        QVERIFY2(!fs::exists(m_dir + "/alone"), "a run that never started leaves no folder");
    }

    void badLauncherOptionsAreRefused() {
        const Run both = cli(train(config(16), "both") << "--nproc" << "2" << "--rank" << "1");
        QVERIFY(both.code != 0);
        QVERIFY2(both.err.contains("--nproc starts every rank itself"), qPrintable(both.err));
        const Run rank = cli(train(config(16), "rank") << "--world-size" << "2" << "--rank" << "2");
        QVERIFY(rank.code != 0);
        QVERIFY2(rank.err.contains("--rank must be from 0 to 1, not 2"), qPrintable(rank.err));
        const Run master = cli(train(config(16), "master") << "--world-size" << "2" << "--master" << "127.0.0.1:notaport");
        QVERIFY(master.code != 0);
        QVERIFY2(master.err.contains("--master must be HOST:PORT"), qPrintable(master.err));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("WORLD_SIZE", "two");
        p.setProcessEnvironment(env);
        p.start(SOUL_CLI, train(config(16), "env"));
        QVERIFY(p.waitForFinished(120000));
        QVERIFY(p.exitCode() != 0);
        QVERIFY2(QString::fromUtf8(p.readAllStandardError()).contains("WORLD_SIZE must be a whole number, not 'two'"), "WORLD_SIZE");
        for (const char* out : {"both", "rank", "master", "env"}) QVERIFY2(!fs::exists(m_dir + "/" + out), out);
    }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"
