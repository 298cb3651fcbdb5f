// From brain to image with the shipped model (models/phantom-small) on the default phantom subject:
// it loads and reconstructs held-out trials above set bars; a trial looks the same alone or in a
// batch; the stream contributions agree with the phantom's ground truth (colour and edges early,
// position dorsal, the caption ventral); `reconstruct` writes every file a user expects;
// `evaluate` writes its tables and figure; cancelling stops; bad input is refused with the file or
// setting named and nothing written.
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "soul/error.h"
#include "soul/phantom.h"
#include "soul/prepare.h"
#include "soul/reconstruct.h"
#include "soul/volume.h"

#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::string kModel = SOUL_MODEL_DIR;

// Pearson correlation of all pixel values of two images (PixCorr).
double pixcorr(const soul::RgbImage& a, const soul::RgbImage& b) {
    const size_t n = a.pixels.size();
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) {
        ma += a.pixels[i];
        mb += b.pixels[i];
    }
    ma /= static_cast<double>(n);
    mb /= static_cast<double>(n);
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; ++i) {
        const double x = a.pixels[i] - ma, y = b.pixels[i] - mb;
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    return ab / std::sqrt(std::max(aa * bb, 1e-12));
}

double pixel_sd(const soul::RgbImage& a) {
    double m = 0, s = 0;
    for (uint8_t p : a.pixels) m += p;
    m /= static_cast<double>(a.pixels.size());
    for (uint8_t p : a.pixels) s += (p - m) * (p - m);
    return std::sqrt(s / static_cast<double>(a.pixels.size()));
}

bool empty_folder(const std::string& path) { return !fs::exists(path) || fs::is_empty(path); }

}  // namespace

class TestReconstruct : public QObject {
    Q_OBJECT
    std::string m_dir, m_data;
    std::unique_ptr<soul::ReconstructionEngine> m_engine;

    template <typename F>
    void expectError(F&& f, const std::string& fragment) {
        try {
            f();
            QFAIL(("no error; expected one mentioning " + fragment).c_str());
        } catch (const soul::Error& e) {
            QVERIFY2(std::string(e.what()).find(fragment) != std::string::npos, e.what());
        }
    }

    // Reconstructs test trials 0–19 and checks they resemble their stimuli: mean PixCorr above
    // 0.3 and pixel 2-way identification above 0.8 (chance 0.5).
    void reconstructsAboveBars(const soul::ReconstructionSettings& s, const char* what) {
        std::vector<soul::TrialRef> trials;
        for (int64_t r = 0; r < 20; ++r) trials.push_back({soul::Split::Test, r});
        const auto results = m_engine->reconstruct(trials, s);
        QCOMPARE(results.size(), trials.size());
        double mean_r = 0;
        int64_t wins = 0, pairs = 0;
        for (size_t i = 0; i < results.size(); ++i) {
            const auto& r = results[i];
            QCOMPARE(r.samples.size(), size_t{1});
            QCOMPARE(r.samples[0].width, r.stimulus.width);
            QVERIFY2(pixel_sd(r.samples[0]) > 10, "a reconstruction is blank");
            QVERIFY(r.samples[0].pixels != r.stimulus.pixels);
            QVERIFY(!r.caption.empty());
            QCOMPARE(r.palette.width, int64_t{8});
            const double own = pixcorr(r.samples[0], r.stimulus);
            mean_r += own / static_cast<double>(results.size());
            for (size_t j = 0; j < results.size(); ++j)
                if (j != i) {
                    wins += own > pixcorr(r.samples[0], results[j].stimulus);
                    ++pairs;
                }
        }
        const double two_way = static_cast<double>(wins) / static_cast<double>(pairs);
        qInfo("%s, 20 test trials: PixCorr %.3f, pixel 2-way %.3f", what, mean_r, two_way);
        QVERIFY2(mean_r > 0.3, "reconstructions do not resemble the stimuli (mean PixCorr)");
        QVERIFY2(two_way > 0.8, "reconstructions do not identify their stimuli (pixel 2-way, chance 0.5)");
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = soultest::tempFolder("reconstruct");
        m_data = soultest::prepared_default_phantom(m_dir);   // as the shipped model's card says
        m_engine = std::make_unique<soul::ReconstructionEngine>(kModel, m_data, "cpu");
    }

    void shippedModelReconstructsAboveBars() {
        reconstructsAboveBars(soul::ReconstructionSettings{}, "shipped model");
    }

    // The studio's baseline column: the shipped model has no flattened MLP, so ridge regression
    // is fitted on the training rows and feeds the same generator.
    void theRidgeBaselineReconstructsAboveBars() {
        QCOMPARE(m_engine->baseline_name(), std::string("ridge regression"));
        soul::ReconstructionSettings s;
        s.decoder = "baseline";
        reconstructsAboveBars(s, "ridge baseline");
        const auto one = m_engine->reconstruct({{soul::Split::Test, 0}}, s);
        QCOMPARE(one[0].decoder, std::string("ridge regression"));
        QVERIFY(one[0].samples[0].pixels != m_engine->reconstruct({{soul::Split::Test, 0}}, {})[0].samples[0].pixels);
    }

