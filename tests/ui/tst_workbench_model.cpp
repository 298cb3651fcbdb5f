// The workbench's state without widgets or a display (WorkbenchModel): what a request asks the
// engine for (streams off, the comparison decoder, one sample per variant), results of older
// requests dropped, the columns each variant fills, the denoising frames, bad sampler settings
// refused with the setting named, and the view description and figures of what is on screen.
#include "WorkbenchModel.h"

#include "soul/error.h"
#include "soul/figure.h"

#include <QtTest>

#include <cmath>
#include <filesystem>
#include <limits>

using soului::WorkbenchModel;

namespace {

soul::RgbImage grey(uint8_t value, int64_t side = 64) {
    soul::RgbImage image;
    image.width = image.height = side;
    image.pixels.assign(static_cast<size_t>(side * side * 3), value);
    return image;
}

soul::Reconstruction reconstruction(int64_t row, uint8_t value, size_t samples = 1) {
    soul::Reconstruction r;
    r.trial = {soul::Split::Test, row};
    r.stimulus = grey(10);
    for (size_t k = 0; k < samples; ++k) r.samples.push_back(grey(static_cast<uint8_t>(value + k)));
    r.low_level = grey(30, 32);
    r.palette = grey(40, 8);   // edges left empty: a plugin may give none
    r.decoder = "SoulDiffuser";
    return r;
}

soul::DenoisePreview frame(int64_t step, int64_t steps) { return {0, step, steps, grey(static_cast<uint8_t>(step)), grey(static_cast<uint8_t>(100 + step))}; }

}  // namespace

class TestWorkbenchModel : public QObject {
    Q_OBJECT

    static WorkbenchModel opened() {
        WorkbenchModel m;
        m.openSession("models/phantom-small", "/data/phantom-prepared-64", {"early", "ventral-all", "dorsal"});
        return m;
    }

private Q_SLOTS:
    void aRequestNeedsATrial() {
        WorkbenchModel m = opened();
        QVERIFY(!m.nextRequest());
        m.setTrial({soul::Split::Test, 4});
        QVERIFY(m.nextRequest());
    }

    // Every stream on: the reconstruction with the samples asked for, then the comparison decoder
    // with one sample.
    void theComparisonDecoderIsTheOnlyVariantWithEveryStreamOn() {
        WorkbenchModel m = opened();
        m.setTrial({soul::Split::Test, 4});
        soul::SamplerSettings s;
        s.samples = 3;
        s.steps = 12;
        m.setSampler(s);
        const auto r = *m.nextRequest();
        QCOMPARE(r.trial.row, int64_t(4));
        QCOMPARE(r.settings.sampler.samples, int64_t(3));
        QCOMPARE(r.settings.decoder, std::string("souldiffuser"));
        QVERIFY(r.settings.ablate.empty());
        QCOMPARE(r.variants.size(), size_t(1));
        QCOMPARE(r.ablationVariant, -1);
        QCOMPARE(r.comparisonVariant, 0);
        QCOMPARE(r.variants[0].decoder, std::string("baseline"));
        QCOMPARE(r.variants[0].sampler.samples, int64_t(1));
        QCOMPARE(r.variants[0].sampler.steps, int64_t(12));
        m.setComparisonDecoder("linear");
        QCOMPARE(m.nextRequest()->variants[0].decoder, std::string("linear"));
    }

    // Streams off: in the engine's group order, only groups the dataset has, and the ablation
    // variant comes first.
    void streamsOffMakeTheAblationVariant() {
        WorkbenchModel m = opened();
        m.setTrial({soul::Split::Test, 0});
        m.setStreamOff("dorsal", true);
        m.setStreamOff("early", true);
        m.setStreamOff("lateral-all", true);   // this dataset has no lateral stream
        QCOMPARE(m.streamsOff(), (std::vector<std::string>{"early", "dorsal"}));
        const auto r = *m.nextRequest();
        QCOMPARE(r.variants.size(), size_t(2));
        QCOMPARE(r.ablationVariant, 0);
        QCOMPARE(r.comparisonVariant, 1);
        QCOMPARE(r.variants[0].ablate, (std::vector<std::string>{"early", "dorsal"}));
        QCOMPARE(r.variants[0].decoder, std::string("souldiffuser"));
        QVERIFY(r.settings.ablate.empty());   // the reconstruction itself keeps every stream
        m.setStreamOff("early", false);
        m.setStreamOff("dorsal", false);
        QVERIFY(m.streamsOff().empty());
    }

    void badSamplerSettingsAreRefusedAndChangeNothing() {
        WorkbenchModel m = opened();
        soul::SamplerSettings good;
        good.steps = 30;
        m.setSampler(good);
        soul::SamplerSettings bad = good;
        bad.cfg = std::numeric_limits<double>::quiet_NaN();
        try {
            m.setSampler(bad);
            QFAIL("a NaN guidance was accepted");
        } catch (const soul::Error& e) {
            QVERIFY2(std::string(e.what()).find("cfg") != std::string::npos, e.what());
        }
        bad = good;
        bad.samples = 17;
        QVERIFY_THROWS_EXCEPTION(soul::Error, m.setSampler(bad));
        QCOMPARE(m.sampler().steps, int64_t(30));
        QVERIFY(!std::isnan(m.sampler().cfg));
    }

