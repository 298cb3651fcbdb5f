// The reconstruction workbench under Xvfb, driven through the real window with the shipped model on
// the default phantom:
// - the session opens by default with no dialog; the trial browser lists and filters;
// - selecting a trial shows its stimulus, its betas in the brain views and a reconstruction
//   (pixels not blank, not the stimulus); the denoising timeline has one frame per step run;
// - side by side: the baseline column (ridge feeding the same generator), the streams-off column
//   filled in when a stream is switched off, several samples; a changed seed re-runs; the third
//   column takes any decoder, a decoder plugin too (the example plugin, trained by its script);
// - the browser filters by repeat count; the guided tour switches streams and tabs;
// - the stream contributions are charted (position mostly dorsal), shown in the views and beside
//   the phantom's ground truth, most of the evidence on the truly tuned voxels;
// - figures export at the asked size, and `souldiffuser export` remakes them headless from their
//   view description;
// - training from the studio: the loss plot gains points, Stop checkpoints within a step, Start
//   resumes to the end, the run's curves come back from its log, a bad config or log is named;
// - evaluating from the studio: the model's report is shown, Evaluate writes a new one with the
//   field's standard table (the metric networks folder is the remembered setting; absent networks
//   are named), the guided tour quotes the new report, Cancel leaves the report as it was, a bad
//   run is named;
// - a newer request cancels an older one; a missing model is reported, naming it.
#include "BrainView.h"
#include "MainWindow.h"
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "ReferenceOutputs.h"
#include "ReconstructionRunner.h"
#include "SliceView.h"
#include "StudioSession.h"
#include "TrainingPanel.h"
#include "EvaluationPanel.h"
#include "GuidedTour.h"
#include "TrialCatalog.h"
#include "TuningMaps.h"
#include "VolumeDocument.h"
#include "WorkbenchPanel.h"
#include "soul/figure.h"
#include "soul/phantom.h"
#include "soul/prepare.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QSlider>
#include <QSpinBox>
#include <QTabWidget>
#include <QTextBrowser>
#include <QDockWidget>
#include <QSettings>
#include <QStandardPaths>
#include <QDir>
#include <QtTest>
#include <qcustomplot.h>

#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace {

// Pearson correlation of two images' pixel values.
double correlation(const QImage& a, const QImage& b) {
    const QImage x = a.convertToFormat(QImage::Format_RGB888), y = b.convertToFormat(QImage::Format_RGB888).scaled(x.size());
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = 0;
    for (int r = 0; r < x.height(); ++r)
        for (int c = 0; c < x.width() * 3; ++c) {
            const double p = x.constScanLine(r)[c], q = y.constScanLine(r)[c];
            sx += p;
            sy += q;
            sxx += p * p;
            syy += q * q;
            sxy += p * q;
            ++n;
        }
    const double cov = sxy / n - sx / n * sy / n, vx = sxx / n - sx / n * sx / n, vy = syy / n - sy / n * sy / n;
    return cov / std::sqrt(std::max(vx * vy, 1e-12));
}

double spread(const QImage& image) {
    const QImage x = image.convertToFormat(QImage::Format_Grayscale8);
    double s = 0, ss = 0, n = 0;
    for (int r = 0; r < x.height(); ++r)
        for (int c = 0; c < x.width(); ++c) {
            const double v = x.constScanLine(r)[c];
            s += v;
            ss += v * v;
            ++n;
        }
    return std::sqrt(std::max(0.0, ss / n - (s / n) * (s / n)));
}

}  // namespace

class TestWorkbench : public QObject {
    Q_OBJECT
    std::string m_dir;
    std::unique_ptr<MainWindow> m_window;

    soului::WorkbenchPanel* workbench() { return m_window->workbench(); }

    // Lets a pending re-run start, waits until the engine is idle, and delivers its results.
    void settle() {
        QTest::qWait(400);   // longer than the workbench's re-run delay
        QTRY_VERIFY_WITH_TIMEOUT(!workbench()->runner()->busy(), 120000);
        QTest::qWait(50);
    }

    // Waits for the next reconstruction shown; false after `ms`.
    bool nextReconstruction(int ms = 60000) {
        QSignalSpy shown(workbench(), &soului::WorkbenchPanel::reconstructionShown);
        return shown.wait(ms);
    }