    void aTrialIsTheSameAloneOrInABatch() {
        soul::ReconstructionSettings s;
        s.samples = 2;
        const auto batch = m_engine->reconstruct({{soul::Split::Test, 2}, {soul::Split::Test, 3}, {soul::Split::Test, 4}}, s);
        const auto alone = m_engine->reconstruct({{soul::Split::Test, 3}}, s);
        QCOMPARE(alone[0].caption, batch[1].caption);
        int worst = 0;
        for (size_t k = 0; k < 2; ++k)
            for (size_t p = 0; p < alone[0].samples[k].pixels.size(); ++p)
                worst = std::max(worst, std::abs(int(alone[0].samples[k].pixels[p]) - int(batch[1].samples[k].pixels[p])));
        QVERIFY2(worst <= 2, ("trial 3 alone differs from trial 3 in a batch by " + std::to_string(worst)).c_str());
        QVERIFY(alone[0].samples[0].pixels != alone[0].samples[1].pixels);   // two samples, two noises
        s.ablate = {"early"};
        const auto ablated = m_engine->reconstruct({{soul::Split::Test, 3}}, s);
        QVERIFY2(pixcorr(ablated[0].samples[0], alone[0].samples[0]) < 0.98, "setting the early stream to its mean changed nothing");
    }

    void contributionsAgreeWithPhantomGroundTruth() {
        constexpr int kTrials = 8;
        std::map<std::string, std::map<std::string, double>> share, ablation;
        soul::StreamContributions last;
        for (int r = 0; r < kTrials; ++r) {
            last = m_engine->contributions({soul::Split::Test, r}, soul::ReconstructionSettings{});
            for (const auto& [output, streams] : last.attribution)
                for (const auto& [stream, v] : streams) share[output][stream] += v / kTrials;
            for (const auto& [stream, outputs] : last.ablation)
                for (const auto& [output, v] : outputs) ablation[output][stream] += v / kTrials;
            for (const auto& [output, gap] : last.completeness)
                QVERIFY2(std::abs(gap.first - gap.second) <= 0.05 * std::abs(gap.first) + 1e-4,
                         ("integrated gradients are not complete for " + output).c_str());
        }
        for (const auto& [output, streams] : share)
            qInfo("%-16s early %.2f  ventral-all %.2f  lateral-all %.2f  dorsal %.2f", output.c_str(), streams.at("early"), streams.at("ventral-all"),
                  streams.at("lateral-all"), streams.at("dorsal"));
        // Colour and edges: early visual cortex (the phantom's pRFs over colour and edge energy).
        QVERIFY(share["palette"]["early"] > 0.5);
        QVERIFY(share["edges"]["early"] > 0.5);
        QVERIFY(ablation["palette"]["early"] > 3 * ablation["palette"]["ventral-all"]);
        // Position: the dorsal stream (the phantom's parietal voxels are tuned to object position).
        QVERIFY(share["position"]["dorsal"] > 0.4);
        QVERIFY(share["position"]["dorsal"] > 2 * share["position"]["ventral-all"]);
        QVERIFY(share["position"]["dorsal"] > 2 * share["position"]["early"]);
        QVERIFY(ablation["position"]["dorsal"] > 3 * std::max(ablation["position"]["early"], ablation["position"]["ventral-all"]));
        // The caption: SemBERT reads the ventral streams only, so nothing else may carry it.
        QVERIFY(share["caption"]["ventral-all"] > 0.999);
        QVERIFY(ablation["caption"]["ventral-all"] > 0.05);
        QVERIFY(std::abs(ablation["caption"]["dorsal"]) < 1e-6);

        // The attribution volume: the subject's original grid, non-zero only inside the mask.
        const std::string folder = m_dir + "/contributions";
        soul::write_contributions(last, folder);
        const soul::Volume v = soul::read_nifti(folder + "/attribution-position.nii.gz");
        const auto& manifest = m_engine->dataset().manifest();
        QCOMPARE(v.dims, manifest.source_dims);
        int64_t nonzero = 0;
        for (float x : v.voxels) nonzero += x != 0.0f;
        QVERIFY(nonzero > m_engine->dataset().voxels() / 2);
        QVERIFY(nonzero <= m_engine->dataset().voxels());
        const json j = json::parse(std::ifstream(folder + "/contributions.json"));
        QVERIFY(j.at("attribution_share").contains("position"));
        QVERIFY(fs::exists(folder + "/contributions.csv"));
    }