    // The runner's results come tagged with their request: an older request's are dropped, each
    // variant fills its column, and the comparison is complete when all are in.
    void resultsOfOlderRequestsAreDropped() {
        WorkbenchModel m = opened();
        m.setTrial({soul::Split::Test, 2});
        m.setStreamOff("early", true);
        m.started(7, *m.nextRequest());
        QCOMPARE(m.current(), 7);
        QVERIFY(!m.acceptResult(6, reconstruction(1, 50)));
        QVERIFY(m.result().samples.empty());
        QVERIFY(m.acceptResult(7, reconstruction(2, 60)));
        QCOMPARE(m.result().samples[0].pixels[0], uint8_t(60));
        QVERIFY(!m.comparisonComplete());
        QVERIFY(m.acceptVariant(6, 0, reconstruction(1, 70)) == WorkbenchModel::Column::None);
        QVERIFY(m.acceptVariant(7, 0, reconstruction(2, 80)) == WorkbenchModel::Column::Ablation);
        QVERIFY(!m.comparisonComplete());
        QVERIFY(m.acceptVariant(7, 1, reconstruction(2, 90)) == WorkbenchModel::Column::Comparison);
        QVERIFY(m.comparisonComplete());
        QCOMPARE(m.ablation().samples[0].pixels[0], uint8_t(80));
        QCOMPARE(m.comparison().samples[0].pixels[0], uint8_t(90));
        // The next request has no stream off: the streams-off column empties at once; the
        // comparison stays on screen until its new one arrives.
        m.setStreamOff("early", false);
        m.started(8, *m.nextRequest());
        QVERIFY(m.ablation().samples.empty());
        QCOMPARE(m.comparison().samples[0].pixels[0], uint8_t(90));
        QVERIFY(!m.comparisonComplete());
    }

    void framesFollowTheCurrentRequest() {
        WorkbenchModel m = opened();
        m.setTrial({soul::Split::Test, 0});
        m.started(1, *m.nextRequest());
        for (int64_t step = 0; step < 5; ++step) QVERIFY(m.acceptPreview(1, frame(step, 5)));
        QCOMPARE(m.frames().size(), size_t(5));
        m.started(2, *m.nextRequest());
        QVERIFY(m.frames().empty());
        QVERIFY(!m.acceptPreview(1, frame(4, 5)));
        QVERIFY(m.acceptPreview(2, frame(0, 3)));
        QCOMPARE(m.frames().size(), size_t(1));
    }

    // The view description says what is on screen — run, data, trial, the settings that made it —
    // and survives its own file; the figures compose from what is on screen.
    void theViewDescriptionAndFiguresOfWhatIsOnScreen() {
        WorkbenchModel m = opened();
        QVERIFY_THROWS_EXCEPTION(soul::Error, m.viewDescription("comparison", 2));
        m.setTrial({soul::Split::Test, 9});
        soul::SamplerSettings s;
        s.samples = 2;
        s.seed = 5;
        m.setSampler(s);
        m.started(3, *m.nextRequest());
        for (int64_t step = 0; step < 4; ++step) m.acceptPreview(3, frame(step, 4));
        QVERIFY(m.acceptResult(3, reconstruction(9, 120, 2)));
        s.seed = 6;   // a later change that has not run yet is not what is on screen
        m.setSampler(s);
        const soul::ViewDescription view = m.viewDescription("comparison", 2);
        QCOMPARE(view.run, std::string("models/phantom-small"));
        QCOMPARE(view.data, std::string("/data/phantom-prepared-64"));
        QCOMPARE(view.trials.size(), size_t(1));
        QCOMPARE(view.trials[0].row, int64_t(9));
        QCOMPARE(view.settings.sampler.seed, uint64_t(5));
        QCOMPARE(view.settings.sampler.samples, int64_t(2));
        const std::string file = (std::filesystem::temp_directory_path() / "tst_workbench_model.view.json").string();
        soul::write_view_description(view, file);
        const soul::ViewDescription read = soul::read_view_description(file);
        std::filesystem::remove(file);
        QCOMPARE(read.settings.sampler.seed, uint64_t(5));
        QCOMPARE(read.settings.decoder, std::string("souldiffuser"));
        QCOMPARE(read.kind, std::string("comparison"));
        const soul::RgbImage comparison = m.figure("comparison", 1), strip = m.figure("denoising", 1);
        const soul::RgbImage expectedComparison = soul::compose_comparison({m.result()}, 1);
        QCOMPARE(comparison.width, expectedComparison.width);
        QVERIFY(comparison.pixels == expectedComparison.pixels);
        QVERIFY(strip.pixels == soul::compose_denoising(m.frames(), 1).pixels);
        QVERIFY(strip.width > strip.height);   // four steps side by side
        QVERIFY_THROWS_EXCEPTION(soul::Error, m.figure("dissociation", 1));   // made by the engine, not from the screen
    }

    // A new session forgets the trial and what was on screen, and keeps the sampler settings.
    void aNewSessionStartsClean() {
        WorkbenchModel m = opened();
        soul::SamplerSettings s;
        s.steps = 40;
        m.setSampler(s);
        m.setTrial({soul::Split::Test, 1});
        m.started(1, *m.nextRequest());
        m.acceptResult(1, reconstruction(1, 5));
        m.openSession("other-run", "other-data", {"early"});
        QVERIFY(!m.hasTrial());
        QVERIFY(m.result().samples.empty());
        QCOMPARE(m.sampler().steps, int64_t(40));
        QCOMPARE(m.run(), std::string("other-run"));
        // The studio re-opens with the same paths once the engine says which streams it has.
        m.openSession(m.run(), m.data(), {"early", "dorsal"});
        QCOMPARE(m.run(), std::string("other-run"));
        QCOMPARE(m.data(), std::string("other-data"));
    }
};

QTEST_GUILESS_MAIN(TestWorkbenchModel)
#include "tst_workbench_model.moc"