    // The Training tab's form for a tiny run of the embedding stage on the default phantom: a config
    // NAME.json with this batch size, written beside it, and the run folder OUT.
    bool fillTinyTraining(const QString& name, int batch, const QString& out) {
        const QString dir = QString::fromStdString(m_dir);
        QFile config(dir + "/" + name + ".json");
        if (!config.open(QIODevice::WriteOnly)) return false;
        config.write(QStringLiteral(R"({"name": "%1", "seed": 3, "image_size": 16, "embed_dim": 16, "batch_size": %2, "checkpoint_every": 1000,
                         "text_width": 16, "text_layers": 1, "embedding": {"epochs": 3, "lr": 0.003}})").arg(name).arg(batch).toUtf8());
        config.close();
        m_window->findChild<QLineEdit*>("trainData")->setText(dir + "/phantom-prepared-64");
        m_window->findChild<QLineEdit*>("trainConfig")->setText(dir + "/" + name + ".json");
        m_window->findChild<QLineEdit*>("trainOut")->setText(dir + "/" + out);
        m_window->findChild<QLineEdit*>("trainStages")->setText("embedding");
        return true;
    }

private Q_SLOTS:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);   // QSettings (the metric networks folder) away from the user's
        m_dir = soultest::tempFolder("workbench");
        soultest::prepared_default_phantom(m_dir);
        qputenv("SOUL_PHANTOM_DIR", QByteArray::fromStdString(m_dir + "/phantom"));
        qputenv("SOUL_MODEL_DIR", SOUL_MODEL_DIR);
        // The example decoder plugin, made as docs/decoder-plugins.md says, on the plugin path.
        const QString targets = QString::fromStdString(m_dir + "/targets"), plugins = QString::fromStdString(m_dir + "/plugins");
        for (const auto& [program, args] : {std::pair<QString, QStringList>{SOUL_CLI, {"export-targets", "--out", targets}},
                                            {SOUL_PYTHON, {SOUL_SOURCE_DIR "/plugins/linear-decoder/train.py", "--targets", targets, "--out", plugins + "/linear"}}}) {
            QProcess p;
            p.start(program, args);
            QVERIFY(p.waitForFinished(240000));
            QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        }
        qputenv("SOUL_PLUGIN_PATH", plugins.toUtf8());
        m_window = std::make_unique<MainWindow>();
        m_window->setErrorDialogsEnabled(false);
        m_window->resize(1500, 1150);
        m_window->show();
        QSignalSpy ready(workbench(), &soului::WorkbenchPanel::sessionReady);
        QVERIFY(m_window->openDefault());   // the default opens the session too: no dialog
        QVERIFY(ready.wait(60000));
        QCOMPARE(ready.first().at(0).toBool(), true);
    }

    void browserListsAndFilters() {
        auto* list = m_window->findChild<QListWidget*>("trialList");
        auto* search = m_window->findChild<QLineEdit*>("trialSearch");
        QVERIFY(list && search);
        QCOMPARE(list->count(), 100);   // the test trials
        QVERIFY(!list->item(0)->icon().isNull());
        search->setText("red dress");
        QVERIFY(list->count() > 0 && list->count() < 100);
        const auto matches = workbench()->catalog()->filter("red dress", true, soul::Split::Test);
        QCOMPARE(list->count(), static_cast<int>(matches.size()));
        for (size_t i : matches) {
            const auto& captions = workbench()->catalog()->entries()[i].captions;
            QVERIFY(captions.find("red") != std::string::npos && captions.find("dress") != std::string::npos);
        }
        search->clear();
        QCOMPARE(list->count(), 100);
    }

    void selectingATrialShowsItsReconstruction() {
        auto* list = m_window->findChild<QListWidget*>("trialList");
        QSignalSpy shown(workbench(), &soului::WorkbenchPanel::reconstructionShown);
        list->setCurrentRow(4);
        QVERIFY2(shown.wait(60000), qPrintable(m_window->findChild<QLabel*>("workbenchStatus")->text()));
        const QImage stimulus = m_window->findChild<QLabel*>("stimulusImage")->pixmap().toImage();
        const QImage reconstruction = m_window->findChild<QLabel*>("reconstructionImage")->pixmap().toImage();
        QVERIFY2(spread(stimulus) > 10, "the stimulus is blank");
        QVERIFY2(spread(reconstruction) > 10, "the reconstruction is blank");
        QVERIFY(correlation(stimulus, reconstruction) < 0.999);
        QVERIFY(!m_window->findChild<QLabel*>("captionLabel")->text().isEmpty());
        // The brain views show this trial's betas, with the streams still over them.
        QTRY_VERIFY_WITH_TIMEOUT(m_window->document()->volumePath().contains("trial-test-4"), 10000);   // right after the image
        QVERIFY(m_window->document()->hasLabels());
        // The timeline: one frame per step run (25 steps at strength 0.75 run 19), each decoded.
        auto* slider = m_window->findChild<QSlider*>("timelineSlider");
        QCOMPARE(static_cast<int>(workbench()->frames().size()), 19);
        QCOMPARE(slider->maximum(), 18);
        slider->setValue(0);
        const QImage first = m_window->findChild<QLabel*>("predictedImage")->pixmap().toImage();
        slider->setValue(18);
        const QImage last = m_window->findChild<QLabel*>("predictedImage")->pixmap().toImage();
        QVERIFY(!first.isNull() && !last.isNull());
        QVERIFY(first != last);
        QVERIFY(m_window->findChild<QLabel*>("timelineStep")->text().contains("19 of 19"));
    }

    void theBaselineColumnShowsRidgeFeedingTheSameGenerator() {
        QTRY_VERIFY_WITH_TIMEOUT(!workbench()->baselineImage().isNull(), 120000);   // the first one fits ridge
        settle();
        const QImage baseline = workbench()->baselineImage();
        QVERIFY2(spread(baseline) > 10, "the baseline is blank");
        QVERIFY(correlation(baseline, workbench()->reconstructionImage()) < 0.999);
        QVERIFY(m_window->findChild<QLabel*>("baselineTitle")->text().contains("ridge regression"));
        QVERIFY(!m_window->findChild<QLabel*>("baselineCaption")->text().isEmpty());
        QVERIFY(!m_window->findChild<QLabel*>("baselinePalette")->pixmap().isNull());
        QVERIFY(workbench()->ablationImage().isNull());   // no stream is off yet
    }

    // The third column's decoder is chosen among those that can read this run's betas: the
    // example plugin is there, and choosing it redraws the column from its conditions.
    void theThirdColumnTakesADecoderPlugin() {
        auto* compare = m_window->findChild<QComboBox*>("compareDecoder");
        QVERIFY(compare);
        QCOMPARE(compare->itemData(0).toString(), QString("baseline"));
        const int plugin = compare->findData("linear");
        QVERIFY2(plugin > 0, "the example plugin is not offered");
        QVERIFY(compare->itemText(plugin).contains("linear decoder (ridge)"));
        QVERIFY(compare->findData("ridge") > 0 && compare->findData("souldiffuser") < 0);
        const QImage ridge = workbench()->baselineImage();
        QSignalSpy compared(workbench(), &soului::WorkbenchPanel::comparisonShown);
        compare->setCurrentIndex(plugin);
        QVERIFY(compared.wait(60000));
        QVERIFY(m_window->findChild<QLabel*>("baselineTitle")->text().contains("compared:</b> linear decoder (ridge)"));
        QVERIFY2(spread(workbench()->baselineImage()) > 10, "the plugin's column is blank");
        QVERIFY(correlation(ridge, workbench()->baselineImage()) < 0.999);
        QVERIFY(m_window->findChild<QLabel*>("baselineEdges")->pixmap().isNull());   // the plugin gives no edge map
        compare->setCurrentIndex(0);
        QVERIFY(compared.wait(60000));
        QVERIFY(m_window->findChild<QLabel*>("baselineTitle")->text().contains("baseline:</b> ridge regression"));
    }

    void switchingAStreamOffFillsTheStreamsOffColumn() {
        const QImage before = workbench()->reconstructionImage();
        auto* early = m_window->findChild<QCheckBox*>("streamToggle-early");
        QVERIFY(early && early->isEnabled());
        QSignalSpy compared(workbench(), &soului::WorkbenchPanel::comparisonShown);
        early->setChecked(false);
        QVERIFY(compared.wait(60000));
        QCOMPARE(workbench()->streamsOff(), std::vector<std::string>{"early"});
        QVERIFY(correlation(before, workbench()->reconstructionImage()) > 0.999);   // all streams on there
        QVERIFY2(correlation(before, workbench()->ablationImage()) < 0.98, "switching the early stream off changed nothing");
        QVERIFY(m_window->findChild<QLabel*>("ablationTitle")->text().contains("early"));
        QVERIFY(!m_window->findChild<QLabel*>("ablationCaption")->text().isEmpty());
        const QImage palette = m_window->findChild<QLabel*>("ablationPalette")->pixmap().toImage();
        QVERIFY(correlation(palette, m_window->findChild<QLabel*>("paletteImage")->pixmap().toImage()) < 0.98);
        early->setChecked(true);
        QVERIFY(compared.wait(60000));
        QVERIFY(workbench()->ablationImage().isNull());
        QVERIFY(m_window->findChild<QLabel*>("ablationImage")->pixmap().isNull());
        m_window->findChild<QSpinBox*>("seedSpin")->setValue(7);
        QVERIFY(nextReconstruction());
        QVERIFY(correlation(before, workbench()->reconstructionImage()) < 0.999);
    }

    void severalSamplesSideBySide() {
        auto* samples = m_window->findChild<QSpinBox*>("samplesSpin");
        samples->setValue(3);
        QVERIFY(nextReconstruction());
        const std::vector<QImage> shown = workbench()->sampleImages();
        QCOMPARE(static_cast<int>(shown.size()), 3);
        QVERIFY(m_window->findChild<QLabel*>("sampleImage-2")->isVisible());
        QVERIFY(!m_window->findChild<QLabel*>("sampleImage-3")->isVisible());
        for (const QImage& sample : shown) QVERIFY(spread(sample) > 10);
        QVERIFY(correlation(shown[0], shown[1]) < 0.999 && correlation(shown[1], shown[2]) < 0.999);
        samples->setValue(1);
        QVERIFY(nextReconstruction());
        settle();
        QVERIFY(workbench()->sampleImages().empty());
        QVERIFY(!m_window->findChild<QLabel*>("sampleImage-0")->isVisible());
    }

    void theBrowserFiltersByRepeatCount() {
        auto* repeats = m_window->findChild<QSpinBox*>("trialRepeats");
        auto* list = m_window->findChild<QListWidget*>("trialList");
        auto* split = m_window->findChild<QComboBox*>("trialSplit");
        split->setCurrentIndex(2);   // test and training trials: the training rows are single presentations
        const int all = list->count();
        QVERIFY(all > 100);
        QVERIFY(repeats->maximum() > 1);
        repeats->setValue(repeats->maximum());
        const auto matches = workbench()->catalog()->filter("", false, soul::Split::Test, repeats->maximum());
        QVERIFY(!matches.empty() && static_cast<int>(matches.size()) < all);
        QCOMPARE(list->count(), static_cast<int>(matches.size()));
        for (size_t i : matches) QVERIFY(workbench()->catalog()->entries()[i].repeats >= repeats->maximum());
        repeats->setValue(0);
        QCOMPARE(list->count(), all);
        split->setCurrentIndex(0);
    }

    void theGuidedTourSwitchesStreamsAndTabs() {
        auto* next = m_window->findChild<QPushButton*>("tourNext");
        auto* back = m_window->findChild<QPushButton*>("tourBack");
        auto* text = m_window->findChild<QTextBrowser*>("tourText");
        auto* tabs = m_window->findChild<QTabWidget*>("workbenchTabs");
        QVERIFY(next && back && text && tabs);
        QCOMPARE(workbench()->tourStep(), 0);
        QVERIFY(!back->isEnabled());
        QTest::mouseClick(next, Qt::LeftButton);
        QCOMPARE(tabs->currentIndex(), 0);   // the denoising tab
        settle();
        QVERIFY(workbench()->ablationImage().isNull());
        QTest::mouseClick(next, Qt::LeftButton);
        QVERIFY(text->toPlainText().contains("early"));
        QVERIFY(!m_window->findChild<QCheckBox*>("streamToggle-early")->isChecked());
        // The page quotes the loaded model's measured dissociation (its evaluation report).
        QVERIFY2(text->toPlainText().contains("Measured for this model") && text->toPlainText().contains("early off"),
                 qPrintable(text->toPlainText()));
        QVERIFY(text->toPlainText().contains("the phantom predicts"));
        QTRY_VERIFY_WITH_TIMEOUT(!workbench()->ablationImage().isNull(), 60000);
        QVERIFY(correlation(workbench()->ablationImage(), workbench()->reconstructionImage()) < 0.98);
        QTest::mouseClick(next, Qt::LeftButton);
        QTest::mouseClick(next, Qt::LeftButton);
        QCOMPARE(workbench()->streamsOff(), std::vector<std::string>{"dorsal"});
        QCOMPARE(tabs->currentIndex(), 1);   // the contributions tab
        while (back->isEnabled()) QTest::mouseClick(back, Qt::LeftButton);
        QVERIFY(workbench()->streamsOff().empty());
        settle();
        QVERIFY(workbench()->ablationImage().isNull());
    }

    void contributionsAreChartedAndShownInTheViews() {
        // Computing shows a progress bar with Cancel; Cancel stops it and nothing is shown.
        auto* compute = m_window->findChild<QPushButton*>("contributionsButton");
        auto* progressBar = m_window->findChild<QProgressBar*>("contributionsProgress");
        auto* cancel = m_window->findChild<QPushButton*>("contributionsCancel");
        QVERIFY(progressBar && cancel && progressBar->isHidden());
        QSignalSpy cancelled(workbench()->runner(), &soului::ReconstructionRunner::cancelled);
        QTest::mouseClick(compute, Qt::LeftButton);
        QVERIFY(!progressBar->isHidden() && !cancel->isHidden() && !compute->isEnabled());
        QTest::mouseClick(cancel, Qt::LeftButton);
        // The job is cancelled at its next check, which on a busy machine (CI runs this suite beside
        // the LibTorch 2.x compile check) can follow a job still ending in the pool: a condition
        // with headroom, not a bound on the time.
        QTRY_VERIFY2_WITH_TIMEOUT(cancelled.count() > 0, qPrintable(m_window->findChild<QLabel*>("workbenchStatus")->text()), 300000);
        QTRY_VERIFY(progressBar->isHidden());
        QVERIFY(compute->isEnabled());
        QVERIFY(workbench()->contributions().attribution.empty());
        QVERIFY(m_window->findChild<QLabel*>("workbenchStatus")->text().contains("cancelled"));

        // Computed: the bar moves through the ablation's steps and each output's attribution.
        QSignalSpy steps(workbench()->runner(), &soului::ReconstructionRunner::contributionsProgress);
        QSignalSpy shown(workbench(), &soului::WorkbenchPanel::contributionsShown);
        QTest::mouseClick(compute, Qt::LeftButton);
        QVERIFY(shown.wait(180000));
        QVERIFY2(steps.size() > 5, qPrintable(QString("%1 progress reports").arg(steps.size())));
        QCOMPARE(steps.last().at(1).toInt(), steps.last().at(2).toInt());   // the last is "done"
        QVERIFY(progressBar->isHidden());
        auto* output = m_window->findChild<QComboBox*>("contributionOutput");
        QVERIFY(output->findText("position") >= 0);
        output->setCurrentIndex(output->findText("position"));
        // The share chart: one bar per group, the dorsal one the tallest (the phantom's truth).
        auto* chart = m_window->findChild<QCustomPlot*>("contributionChart");
        auto* bars = qobject_cast<QCPBars*>(chart->plottable(0));
        QCOMPARE(bars->data()->size(), 4);
        double dorsal = 0, tallestOther = 0;   // groups: early, ventral-all, lateral-all, dorsal
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) {
            if (it->key == 3) dorsal = it->value;
            else tallestOther = std::max(tallestOther, it->value);
        }
        QVERIFY2(dorsal > tallestOther, "position evidence is not mostly dorsal");
        // The views show the attribution volume as the top overlay over the trial's betas, selected
        // so that the 3D view paints it, the streams still over it.
        soului::VolumeDocument* d = m_window->document();
        QTRY_VERIFY_WITH_TIMEOUT(d->layerCount() >= 2 && d->layerName(d->layerCount() - 1) == "attribution-position", 10000);
        QVERIFY(d->volumePath().startsWith("trial-"));
        QCOMPARE(d->selectedLayer(), d->layerCount() - 1);
        QVERIFY(d->hasLabels());
        const soului::LayerDisplay& attribution = d->layerDisplay(d->selectedLayer());
        QVERIFY(attribution.windowLow < 0 && attribution.windowHigh > 0);
        QCOMPARE(attribution.unit, QString("attribution"));
        // Another output replaces it rather than stacking a second attribution.
        output->setCurrentIndex(output->findText("palette"));
        QTRY_VERIFY_WITH_TIMEOUT(d->layerName(d->layerCount() - 1) == "attribution-palette", 10000);
        for (int layer = 1; layer < d->layerCount() - 1; ++layer) QVERIFY(!d->layerName(layer).startsWith("attribution-"));
        output->setCurrentIndex(output->findText("position"));
        QTRY_VERIFY_WITH_TIMEOUT(d->layerName(d->layerCount() - 1) == "attribution-position", 10000);
        // The phantom's ground truth as an overlay above it: the position-tuned voxels, 1 on 0.
        auto* truthButton = m_window->findChild<QPushButton*>("truthOverlayButton");
        QVERIFY(truthButton && truthButton->isEnabled());
        QTest::mouseClick(truthButton, Qt::LeftButton);
        QCOMPARE(d->layerName(d->layerCount() - 1), QString("truth-position"));
        const soul::Volume& truthShown = d->layerVolume(d->layerCount() - 1);
        const double tuned = std::count(truthShown.voxels.begin(), truthShown.voxels.end(), 1.0f);
        QVERIFY(tuned > 10 && std::count(truthShown.voxels.begin(), truthShown.voxels.end(), 0.0f) + tuned == double(truthShown.voxels.size()));
        QVERIFY(d->layerDisplay(d->layerCount() - 1).thresholdOn() && d->layerDisplay(d->layerCount() - 1).threshold < 1);
        d->removeLayer(d->layerCount() - 1);
        // Beside it, the phantom's ground truth: the learned evidence falls on the voxels tuned to
        // what the output carries, well above their share of the visual voxels.
        const soului::TuningMaps* truth = workbench()->tuningMaps();
        QVERIFY(truth);
        QVERIFY(!m_window->findChild<QLabel*>("truthMap")->pixmap().isNull());
        QVERIFY(!m_window->findChild<QLabel*>("attributionMap")->pixmap().isNull());
        QVERIFY(m_window->findChild<QLabel*>("truthShare")->text().contains("position-tuned"));
        for (const char* name : {"position", "palette", "edges"}) {
            const auto [inside, base] = truth->share(name, workbench()->contributions().volumes.at(name));
            qInfo("%s: %.2f of the attribution on the tuned voxels, which are %.2f of the visual voxels", name, inside, base);
            QVERIFY2(inside > base + 0.1, name);
        }
    }

    // A session of a trial with its attribution overlay, reopened in a fresh window (no volume
    // open yet): the model and trial come back in the background, then the underlay, labels, the
    // attribution (written beside the session) and the camera go over the trial's betas.
    void aTrialSessionReopensInAFreshWindow() {
        const QString file = QString::fromStdString(m_dir) + "/trial-session.json";
        soului::VolumeDocument* d = m_window->document();
        QVERIFY(d->layerCount() == 2 && d->hasUnderlay() && d->hasLabels());
        QVERIFY(m_window->saveSessionFile(file));
        QVERIFY(QFileInfo::exists(QString::fromStdString(m_dir) + "/trial-session-overlays/attribution-position.nii.gz"));
        const QImage axial = m_window->sliceView(0)->sliceImage();
        const soului::CameraPose camera = m_window->brainView()->camera();

        MainWindow fresh;
        fresh.setErrorDialogsEnabled(false);
        fresh.resize(m_window->size());
        fresh.show();
        QVERIFY(QTest::qWaitForWindowExposed(&fresh));
        QVERIFY(!fresh.document()->hasVolume());
        QVERIFY2(fresh.openSessionFile(file), qPrintable(fresh.lastError()));
        soului::VolumeDocument* again = fresh.document();
        QTRY_VERIFY_WITH_TIMEOUT(again->layerCount() == 2, 180000);
        QVERIFY(again->volumePath().startsWith("trial-test-"));
        QCOMPARE(again->layerName(1), QString("attribution-position"));
        QCOMPARE(again->underlayPath(), d->underlayPath());
        QVERIFY(again->hasLabels());
        QCOMPARE(fresh.sliceView(0)->sliceImage(), axial);
        const soului::CameraPose reopened = fresh.brainView()->camera();
        for (int i = 0; i < 3; ++i) QVERIFY(std::abs(reopened.position[i] - camera.position[i]) < 1e-6);
        fresh.workbench()->runner()->waitForIdle();
    }

    void figuresExportAndReproduceHeadless() {
        const QString dir = QString::fromStdString(m_dir);
        QString error;
        QVERIFY2(workbench()->exportFigure("comparison", dir + "/comparison.png", 2, &error), qPrintable(error));
        const QImage figure(dir + "/comparison.png");
        // One row, five cells of 128 px × 2 with 6 px × 2 gaps.
        QCOMPARE(figure.size(), QSize(5 * 256 + 6 * 12, 256 + 2 * 12));
        QVERIFY(QFile::exists(dir + "/comparison.png.view.json"));
        // `souldiffuser export` makes the same figure headless from the view description.
        soul::export_figure(soul::read_view_description((dir + "/comparison.png.view.json").toStdString()), (dir + "/again.png").toStdString());
        QVERIFY(QImage(dir + "/again.png") == figure);
        QVERIFY2(workbench()->exportFigure("denoising", dir + "/denoising.png", 1, &error), qPrintable(error));
        QCOMPARE(QImage(dir + "/denoising.png").width(), 19 * 128 + 20 * 6);
        QVERIFY2(workbench()->exportFigure("chart", dir + "/chart.pdf", 1, &error), qPrintable(error));
        QVERIFY(QFileInfo(dir + "/chart.pdf").size() > 1000);
        QVERIFY2(workbench()->exportFigure("chart", dir + "/chart.png", 3, &error), qPrintable(error));
        QCOMPARE(QImage(dir + "/chart.png").width(), 3 * m_window->findChild<QCustomPlot*>("contributionChart")->width());
        // The dissociation: the trial on screen with each pathway off, and again headless.
        QVERIFY2(workbench()->exportFigure("dissociation", dir + "/dissociation.png", 1, &error), qPrintable(error));
        const QImage dissociation(dir + "/dissociation.png");
        QCOMPARE(dissociation.size(), QSize(7 * 128 + 8 * 6, 128 + 2 * 6));   // stimulus, all streams, 5 pathways off
        const auto cell = [&](int column) { return dissociation.copy(6 + column * (128 + 6), 6, 128, 128); };
        QVERIFY2(correlation(cell(1), cell(2)) < 0.98, "early off looks like all streams on");
        QVERIFY2(correlation(cell(1), cell(0)) > correlation(cell(2), cell(0)), "early off is closer to the stimulus than all streams");
        QCOMPARE(soul::read_view_description((dir + "/dissociation.png.view.json").toStdString()).kind, std::string("dissociation"));
        soul::export_figure(soul::read_view_description((dir + "/dissociation.png.view.json").toStdString()), (dir + "/dissociation-again.png").toStdString());
        QVERIFY(QImage(dir + "/dissociation-again.png") == dissociation);
        QVERIFY(!workbench()->exportFigure("comparison", dir + "/big.png", 5, &error));
        QVERIFY(error.contains("1 to 4"));
        QVERIFY(!workbench()->exportFigure("comparison", dir + "/no-such-folder/x.png", 1, &error));
        QVERIFY2(error.contains("no-such-folder"), qPrintable(error));
    }

    void trainingFromTheStudioPlotsStopsAndResumes() {
        const QString dir = QString::fromStdString(m_dir);
        QVERIFY(fillTinyTraining("tiny", 32, "run"));
        soului::TrainingPanel* training = m_window->training();
        QSignalSpy ended(training, &soului::TrainingPanel::trainingEnded);
        QTest::mouseClick(m_window->findChild<QPushButton*>("trainStart"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(training->plottedPoints() >= 10, 120000);   // the loss curve grows live
        QElapsedTimer stopping;
        stopping.start();
        QTest::mouseClick(m_window->findChild<QPushButton*>("trainStop"), Qt::LeftButton);
        QVERIFY(ended.wait(30000));
        qInfo("stop took %lld ms", static_cast<long long>(stopping.elapsed()));
        QVERIFY2(stopping.elapsed() < 5000, "stopping did not end within a step");
        QCOMPARE(ended.last().at(1).toBool(), true);   // cancelled, resumable
        QVERIFY(QFile::exists(dir + "/run/embedding.pt"));
        QVERIFY(m_window->findChild<QCheckBox*>("trainResume")->isChecked());
        const int before = training->plottedPoints();
        QTest::mouseClick(m_window->findChild<QPushButton*>("trainStart"), Qt::LeftButton);
        QVERIFY(ended.wait(300000));
        QCOMPARE(ended.last().at(0).toBool(), true);
        QVERIFY(training->plottedPoints() > before);
        QFile runJson(dir + "/run/run.json");
        QVERIFY(runJson.open(QIODevice::ReadOnly));
        QVERIFY(runJson.readAll().contains("\"done\": true"));
        // A finished run's curves come back from its metrics.jsonl, one point per step logged.
        QFile log(dir + "/run/metrics.jsonl");
        QVERIFY(log.open(QIODevice::ReadOnly));
        const int logged = static_cast<int>(log.readAll().count('\n'));
        QVERIFY(training->showRun(dir + "/run"));
        QCOMPARE(training->plottedPoints(), logged);
        QFile broken(dir + "/broken/metrics.jsonl");
        QVERIFY(QDir().mkpath(dir + "/broken") && broken.open(QIODevice::WriteOnly));
        broken.write("{\"stage\": \"embedding\", \"step\": 1, \"loss\": 2.5}\nnot json\n");
        broken.close();
        QVERIFY(!training->showRun(dir + "/broken"));
        QVERIFY(m_window->findChild<QLabel*>("trainStatus")->text().contains("line 2"));
        QCOMPARE(training->plottedPoints(), logged);   // the curves on screen are kept
        // A bad config is reported, naming it.
        m_window->findChild<QCheckBox*>("trainResume")->setChecked(false);
        m_window->findChild<QLineEdit*>("trainConfig")->setText(dir + "/no-such-config.json");
        m_window->findChild<QLineEdit*>("trainOut")->setText(dir + "/run2");
        QTest::mouseClick(m_window->findChild<QPushButton*>("trainStart"), Qt::LeftButton);
        QVERIFY(ended.wait(30000));
        QVERIFY2(ended.last().at(2).toString().contains("no-such-config.json"), qPrintable(ended.last().at(2).toString()));
    }

    void trainingOnTwoProcessesShowsEveryRank() {
        // The same tiny run as above on two data-parallel ranks (souldiffuser train --nproc 2).
        const QString dir = QString::fromStdString(m_dir);
        m_window->findChild<QCheckBox*>("trainResume")->setChecked(false);
        QVERIFY(fillTinyTraining("tiny2", 16, "run-2ranks"));
        soului::TrainingPanel* training = m_window->training();
        training->processes().setProgram(SOUL_CLI);
        m_window->findChild<QSpinBox*>("trainProcesses")->setValue(2);
        QSignalSpy ended(training, &soului::TrainingPanel::trainingEnded);
        QTest::mouseClick(m_window->findChild<QPushButton*>("trainStart"), Qt::LeftButton);
        auto* rank0 = m_window->findChild<QProgressBar*>("trainRank0");
        auto* rank1 = m_window->findChild<QProgressBar*>("trainRank1");
        QVERIFY(rank0 && rank1);
        // Both ranks report steps; rank 0's log grows the curve; Stop reaches both ranks, which
        // agree on it and checkpoint.
        QTRY_VERIFY_WITH_TIMEOUT(training->plottedPoints() >= 5 && rank1->value() > 0, 240000);
        QTest::mouseClick(m_window->findChild<QPushButton*>("trainStop"), Qt::LeftButton);
        QVERIFY(ended.wait(120000));
        QVERIFY2(ended.last().at(1).toBool(), qPrintable(ended.last().at(2).toString()));   // cancelled, resumable
        QVERIFY(QFile::exists(dir + "/run-2ranks/embedding.pt"));
        QVERIFY(m_window->findChild<QCheckBox*>("trainResume")->isChecked());
        QTest::mouseClick(m_window->findChild<QPushButton*>("trainStart"), Qt::LeftButton);
        QVERIFY(ended.wait(300000));
        QVERIFY2(ended.last().at(0).toBool(), qPrintable(ended.last().at(2).toString()));
        rank0 = m_window->findChild<QProgressBar*>("trainRank0");   // a new run shows new bars
        rank1 = m_window->findChild<QProgressBar*>("trainRank1");
        QVERIFY(rank0 && rank1);
        QCOMPARE(rank0->value(), rank0->maximum());
        QCOMPARE(rank1->value(), rank1->maximum());
        QVERIFY(rank1->maximum() > 1);
        QFile runJson(dir + "/run-2ranks/run.json");
        QVERIFY(runJson.open(QIODevice::ReadOnly));
        QVERIFY(runJson.readAll().contains("\"done\": true"));
        QFile log(dir + "/run-2ranks/metrics.jsonl");
        QVERIFY(log.open(QIODevice::ReadOnly));
        QVERIFY(training->plottedPoints() >= static_cast<int>(log.readAll().count('\n')));
        m_window->findChild<QSpinBox*>("trainProcesses")->setValue(1);
    }

    void evaluatingFromTheStudioShowsTheStandardTable() {
        soului::EvaluationPanel* evaluation = m_window->evaluation();
        // The model in view and its shipped report.
        QCOMPARE(QFileInfo(m_window->findChild<QLineEdit*>("evalRun")->text()).canonicalFilePath(), QFileInfo(SOUL_MODEL_DIR).canonicalFilePath());
        QVERIFY(!m_window->findChild<QLineEdit*>("evalData")->text().isEmpty());   // the session's dataset
        QVERIFY(evaluation->reportMarkdown().contains("SoulDiffuser"));
        const QString dir = QString::fromStdString(m_dir), out = dir + "/evaluation", nets = dir + "/metric-nets";
        QVERIFY(QDir().mkpath(nets));
        m_window->findChild<QLineEdit*>("evalOut")->setText(out);
        m_window->findChild<QLineEdit*>("evalMetricNets")->setText(nets);
        m_window->findChild<QSpinBox*>("evalLimit")->setValue(4);
        QSignalSpy ended(evaluation, &soului::EvaluationPanel::evaluationEnded);
        QTest::mouseClick(m_window->findChild<QPushButton*>("evalStart"), Qt::LeftButton);
        QVERIFY(ended.wait(500000));
        QVERIFY2(ended.last().at(0).toBool(), qPrintable(ended.last().at(2).toString()));
        QCOMPARE(ended.last().at(3).toString(), out);
        QCOMPARE(QSettings().value(soului::EvaluationPanel::kMetricNetsSetting).toString(), nets);
        const QString md = evaluation->reportMarkdown();
        QVERIFY2(md.contains("## The field's standard table"), qPrintable(md));
        QVERIFY2(md.contains("alexnet-owt-7be5be79.pth not in " + nets), qPrintable(md));   // the setting reached the engine
        QVERIFY2(md.contains("No published row compares with this split"), qPrintable(md));
        // Rendered: the table's text is in the browser and its pixels are not blank.
        auto* browser = m_window->findChild<QTextBrowser*>("evalReport");
        QVERIFY(browser->toPlainText().contains("PixCorr"));
        m_window->findChild<QDockWidget*>("evaluationDock")->raise();
        QTRY_VERIFY(browser->isVisible());
        const QImage shot = browser->viewport()->grab().toImage();
        QSet<QRgb> colours;
        for (int y = 0; y < shot.height(); y += 3)
            for (int x = 0; x < shot.width(); x += 3) colours.insert(shot.pixel(x, y));
        QVERIFY2(colours.size() > 2, "the report is blank");
        // The guided tour quotes the new report (4 test images) on a page with a stream off.
        const auto& tour = soului::guidedTour();
        const auto page = std::find_if(tour.begin(), tour.end(), [](const soului::TourStep& step) { return !step.streamsOff.empty(); });
        QVERIFY(page != tour.end());
        workbench()->showTourStep(static_cast<int>(page - tour.begin()));
        const QString quoted = m_window->findChild<QTextBrowser*>("tourText")->toPlainText();
        QVERIFY2(quoted.contains("souldiffuser evaluate, 4 test images"), qPrintable(quoted));
        settle();
        workbench()->showTourStep(0);
        settle();
        // Cancel: the report folder is left as it was.
        QFile report(out + "/report.md");
        QVERIFY(report.open(QIODevice::ReadOnly));
        const QByteArray before = report.readAll();
        report.close();
        QTest::mouseClick(m_window->findChild<QPushButton*>("evalStart"), Qt::LeftButton);
        QTest::mouseClick(m_window->findChild<QPushButton*>("evalCancel"), Qt::LeftButton);
        QVERIFY(ended.wait(120000));
        QCOMPARE(ended.last().at(1).toBool(), true);
        QVERIFY(report.open(QIODevice::ReadOnly));
        QCOMPARE(report.readAll(), before);
        // A run that is not there is named.
        m_window->findChild<QLineEdit*>("evalRun")->setText(dir + "/no-such-run");
        QTest::mouseClick(m_window->findChild<QPushButton*>("evalStart"), Qt::LeftButton);
        QVERIFY(ended.wait(60000));
        QCOMPARE(ended.last().at(0).toBool(), false);
        QVERIFY2(ended.last().at(2).toString().contains("no-such-run"), qPrintable(ended.last().at(2).toString()));
        QVERIFY(m_window->findChild<QLabel*>("evalStatus")->text().contains("no-such-run"));
        m_window->findChild<QDockWidget*>("workbenchDock")->raise();
    }

    // The user's Stable Diffusion (a tiny one, as tests/core/stable_diffusion_reference.py writes
    // it) chosen in the Generator box draws the trial in view, at its own size; a folder that is
    // not one is reported and the generator in use stays; the run's own comes back on request.
    void stableDiffusionDrawsTheReconstructions() {
        const QString failed =
            soultest::referenceOutputs(SOUL_PYTHON, SOUL_SOURCE_DIR, soultest::kTinyStableDiffusion, QString::fromStdString(m_dir + "/sd-fixture"));
        QVERIFY2(failed.isEmpty(), qPrintable(failed));
        auto* title = m_window->findChild<QLabel*>("generatorTitle");
        QVERIFY(title && m_window->findChild<QPushButton*>("chooseGenerator"));
        const QString own = title->text();
        QVERIFY2(!own.contains("Stable Diffusion"), qPrintable(own));
        m_window->findChild<QListWidget*>("trialList")->setCurrentRow(6);
        settle();

        QSignalSpy changed(workbench(), &soului::WorkbenchPanel::generatorChanged);
        soul::StableDiffusionOptions bad;
        bad.path = m_dir + "/no-such-sd";
        workbench()->useGenerator(bad);
        QVERIFY(changed.wait(60000));
        QCOMPARE(changed.last().at(0).toBool(), false);
        QVERIFY2(changed.last().at(1).toString().contains("no-such-sd"), qPrintable(changed.last().at(1).toString()));
        QCOMPARE(title->text(), own);

        constexpr int kSide = 32;   // the tiny autoencoder's downscale is 4
        soul::StableDiffusionOptions sd;
        sd.path = m_dir + "/sd-fixture/sd";
        sd.size = kSide;
        QSignalSpy shown(workbench(), &soului::WorkbenchPanel::reconstructionShown);
        workbench()->useGenerator(sd);
        QVERIFY(changed.wait(120000));
        QVERIFY2(changed.last().at(0).toBool(), qPrintable(changed.last().at(1).toString()));
        QVERIFY2(title->text().contains("Stable Diffusion"), qPrintable(title->text()));
        QVERIFY(shown.wait(120000));   // the trial in view, drawn again
        const soul::Reconstruction& drawn = workbench()->model().result();
        QCOMPARE(drawn.samples.front().width, int64_t(kSide));
        QCOMPARE(drawn.stimulus.width, int64_t(kSide));
        QVERIFY2(spread(workbench()->reconstructionImage()) > 10, "the reconstruction is blank");
        QVERIFY(!m_window->findChild<QLabel*>("captionLabel")->text().isEmpty());

        workbench()->useGenerator({});
        QVERIFY(changed.wait(60000));
        QVERIFY(changed.last().at(0).toBool());
        QCOMPARE(title->text(), own);
        QVERIFY(shown.wait(120000));
        QVERIFY(workbench()->model().result().samples.front().width != int64_t(kSide));
        settle();
    }

    void aNewRequestCancelsTheOld() {
        soului::ReconstructionRunner* runner = workbench()->runner();
        QSignalSpy finished(runner, &soului::ReconstructionRunner::finished);
        const int first = runner->request({soul::Split::Test, 1}, soul::ReconstructionSettings{});
        const int second = runner->request({soul::Split::Test, 2}, soul::ReconstructionSettings{});
        QVERIFY(finished.wait(60000));
        runner->waitForIdle();
        QCoreApplication::processEvents();
        QCOMPARE(finished.last().at(0).toInt(), second);
        for (const auto& call : finished) QVERIFY(call.at(0).toInt() != first);
    }

    void aMissingModelIsReported() {
        soului::WorkbenchPanel panel;
        QSignalSpy ready(&panel, &soului::WorkbenchPanel::sessionReady);
        const QString missing = QString::fromStdString(m_dir) + "/no-such-model";
        panel.openSession(missing, QString::fromStdString(m_dir) + "/phantom-prepared-64");
        QVERIFY(ready.wait(30000));
        QCOMPARE(ready.first().at(0).toBool(), false);
        QVERIFY2(ready.first().at(1).toString().contains(missing), qPrintable(ready.first().at(1).toString()));
    }

    // A damaged run.json (cut short, a key missing, a value of the wrong type) is a message naming
    // the file and the key; the studio stays up and keeps its session.
    void aDamagedRunJsonIsReportedAndTheStudioStaysUp() {
        const std::string model = m_dir + "/damaged-model";
        fs::remove_all(model);
        fs::copy(SOUL_MODEL_DIR, model, fs::copy_options::recursive);
        const std::string run_json = model + "/run.json";
        std::ifstream in(run_json);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        in.close();
        nlohmann::json info = nlohmann::json::parse(text);
        nlohmann::json no_fingerprint = info, wrong_type = info;
        no_fingerprint["dataset"].erase("fingerprint");
        wrong_type["stages"]["unet"] = "done";
        const std::vector<std::pair<std::string, QString>> cases = {
            {text.substr(0, text.size() / 2), "run.json"}, {no_fingerprint.dump(), "/dataset/fingerprint"}, {wrong_type.dump(), "type"}};
        for (const auto& [content, expected] : cases) {
            std::ofstream(run_json, std::ios::trunc) << content;
            soului::WorkbenchPanel panel;
            QSignalSpy ready(&panel, &soului::WorkbenchPanel::sessionReady);
            panel.openSession(QString::fromStdString(model), QString::fromStdString(m_dir) + "/phantom-prepared-64");
            QVERIFY(ready.wait(60000));
            QCOMPARE(ready.first().at(0).toBool(), false);
            const QString message = ready.first().at(1).toString();
            QVERIFY2(message.contains("run.json") && message.contains(expected), qPrintable(message));
        }
        QVERIFY(m_window->isVisible());
        QVERIFY(!workbench()->reconstructionImage().isNull());
    }

    void cleanupTestCase() {
        m_window.reset();
        fs::remove_all(m_dir);
    }
};

QTEST_MAIN(TestWorkbench)
#include "tst_workbench.moc"