    void reconstructWritesEveryFile() {
        soul::ReconstructOptions o;
        o.run = kModel;
        o.data = m_data;
        o.out = m_dir + "/reconstruct";
        o.trials = "0,5-6";
        o.settings.steps = 8;
        o.settings.previews = true;
        const auto folders = soul::reconstruct_trials(o);
        QCOMPARE(folders.size(), size_t{3});
        const fs::path trial = fs::path(o.out) / "trial-test-0005";
        for (const char* file : {"reconstruction-0.png", "stimulus.png", "low-level.png", "palette.png", "edges.png", "caption.txt", "settings.json"})
            QVERIFY2(fs::exists(trial / file), file);
        const json settings = json::parse(std::ifstream(trial / "settings.json"));
        QCOMPARE(settings.at("steps").get<int>(), 8);
        QCOMPARE(settings.at("row").get<int>(), 5);
        QVERIFY(!settings.at("caption").get<std::string>().empty());
        int previews = 0;
        for (const auto& e : fs::directory_iterator(trial / "previews")) previews += e.path().filename().string().find("predicted") != std::string::npos;
        QCOMPARE(previews, 6);   // 8 steps at strength 0.75
    }

    void evaluateWritesTablesAndFigure() {
        soul::EvaluateOptions o;
        o.run = kModel;
        o.data = m_data;
        o.out = m_dir + "/evaluation";
        o.limit = 6;
        o.steps = 6;
        o.figure_rows = 3;
        const std::string md = soul::evaluate_reconstructions(o);
        for (const char* row : {"SoulDiffuser", "ridge regression", "no caption", "no img2img start", "dorsal voxels at training mean", "oracle"})
            QVERIFY2(md.find(row) != std::string::npos, row);
        const json j = json::parse(std::ifstream(o.out + "/report.json"));
        QVERIFY(j["rows"][0]["pixcorr"].get<double>() > 0.9999);   // the stimulus against itself
        QVERIFY(j.at("conditions").size() >= 2);
        const soul::RgbImage figure = soul::read_rgb_image(o.out + "/comparison.png");
        QCOMPARE(figure.height, int64_t{3 * 128 + 4 * 4});
        QVERIFY(fs::exists(o.out + "/report.csv"));
    }

    void cancellingStops() {
        soul::CancelToken token;
        soul::Progress progress;
        progress.cancel = &token;
        int reports = 0;
        progress.report = [&](int64_t, int64_t, const std::string&) {
            if (++reports == 2) token.cancel();
        };
        bool cancelled = false;
        try {
            m_engine->reconstruct({{soul::Split::Test, 0}}, soul::ReconstructionSettings{}, progress);
        } catch (const soul::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QVERIFY(reports <= 3);
    }

    void badInputIsRefused() {
        const std::string out = m_dir + "/refused";
        soul::ReconstructOptions o;
        o.run = kModel;
        o.data = m_data;
        o.out = out;
        auto run = [&](soul::ReconstructOptions options) { return [options] { soul::reconstruct_trials(options); }; };
        o.trials = "7-2";
        expectError(run(o), "7-2");
        o.trials = "abc";
        expectError(run(o), "abc");
        o.trials = "100";
        expectError(run(o), "row 100");
        o.trials = "0";
        o.settings.ablate = {"frontal"};
        expectError(run(o), "frontal");
        o.settings.ablate = {};
        o.settings.steps = 0;
        expectError(run(o), "--steps");
        o.settings.steps = 25;
        o.settings.decoder = "mlp";
        expectError(run(o), "--decoder");
        o.settings.decoder = "souldiffuser";
        // Another dataset: the same subject's first three sessions have other splits.
        soul::PrepareOptions one;
        one.nsd_root = m_dir + "/phantom";
        one.out = m_dir + "/prepared-three-sessions";
        one.image_size = 64;
        one.first_session = 1;
        one.last_session = 3;
        soul::prepare_dataset(one);
        o.data = one.out;
        expectError(run(o), "is not the dataset");
        o.data = m_data;
        // A damaged model: a truncated UNet, and a model without its UNet.
        const std::string broken = m_dir + "/broken-model";
        fs::copy(kModel, broken, fs::copy_options::recursive);
        fs::resize_file(broken + "/unet.pt", fs::file_size(broken + "/unet.pt") / 2);
        o.run = broken;
        expectError(run(o), "unet.pt");
        json info = json::parse(std::ifstream(broken + "/run.json"));
        info["stages"].erase("unet");
        std::ofstream(broken + "/run.json") << info.dump();
        expectError(run(o), "unet");
        o.run = m_dir + "/no-such-model";
        expectError(run(o), "no-such-model");
        QVERIFY2(empty_folder(out), "a refused reconstruction wrote files");
    }

    void cleanupTestCase() {
        m_engine.reset();
        fs::remove_all(m_dir);
    }
};

QTEST_GUILESS_MAIN(TestReconstruct)
#include "tst_reconstruct.moc"
