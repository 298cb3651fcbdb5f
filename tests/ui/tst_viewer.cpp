// The studio as a viewer (issue 21) under Xvfb, looking at pixels: an anatomical underlay under a
// thresholded signed overlay, colour bars in the views and in their exports, sessions saved and
// reopened to the same screenshot, bad session files named by key, and the keyboard shortcuts.
#include "BrainScene.h"
#include "BrainView.h"
#include "ColourBar.h"
#include "LayerImage.h"
#include "Colormap.h"
#include "MainWindow.h"
#include "NiftiFixture.h"
#include "SliceView.h"
#include "StudioFigure.h"
#include "StudioSession.h"
#include "VolumeDocument.h"
#include "VtkGLWidget.h"
#include "soul/labels.h"
#include "soul/volume.h"

#include <QAction>
#include <QComboBox>
#include <QListWidget>
#include <QUrl>
#include <QProcess>
#include <QPushButton>
#include <QMimeData>
#include <QDockWidget>
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QMenu>
#include <QRegularExpression>
#include <QMessageBox>
#include <QStandardPaths>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <set>

using namespace soultest;
using soului::SliceAxes;
using soului::SliceView;

namespace {

// The activity fixture's values: a positive blob, a negative blob, weak values elsewhere in the
// brain, zero outside it.
constexpr float kPositive = 50, kNegative = -50, kWeak = 5;
const std::array<int64_t, 3> kPositiveVoxel{12, 24, 20}, kNegativeVoxel{28, 24, 20}, kWeakVoxel{20, 36, 20};
const std::array<int64_t, 3> kOutsideVoxel{1, 1, 20};

bool isGrey(const QColor& c) { return std::abs(c.red() - c.green()) < 4 && std::abs(c.green() - c.blue()) < 4; }

// Mean absolute difference per channel of two images of the same size; 255 when sizes differ.
double meanDifference(const QImage& a, const QImage& b) {
    if (a.size() != b.size()) return 255;
    const QImage x = a.convertToFormat(QImage::Format_RGB32), y = b.convertToFormat(QImage::Format_RGB32);
    double sum = 0;
    for (int r = 0; r < x.height(); ++r)
        for (int c = 0; c < x.width(); ++c) {
            const QRgb p = x.pixel(c, r), q = y.pixel(c, r);
            sum += std::abs(qRed(p) - qRed(q)) + std::abs(qGreen(p) - qGreen(q)) + std::abs(qBlue(p) - qBlue(q));
        }
    return sum / (3.0 * x.width() * x.height());
}

// Pixels of `image` within `tolerance` of `rgb` in every channel, inside `area`.
int countColour(const QImage& image, const QRect& area, std::array<uint8_t, 3> rgb, int tolerance = 12) {
    const QImage img = image.convertToFormat(QImage::Format_RGB32);
    int n = 0;
    for (int y = std::max(0, area.top()); y <= std::min(img.height() - 1, area.bottom()); ++y)
        for (int x = std::max(0, area.left()); x <= std::min(img.width() - 1, area.right()); ++x) {
            const QRgb p = img.pixel(x, y);
            if (std::abs(qRed(p) - rgb[0]) <= tolerance && std::abs(qGreen(p) - rgb[1]) <= tolerance &&
                std::abs(qBlue(p) - rgb[2]) <= tolerance)
                ++n;
        }
    return n;
}

template <typename Condition>
bool waitFor(Condition done, int timeoutMs = 120000) {
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < timeoutMs) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    return done();
}

}  // namespace

class TestViewer : public QObject {
    Q_OBJECT
    std::string m_dir;
    SyntheticBrain m_brain;
    QString m_activity;
    std::unique_ptr<MainWindow> m_window;
    QString path(const std::string& name) const { return QString::fromStdString(m_dir + "/" + name); }
    soului::VolumeDocument* document() const { return m_window->document(); }

    void closeDialogs() {
        for (auto* box : m_window->findChildren<QMessageBox*>()) {
            box->close();
            delete box;
        }
    }
    QColor pixelAt(int view, const std::array<int64_t, 3>& voxel) const {
        SliceView* s = m_window->sliceView(view);
        const auto p = soului::pixelOf(s->axes(), document()->volume().dims, voxel);
        return s->sliceImage().pixelColor(static_cast<int>(p[0]), static_cast<int>(p[1]));
    }
    // The activity over the brain as underlay, coolwarm over ±50, |value| ≥ 20 shown.
    void showLayers() {
        closeDialogs();
        QVERIFY(m_window->openVolume(m_activity));
        QVERIFY(m_window->openUnderlay(QString::fromStdString(m_brain.volume)));
        while (document()->layerCount() > 1) document()->removeLayer(document()->layerCount() - 1);
        document()->setInterpolation(false);
        document()->setColormapName("coolwarm");
        document()->setWindow(-50, 50);
        document()->setSymmetricThreshold(20);
        document()->setCursor({20, 24, 20});
    }
    // A volume on the activity's grid: `value` in a cube of half-width 3 around each centre, 0 elsewhere.
    QString writeBlobs(const std::string& name, const std::vector<std::array<int64_t, 3>>& centres, float value) const {
        soul::Volume v = soul::read_nifti(m_activity.toStdString());
        std::fill(v.voxels.begin(), v.voxels.end(), 0.0f);
        for (const auto& c : centres)
            for (int64_t k = c[2] - 3; k <= c[2] + 3; ++k)
                for (int64_t j = c[1] - 3; j <= c[1] + 3; ++j)
                    for (int64_t i = c[0] - 3; i <= c[0] + 3; ++i)
                        if (v.contains(i, j, k)) v.voxels[v.index(i, j, k)] = value;
        soul::write_nifti(v, m_dir + "/" + name);
        return path(name);
    }
    // The brain at 0.9 mm: a finer underlay on another grid over the same head.
    QString writeFineBrain() const {
        soul::Volume fine;
        fine.dims = {80, 96, 80};
        fine.ijk_to_ras.m = {0.9, 0, 0, -36.45, 0, 0.9, 0, -43.45, 0, 0, 0.9, -36.45, 0, 0, 0, 1};
        fine = soul::resample_nearest(soul::read_nifti(m_brain.volume), fine);
        soul::write_nifti(fine, path("brain-0.9mm.nii.gz").toStdString());
        return path("brain-0.9mm.nii.gz");
    }
    void writeSession(const std::string& name, const std::string& text) const {
        std::ofstream(m_dir + "/" + name) << text;
    }

private Q_SLOTS:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);   // QSettings (recent sessions) away from the user's
        m_dir = tempFolder("viewer");
        m_brain = writeSyntheticBrain(m_dir);
        soul::Volume brain = soul::read_nifti(m_brain.volume);
        soul::Volume activity = brain;
        for (int64_t k = 0; k < brain.dims[2]; ++k)
            for (int64_t j = 0; j < brain.dims[1]; ++j)
                for (int64_t i = 0; i < brain.dims[0]; ++i) {
                    float& v = activity.voxels[activity.index(i, j, k)];
                    if (brain.at(i, j, k) == 0) continue;
                    const auto near = [&](const std::array<int64_t, 3>& c) {
                        return std::abs(i - c[0]) <= 3 && std::abs(j - c[1]) <= 3 && std::abs(k - c[2]) <= 3;
                    };
                    v = near(kPositiveVoxel) ? kPositive : near(kNegativeVoxel) ? kNegative : kWeak;
                }
        m_activity = path("activity.nii.gz");
        soul::write_nifti(activity, m_activity.toStdString());
        m_window = std::make_unique<MainWindow>();
        m_window->setErrorDialogsEnabled(false);
        m_window->resize(1200, 860);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    }
    void cleanupTestCase() {
        m_window.reset();
        std::filesystem::remove_all(m_dir);
    }

    void underlayShowsUnderThresholdedOverlay() {
        showLayers();
        const QColor positive = pixelAt(0, kPositiveVoxel), negative = pixelAt(0, kNegativeVoxel);
        QVERIFY2(positive.red() > positive.blue() + 80, qPrintable(positive.name()));
        QVERIFY2(negative.blue() > negative.red() + 80, qPrintable(negative.name()));
        // Below the threshold the anatomy shows: grey, brighter than black.
        const QColor weak = pixelAt(0, kWeakVoxel);
        QVERIFY2(isGrey(weak) && weak.red() > 60, qPrintable(weak.name()));
        QCOMPARE(pixelAt(0, kOutsideVoxel), QColor(0, 0, 0));
        // The underlay hidden: nothing under the weak values.
        document()->setUnderlayVisible(false);
        QCOMPARE(pixelAt(0, kWeakVoxel), QColor(0, 0, 0));
        document()->setUnderlayVisible(true);
        // Half opacity: the blob's colour mixed with the grey under it.
        document()->setOpacity(0.5);
        const QColor half = pixelAt(0, kPositiveVoxel);
        QVERIFY2(half.red() - half.blue() < positive.red() - positive.blue() - 30 && half.red() > half.blue(), qPrintable(half.name()));
        document()->setOpacity(1);
        // Only the positive threshold: the negative blob is no longer drawn.
        document()->setNegativeThreshold(-1e30);
        QVERIFY(isGrey(pixelAt(0, kNegativeVoxel)));
        // The panel shows what the document holds.
        document()->setSymmetricThreshold(20);
        auto* on = m_window->findChild<QCheckBox*>("negativeThresholdOn");
        QVERIFY(on && on->isChecked());
        QCOMPARE(m_window->findChild<QDoubleSpinBox*>("negativeThreshold")->value(), -20.0);
        QVERIFY(m_window->findChild<QCheckBox*>("underlayOn")->isChecked());
        QVERIFY(document()->describeVoxel(kWeakVoxel).contains("underlay"));
    }

    void underlayOnAnotherGrid() {
        showLayers();
        soul::Volume brain = soul::read_nifti(m_brain.volume);
        QVERIFY(m_window->openUnderlay(writeFineBrain()));
        QVERIFY(document()->lastNotice().contains("resampled"));
        QVERIFY(isGrey(pixelAt(0, kWeakVoxel)) && pixelAt(0, kWeakVoxel).red() > 60);
        // Elsewhere in scanner space: refused with the reason; the underlay shown stays.
        brain.ijk_to_ras(0, 3) += 500;
        soul::write_nifti(brain, path("brain-far.nii.gz").toStdString());
        QVERIFY(!m_window->openUnderlay(path("brain-far.nii.gz")));
        QVERIFY2(m_window->lastError().contains(path("brain-far.nii.gz")) && m_window->lastError().contains("does not overlap"),
                 qPrintable(m_window->lastError()));
        QCOMPARE(document()->underlayPath(), path("brain-0.9mm.nii.gz"));
        QVERIFY(!m_window->openUnderlay(path("missing.nii.gz")));
        QVERIFY(m_window->lastError().contains(path("missing.nii.gz")));
        QCOMPARE(document()->underlayPath(), path("brain-0.9mm.nii.gz"));
    }

    void colourBarInViewsAndExports() {
        showLayers();
        SliceView* axial = m_window->sliceView(0);
        const QImage shown = axial->renderImage();
        const double strip = soului::colourBarStripWidth(axial->height());
        const QRect bar(static_cast<int>(axial->width() - strip), 0, static_cast<int>(strip), axial->height());
        const auto table = soului::colormap("coolwarm");
        const int top = countColour(shown, bar, table[255]), bottom = countColour(shown, bar, table[0]);
        QVERIFY2(top > 20 && bottom > 20, qPrintable(QString("bar ends: %1 red, %2 blue pixels").arg(top).arg(bottom)));
        // The exported screenshot carries it, at its scale.
        QString error;
        QVERIFY2(m_window->exportScreenshot(ExportView::Axial, path("axial-bar.png"), 2, false, &error), qPrintable(error));
        const QImage exported(path("axial-bar.png"));
        const QRect scaledBar(bar.x() * 2, 0, bar.width() * 2, exported.height());
        QVERIFY(countColour(exported, scaledBar, table[255]) > 4 * 20);
        // View ▸ Colour bars off: the strip shows no bar colours.
        m_window->findChild<QAction*>("actionColourBars")->setChecked(false);
        const QImage without = axial->renderImage();
        QCOMPARE(countColour(without, bar, table[255]), 0);
        QCOMPARE(countColour(without, bar, table[0]), 0);
        m_window->findChild<QAction*>("actionColourBars")->setChecked(true);
    }

    // The activity painted onto the stream surfaces: the early-visual label's left half (i < 20)
    // at +50, its right half at +5; coolwarm over ±50, |value| ≥ 20 shown.
    void surfacePaintedWhereAboveThreshold() {
        closeDialogs();
        const soul::Volume labels = soul::read_nifti(m_brain.labels);
        soul::Volume activity = soul::read_nifti(m_brain.volume);
        for (int64_t k = 0; k < labels.dims[2]; ++k)
            for (int64_t j = 0; j < labels.dims[1]; ++j)
                for (int64_t i = 0; i < labels.dims[0]; ++i)
                    activity.voxels[activity.index(i, j, k)] = labels.at(i, j, k) == 0 ? 0.0f : i < 20 ? kPositive : kWeak;
        soul::write_nifti(activity, path("surface-activity.nii.gz").toStdString());
        QVERIFY(m_window->openVolume(path("surface-activity.nii.gz")));
        QVERIFY(m_window->openLabels(QString::fromStdString(m_brain.labels), {1}));
        document()->setColormapName("coolwarm");
        document()->setWindow(-50, 50);
        document()->setSymmetricThreshold(20);
        m_window->brainView()->setVolumeRendering(false);
        soului::BrainScene& scene = m_window->brainView()->scene();
        const auto table = soului::colormap("coolwarm");
        // Inside the label, 2.5 voxels from its surface at j = 14.5 (see writeSyntheticBrain).
        const auto painted = scene.surfaceColourNear(1, {10, 13, 20}), plain = scene.surfaceColourNear(1, {29, 13, 20});
        QVERIFY(painted && plain);
        QCOMPARE(*painted, table[255]);
        QVERIFY(std::abs(int((*plain)[0]) - int((*plain)[2])) < 40);   // pale, not the colour map's red

        // In pixels, seen from behind: the painted half is the colour map's red; without painting
        // there is none of it.
        m_window->findChild<QAction*>("actionViewPosterior")->trigger();
        const QRect all(0, 0, 100000, 100000);
        const int redOn = countColour(m_window->brainView()->renderImage(), all, table[255], 40);
        QVERIFY(scene.colourBarShown());
        m_window->findChild<QCheckBox*>("surfaceActivity")->setChecked(false);
        QVERIFY(!scene.colourBarShown());
        QCOMPARE(*scene.surfaceColourNear(1, {10, 13, 20}), document()->labelTable().colour_of(1));
        const int redOff = countColour(m_window->brainView()->renderImage(), all, table[255], 40);
        m_window->findChild<QCheckBox*>("surfaceActivity")->setChecked(true);
        QVERIFY2(redOn > 300 && redOff < redOn / 10, qPrintable(QString("red pixels %1 painted, %2 plain").arg(redOn).arg(redOff)));
        // Below the threshold the surface is not painted: raise it over the values.
        document()->setSymmetricThreshold(60);
        QVERIFY(std::abs(int((*scene.surfaceColourNear(1, {10, 13, 20}))[0]) - int((*scene.surfaceColourNear(1, {10, 13, 20}))[2])) < 40);
    }

    // The cursor and the 3D view linked: the cursor is marked in 3D, and a double-click on a
    // surface moves the cursor (and so the slices) to the voxel there.
    void cursorAndThreeDLinked() {
        closeDialogs();
        QVERIFY(m_window->openVolume(m_activity));
        QVERIFY(m_window->openLabels(QString::fromStdString(m_brain.labels), {1}));
        soului::BrainView* view = m_window->brainView();
        view->setVolumeRendering(false);
        document()->setCursor({10, 13, 20});
        const auto marker = view->scene().cursorMarker();
        const auto ras = document()->volume().ijk_to_ras.apply(10, 13, 20);
        QVERIFY(marker && std::abs((*marker)[0] - ras[0]) < 1e-6 && std::abs((*marker)[1] - ras[1]) < 1e-6);

        m_window->findChild<QAction*>("actionViewPosterior")->trigger();
        QVERIFY(!view->renderImage().isNull());
        const QPoint centre(view->width() / 2, view->height() / 2);
        const auto hit = view->voxelAtPosition(centre);
        QVERIFY(hit);
        // Seen from behind, the ray meets the back of the early-visual label (j ≤ 14).
        const soul::Volume labels = soul::read_nifti(m_brain.labels);
        bool nearLabel = false;
        for (int64_t dk = -1; dk <= 1; ++dk)
            for (int64_t dj = -1; dj <= 1; ++dj)
                for (int64_t di = -1; di <= 1; ++di)
                    if (labels.contains((*hit)[0] + di, (*hit)[1] + dj, (*hit)[2] + dk) &&
                        labels.at((*hit)[0] + di, (*hit)[1] + dj, (*hit)[2] + dk) == 1)
                        nearLabel = true;
        QVERIFY2(nearLabel && (*hit)[1] <= 4, qPrintable(QString("hit %1 %2 %3").arg((*hit)[0]).arg((*hit)[1]).arg((*hit)[2])));
        QTest::mouseDClick(view, Qt::LeftButton, Qt::NoModifier, centre);
        QCOMPARE(document()->cursor(), *hit);
        QVERIFY(!view->voxelAtPosition(QPoint(2, 2)));   // the corner: background, nothing hit
        view->setVolumeRendering(true);
    }

    void sessionReopensTheSameView() {
        showLayers();
        document()->setOpacity(0.8);
        document()->setCursor({14, 22, 19});
        m_window->findChild<QAction*>("actionNeurological")->setChecked(true);
        m_window->findChild<QAction*>("actionGlassBrain")->setChecked(true);
        soului::CameraPose pose = m_window->brainView()->camera();
        pose.position[0] += 40;
        m_window->brainView()->setCamera(pose);
        const QImage axialBefore = m_window->sliceView(0)->renderImage(), coronalBefore = m_window->sliceView(1)->renderImage();
        const QImage threeDBefore = m_window->brainView()->renderImage();
        QVERIFY(!threeDBefore.isNull());
        QVERIFY(m_window->saveSessionFile(path("demo.json")));
        QCOMPARE(m_window->recentSessions().value(0), path("demo.json"));

        // Change everything, then reopen.
        QVERIFY(m_window->openVolume(QString::fromStdString(m_brain.volume)));
        document()->setColormapName("hot");
        m_window->findChild<QAction*>("actionNeurological")->setChecked(false);
        m_window->findChild<QAction*>("actionGlassBrain")->setChecked(false);
        m_window->brainView()->resetCamera();
        QVERIFY(meanDifference(axialBefore, m_window->sliceView(0)->renderImage()) > 5);
        QVERIFY2(m_window->openSessionFile(path("demo.json")), qPrintable(m_window->lastError()));
        QCOMPARE(document()->volumePath(), m_activity);
        QCOMPARE(document()->underlayPath(), QString::fromStdString(m_brain.volume));
        QCOMPARE(document()->opacity(), 0.8);
        QCOMPARE(document()->cursor(), (std::array<int64_t, 3>{14, 22, 19}));
        QVERIFY(m_window->findChild<QAction*>("actionNeurological")->isChecked());
        QVERIFY(m_window->brainView()->glassBrain());
        const double axial = meanDifference(axialBefore, m_window->sliceView(0)->renderImage());
        const double coronal = meanDifference(coronalBefore, m_window->sliceView(1)->renderImage());
        QVERIFY2(axial < 0.5 && coronal < 0.5, qPrintable(QString("slice differences %1 %2").arg(axial).arg(coronal)));
        const double threeD = meanDifference(threeDBefore, m_window->brainView()->renderImage());
        QVERIFY2(threeD < 2, qPrintable(QString("3D difference %1").arg(threeD)));
        // Paths under the session's folder are stored relative to it: the folder can move.
        std::ifstream in(m_dir + "/demo.json");
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        QVERIFY(text.find("\"activity.nii.gz\"") != std::string::npos);
    }

    // Overlays over the volume, as FSLeyes stacks them: each with its own colour map and
    // threshold, the top one drawn over the ones below, reordered, hidden and removed from the
    // Layers panel, edited in the Display panel when selected, each with its colour bar.
    void overlaysStackWithTheirOwnMaps() {
        showLayers();
        const QString hot = writeBlobs("hot-blobs.nii.gz", {kWeakVoxel, kPositiveVoxel}, 30);
        const QString cool = writeBlobs("cool-blob.nii.gz", {kPositiveVoxel}, -30);
        QVERIFY(m_window->openOverlay(hot));
        QCOMPARE(document()->layerCount(), 2);
        QCOMPARE(document()->selectedLayer(), 1);
        QCOMPARE(document()->layerDisplay(1).colormap, QString("hot"));   // non-negative data
        soului::LayerDisplay hotDisplay = document()->layerDisplay(1);
        hotDisplay.windowLow = 0;
        hotDisplay.windowHigh = 60;   // 30 is the map's orange, not its white end
        document()->setLayerDisplay(1, hotDisplay);
        // Where the volume is below its threshold, the overlay shows over the anatomy.
        const QColor overWeak = pixelAt(0, kWeakVoxel);
        QVERIFY2(overWeak.red() > overWeak.blue() + 80 && !isGrey(overWeak), qPrintable(overWeak.name()));
        QVERIFY(isGrey(pixelAt(0, {kWeakVoxel[0], kWeakVoxel[1] + 5, kWeakVoxel[2]})));   // beside the blob: anatomy
        QVERIFY(m_window->openOverlay(cool));
        QCOMPARE(document()->layerDisplay(2).colormap, QString("coolwarm"));   // signed data
        QVERIFY(document()->layerDisplay(2).windowLow < 0 && document()->layerDisplay(2).windowHigh > 0);
        // The top overlay wins where they overlap: the cool blob's blue over the hot blob's orange.
        const QColor top = pixelAt(0, kPositiveVoxel);
        QVERIFY2(top.blue() > top.red() + 60, qPrintable(top.name()));
        QVERIFY(document()->describeVoxel(kPositiveVoxel).contains("cool-blob.nii.gz -30"));

        // The Layers panel reads top down: cool, hot, the volume, the underlay.
        auto* list = m_window->findChild<QListWidget*>("layerList");
        QVERIFY(list);
        QCOMPARE(list->count(), 4);
        QVERIFY(list->item(0)->text().contains("cool-blob") && list->item(1)->text().contains("hot-blobs"));
        QVERIFY(list->item(2)->text().contains("activity") && list->item(3)->text().contains("Underlay"));
        // Down: the hot blob comes on top.
        list->setCurrentRow(0);
        QTest::mouseClick(m_window->findChild<QPushButton*>("layerDown"), Qt::LeftButton);
        QVERIFY(list->item(0)->text().contains("hot-blobs"));
        QCOMPARE(document()->layerName(2), QString("hot-blobs.nii.gz"));
        QCOMPARE(document()->selectedLayer(), 1);   // the moved layer stays selected
        const QColor swapped = pixelAt(0, kPositiveVoxel);
        QVERIFY2(swapped.red() > swapped.blue() + 80, qPrintable(swapped.name()));
        // Hidden from its check box: the cool blob (now below) shows again.
        list->item(0)->setCheckState(Qt::Unchecked);
        QVERIFY(!document()->layerDisplay(2).visible);
        QVERIFY2(pixelAt(0, kPositiveVoxel).blue() > pixelAt(0, kPositiveVoxel).red() + 60, qPrintable(pixelAt(0, kPositiveVoxel).name()));
        list->item(0)->setCheckState(Qt::Checked);

        // Selecting a layer points the Display panel at it: its colour map changes, not the volume's.
        list->setCurrentRow(1);
        QCOMPARE(document()->selectedLayer(), 1);
        auto* colormap = m_window->findChild<QComboBox*>("colormap");
        QCOMPARE(colormap->currentText(), QString("coolwarm"));
        colormap->setCurrentText("viridis");
        QCOMPARE(document()->layerDisplay(1).colormap, QString("viridis"));
        QCOMPARE(document()->colormapName(), QString("coolwarm"));
        list->setCurrentRow(2);
        QCOMPARE(document()->selectedLayer(), 0);
        QCOMPARE(colormap->currentText(), QString("coolwarm"));

        // A colour bar per visible layer at the right of the view: the hot map's orange is there.
        QCOMPARE(soului::colourBarsOf(*document()).size(), size_t(3));
        SliceView* axial = m_window->sliceView(0);
        const double strip = soului::colourBarStripWidth(axial->height());
        const QRect bars(static_cast<int>(axial->width() - 3 * strip), 0, static_cast<int>(3 * strip), axial->height());
        const auto hotTable = soului::colormap("hot");
        QVERIFY(countColour(axial->renderImage(), bars, hotTable[128]) > 10);
        QVERIFY(axial->imageRect().right() < axial->width() - 3 * strip + 1);

        // Remove: the selected overlay closes; the volume cannot be removed.
        list->setCurrentRow(0);
        QTest::mouseClick(m_window->findChild<QPushButton*>("removeLayer"), Qt::LeftButton);
        QCOMPARE(document()->layerCount(), 2);
        QCOMPARE(document()->layerName(1), QString("cool-blob.nii.gz"));
        document()->removeLayer(0);
        QCOMPARE(document()->layerCount(), 2);
        QVERIFY(!m_window->findChild<QPushButton*>("removeLayer")->isEnabled() || document()->selectedLayer() >= 1);
    }

    // An overlay on another grid is resampled onto the volume's; one elsewhere in scanner space is
    // refused with the reason and adds nothing; a missing file is named.
    void overlayOnAnotherGridOrElsewhere() {
        showLayers();
        QVERIFY(m_window->openOverlay(writeFineBrain()));
        QVERIFY(document()->lastNotice().contains("resampled"));
        QCOMPARE(document()->layerVolume(1).dims, document()->volume().dims);
        soul::Volume far = soul::read_nifti(m_brain.volume);
        far.ijk_to_ras(0, 3) += 500;
        soul::write_nifti(far, path("overlay-far.nii.gz").toStdString());
        QVERIFY(!m_window->openOverlay(path("overlay-far.nii.gz")));
        QVERIFY2(m_window->lastError().contains(path("overlay-far.nii.gz")) && m_window->lastError().contains("does not overlap"),
                 qPrintable(m_window->lastError()));
        // A read cancelled (the Open dialog's Cancel) throws rather than handing back half a volume.
        soul::CancelToken token;
        token.cancel();
        soul::Progress cancelled;
        cancelled.cancel = &token;
        QVERIFY_THROWS_EXCEPTION(soul::Cancelled, soului::VolumeDocument::loadVolume(m_activity, cancelled));
        QVERIFY(!m_window->openOverlay(path("no-such-overlay.nii.gz")));
        QVERIFY(m_window->lastError().contains(path("no-such-overlay.nii.gz")));
        QCOMPARE(document()->layerCount(), 2);
    }

    // Interpolation over a finer underlay: the 1.8 mm-like activity drawn trilinearly at the 0.9 mm
    // underlay's resolution, two samples per voxel side; off, one block per voxel.
    void interpolationOnAFinerUnderlay() {
        showLayers();
        QVERIFY(m_window->openUnderlay(writeFineBrain()));
        SliceView* axial = m_window->sliceView(0);
        const auto& dims = document()->volume().dims;
        const SliceAxes a = axial->axes();
        QCOMPARE(axial->sliceImage().width(), static_cast<int>(dims[a.horizontal]));
        auto* box = m_window->findChild<QCheckBox*>("interpolation");
        QVERIFY(box);
        // Every value coloured, so that the colours read back as values.
        document()->setThreshold(-1e30);
        document()->setNegativeThreshold(-1e30);
        const auto table = soului::colormap("coolwarm");
        // The blob's last voxel along i (value 50, i = 15) beside a weak one (5, i = 16): in blocks
        // both of its samples are the map's top; interpolated, the sample a quarter voxel towards
        // i = 16 is 0.75 × 50 + 0.25 × 5 = 38.75, the map at (38.75 + 50) / 100.
        const std::array<int64_t, 3> edge{kPositiveVoxel[0] + 3, kPositiveVoxel[1], kPositiveVoxel[2]};
        QCOMPARE(a.horizontal, 0);
        const auto p = soului::pixelOf(a, dims, edge);
        const auto rgb = [](const QColor& c) { return std::array<uint8_t, 3>{uint8_t(c.red()), uint8_t(c.green()), uint8_t(c.blue())}; };
        QCOMPARE(rgb(axial->sliceImage().pixelColor(static_cast<int>(p[0]), static_cast<int>(p[1]))), table[255]);
        box->setChecked(true);
        QCOMPARE(document()->samplesPerVoxel(), 2);   // 1.8 mm over 0.9 mm
        QCOMPARE(axial->sliceImage().width(), static_cast<int>(2 * dims[a.horizontal]));
        QCOMPARE(axial->sliceImage().height(), static_cast<int>(2 * dims[a.vertical]));
        const int towards = static_cast<int>(2 * p[0] + (a.flipHorizontal ? 0 : 1)), away = static_cast<int>(2 * p[0] + (a.flipHorizontal ? 1 : 0));
        const int row = static_cast<int>(2 * p[1]);
        QCOMPARE(rgb(axial->sliceImage().pixelColor(towards, row)), table[static_cast<size_t>((38.75 + 50) / 100 * 255 + 0.5)]);
        // A quarter voxel the other way lies between two blob voxels: 50.
        QCOMPARE(rgb(axial->sliceImage().pixelColor(away, row)), table[255]);
        // Clicks still land on voxels: the view's image rectangle maps to the grid, not to samples.
        const QRectF r = axial->imageRect();
        const QPointF at(r.x() + (p[0] + 0.5) / dims[a.horizontal] * r.width(), r.y() + (p[1] + 0.5) / dims[a.vertical] * r.height());
        QCOMPARE(*axial->voxelAtPosition(at), edge);
        // An underlay on the volume's own grid gives nothing finer to draw at.
        QVERIFY(m_window->openUnderlay(QString::fromStdString(m_brain.volume)));
        QCOMPARE(document()->samplesPerVoxel(), 1);
        document()->setInterpolation(false);
    }

    // A session keeps the layer list: file overlays by path, a volume the engine made (an
    // attribution) written beside the session, each with its display, the selected layer and
    // interpolation; reopened it gives the same slices.
    void sessionKeepsTheLayers() {
        showLayers();
        QVERIFY(m_window->openUnderlay(writeFineBrain()));
        QVERIFY(m_window->openOverlay(writeBlobs("hot-blobs.nii.gz", {kWeakVoxel, kPositiveVoxel}, 30)));
        soul::Volume made = soul::read_nifti(m_activity.toStdString());
        for (float& v : made.voxels) v = -v;
        QVERIFY(document()->addOverlay(soului::VolumeDocument::inMemory(made, "attribution-test"), "attribution-test", "attribution"));
        soului::LayerDisplay d = document()->layerDisplay(2);
        d.opacity = 0.6;
        d.threshold = 30;
        document()->setLayerDisplay(2, d);
        soului::LayerDisplay hidden = document()->layerDisplay(1);
        hidden.visible = false;
        document()->setLayerDisplay(1, hidden);
        document()->setSelectedLayer(1);
        document()->setInterpolation(true);
        const QImage before = m_window->sliceView(0)->renderImage();
        QVERIFY(m_window->saveSessionFile(path("layers.json")));
        QVERIFY(QFileInfo::exists(path("layers-overlays/attribution-test.nii.gz")));

        while (document()->layerCount() > 1) document()->removeLayer(document()->layerCount() - 1);
        document()->setInterpolation(false);
        QVERIFY2(m_window->openSessionFile(path("layers.json")), qPrintable(m_window->lastError()));
        QCOMPARE(document()->layerCount(), 3);
        QCOMPARE(document()->layerName(1), QString("hot-blobs.nii.gz"));
        QCOMPARE(document()->layerName(2), QString("attribution-test"));
        QVERIFY(!document()->layerDisplay(1).visible);
        QCOMPARE(document()->layerDisplay(2).opacity, 0.6);
        QCOMPARE(document()->layerDisplay(2).threshold, 30.0);
        QCOMPARE(document()->layerDisplay(2).unit, QString("attribution"));
        QCOMPARE(document()->layerVolume(2).at(12, 24, 20), -kPositive);
        QCOMPARE(document()->selectedLayer(), 1);
        QVERIFY(document()->interpolation());
        const double difference = meanDifference(before, m_window->sliceView(0)->renderImage());
        QVERIFY2(difference < 0.5, qPrintable(QString("slice difference %1").arg(difference)));
        // Its overlay files missing: it opens the rest and names them.
        std::filesystem::remove_all(m_dir + "/layers-overlays");
        QVERIFY(!m_window->openSessionFile(path("layers.json")));
        QVERIFY2(m_window->lastError().contains("attribution-test.nii.gz"), qPrintable(m_window->lastError()));
        QCOMPARE(document()->layerCount(), 2);
        QCOMPARE(document()->selectedLayer(), 1);
        closeDialogs();
    }

    void sessionWithMissingFilesOpensWhatItCan() {
        closeDialogs();
        writeSession("missing.json", R"({"format": "souldiffuser-studio-session", "version": 1,
            "volume": {"path": "activity.nii.gz", "colormap": "coolwarm", "windowLow": -50, "windowHigh": 50, "threshold": 20},
            "underlay": {"path": "no-such-t1.nii.gz"}, "labels": {"path": "streams.nii.gz", "visible": [5]}})");
        QVERIFY(m_window->openVolume(QString::fromStdString(m_brain.volume)));
        QVERIFY(!m_window->openSessionFile(path("missing.json")));
        QVERIFY2(m_window->lastError().contains("Missing") && m_window->lastError().contains(path("no-such-t1.nii.gz")),
                 qPrintable(m_window->lastError()));
        QCOMPARE(document()->volumePath(), m_activity);
        QVERIFY(!document()->hasUnderlay());
        QVERIFY(document()->hasLabels() && document()->labelVisible(5) && !document()->labelVisible(7));
        QCOMPARE(document()->threshold(), 20.0);
    }

    void corruptSessionsNameTheKey_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("problem");
        const QString head = R"({"format": "souldiffuser-studio-session", "version": 1, )";
        QTest::newRow("not json") << "{\"format\": " << "is not valid JSON";
        QTest::newRow("not a session") << R"({"volume": {}})" << "format";
        QTest::newRow("window text") << head + R"("volume": {"path": "activity.nii.gz", "windowLow": "low"}})" << "volume.windowLow: must be a number";
        QTest::newRow("window reversed") << head + R"("volume": {"path": "activity.nii.gz", "windowLow": 5, "windowHigh": 1}})" << "volume.windowHigh";
        QTest::newRow("unknown key") << head + R"("volume": {"path": "activity.nii.gz", "colourmap": "hot"}})" << "volume.colourmap: is not a session key";
        QTest::newRow("opacity") << head + R"("volume": {"path": "activity.nii.gz", "opacity": 3}})" << "volume.opacity: must be in [0, 1]";
        QTest::newRow("cursor") << head + R"("volume": {"path": "activity.nii.gz"}, "cursor": [1, -2, 3]})" << "cursor";
        QTest::newRow("camera") << head + R"("volume": {"path": "activity.nii.gz"}, "views": {"camera": {"position": [0, 0]}}})" << "views.camera.position";
        QTest::newRow("trial") << head + R"("volume": {}, "model": {"run": "r", "data": "d", "trialSplit": "val", "trialRow": 1}})" << "model.trialSplit";
        QTest::newRow("figure dpi") << head + R"("volume": {"path": "activity.nii.gz"}, "figure": {"dpi": 5}})" << "figure.dpi: must be in [50, 1200]";
        QTest::newRow("figure columns") << head + R"("volume": {"path": "activity.nii.gz"}, "figure": {"slices": 4, "columns": 6}})" << "figure.columns";
        QTest::newRow("overlays not a list") << head + R"("volume": {"path": "activity.nii.gz"}, "overlays": {"path": "a.nii.gz"}})" << "overlays: must be a list";
        QTest::newRow("overlay window") << head + R"("volume": {"path": "activity.nii.gz"}, "overlays": [{"path": "a.nii.gz", "windowLow": "x"}]})" << "overlays[0].windowLow: must be a number";
        QTest::newRow("overlay key") << head + R"("volume": {"path": "activity.nii.gz"}, "overlays": [{"path": "a.nii.gz", "visble": true}]})" << "overlays[0].visble: is not a session key";
        QTest::newRow("overlay path") << head + R"("volume": {"path": "activity.nii.gz"}, "overlays": [{"name": "a"}]})" << "overlays[0].path: is missing";
        QTest::newRow("selected layer") << head + R"("volume": {"path": "activity.nii.gz"}, "selectedLayer": 2})" << "selectedLayer: must be in [0, 0]";
        QTest::newRow("version") << R"({"format": "souldiffuser-studio-session", "version": 7, "volume": {}})" << "version";
        QTest::newRow("no volume") << head + R"("volume": {}})" << "volume.path";
    }
    void corruptSessionsNameTheKey() {
        QFETCH(QString, text);
        QFETCH(QString, problem);
        closeDialogs();
        QVERIFY(m_window->openVolume(QString::fromStdString(m_brain.volume)));
        document()->setColormapName("hot");
        writeSession("corrupt.json", text.toStdString());
        QVERIFY(!m_window->openSessionFile(path("corrupt.json")));
        QVERIFY2(m_window->lastError().startsWith(path("corrupt.json") + ": ") && m_window->lastError().contains(problem),
                 qPrintable(m_window->lastError()));
        QVERIFY(!m_window->lastError().contains('\n'));
        // Nothing changed.
        QCOMPARE(document()->volumePath(), QString::fromStdString(m_brain.volume));
        QCOMPARE(document()->colormapName(), QString("hot"));
    }

    void bigFileIsNotReadAsASession() {
        {
            std::ofstream out(m_dir + "/big.json");
            out << std::string(2 << 20, ' ');
        }
        QVERIFY(!m_window->openSessionFile(path("big.json")));
        QVERIFY2(m_window->lastError().contains("a session file is a few kilobytes"), qPrintable(m_window->lastError()));
    }

    // A lightbox figure at 88 mm (one journal column) and 150 DPI: PNG of that many pixels with
    // its DPI recorded, SVG and PDF of that printed size, the layers and the colour bar in it, and
    // the session beside it remaking it.
    void figureHasItsPhysicalSizeAtItsDpi() {
        closeDialogs();
        showLayers();
        soului::FigureSpec spec;
        spec.widthMm = 88;
        spec.dpi = 150;
        spec.slices = 8;
        spec.columns = 4;
        QVERIFY2(m_window->exportLightboxFigure(path("figure.png"), spec), qPrintable(m_window->lastError()));
        QImage png(path("figure.png"));
        QCOMPARE(png.width(), static_cast<int>(std::lround(88 / 25.4 * 150)));
        QCOMPARE(png.dotsPerMeterX(), static_cast<int>(std::lround(150 / 0.0254)));
        const double printedMm = png.width() / (png.dotsPerMeterX() / 1000.0);
        QVERIFY2(std::abs(printedMm - 88) < 0.2, qPrintable(QString::number(printedMm)));
        // The activity's red and blue, the grey underlay and the colour bar's ends are all there.
        const auto table = soului::colormap("coolwarm");
        const QRect all(0, 0, png.width(), png.height());
        QVERIFY(countColour(png, all, table[255], 20) > 50);
        QVERIFY(countColour(png, all, table[0], 20) > 50);
        QVERIFY(countColour(png, QRect(png.width() * 9 / 10, 0, png.width() / 10, png.height()), table[255], 20) > 20);

        QVERIFY2(m_window->exportLightboxFigure(path("figure.svg"), spec), qPrintable(m_window->lastError()));
        QFile svg(path("figure.svg"));
        QVERIFY(svg.open(QIODevice::ReadOnly));
        const QRegularExpressionMatch width = QRegularExpression(R"(<svg width="([0-9.]+)mm")").match(QString::fromUtf8(svg.read(400)));
        QVERIFY(width.hasMatch());
        QVERIFY2(std::abs(width.captured(1).toDouble() - 88) < 0.2, qPrintable(width.captured(1)));
        QVERIFY2(m_window->exportLightboxFigure(path("figure.pdf"), spec), qPrintable(m_window->lastError()));
        QFile pdf(path("figure.pdf"));
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        const QRegularExpressionMatch box = QRegularExpression(R"(/MediaBox \[0 0 ([0-9.]+) )").match(QString::fromLatin1(pdf.readAll()));
        QVERIFY(box.hasMatch());
        QVERIFY2(std::abs(box.captured(1).toDouble() / 72 * 25.4 - 88) < 0.5, qPrintable(box.captured(1)));

        // The session written beside it has the figure's settings and remakes the same figure.
        const soului::StudioSession beside = soului::loadSession(path("figure.png.session.json"));
        QVERIFY(beside.figure && beside.figure->widthMm == 88 && beside.figure->slices == 8);
        document()->setColormapName("hot");
        QVERIFY2(m_window->openSessionFile(path("figure.png.session.json")), qPrintable(m_window->lastError()));
        QVERIFY(m_window->exportLightboxFigure(path("again.png"), *beside.figure));
        QVERIFY2(meanDifference(png, QImage(path("again.png"))) < 1, "the session remade a different figure");

        // And headless, as a person remakes it: `souldiffuser-studio --session F --figure G` in a
        // fresh process (Qt's own -session argument must not swallow ours).
        QProcess studio;
        studio.start(SOUL_STUDIO, {"--session", path("figure.png.session.json"), "--figure", path("headless.png"), "--size",
                                   QString("%1x%2").arg(m_window->width()).arg(m_window->height())});
        QVERIFY(studio.waitForFinished(240000));
        QVERIFY2(studio.exitCode() == 0, studio.readAllStandardError().constData());
        QVERIFY2(studio.readAllStandardOutput().contains("88 mm wide at 150 DPI"), "the session's figure settings were not used");
        const QImage headless(path("headless.png"));
        QCOMPARE(headless.size(), png.size());
        const QRect slices(0, 0, png.width(), png.height() / 2);
        const double difference = meanDifference(png.copy(slices), headless.copy(slices));
        QVERIFY2(difference < 1, qPrintable(QString("headless remake differs by %1 in the slices").arg(difference)));
    }

    void badFigureRequestsAreNamed() {
        closeDialogs();
        showLayers();
        soului::FigureSpec spec;
        spec.dpi = 5;
        QVERIFY(!m_window->exportLightboxFigure(path("low.png"), spec));
        QVERIFY2(m_window->lastError().contains(path("low.png")) && m_window->lastError().contains("dpi: must be in [50, 1200]"),
                 qPrintable(m_window->lastError()));
        spec = {};
        spec.columns = 20;
        QVERIFY(!m_window->exportLightboxFigure(path("wide.png"), spec));
        QVERIFY(m_window->lastError().contains("columns"));
        QVERIFY(!m_window->exportLightboxFigure(path("figure.jpg"), soului::FigureSpec{}));
        QVERIFY(m_window->lastError().contains(".png, .svg or .pdf"));
        QVERIFY(!m_window->exportLightboxFigure(path("no-such-folder/figure.png"), soului::FigureSpec{}));
        QVERIFY(m_window->lastError().contains(path("no-such-folder/figure.png")));
        spec = {};
        spec.widthMm = 1000;
        spec.dpi = 1200;
        QVERIFY(!m_window->exportLightboxFigure(path("huge.png"), spec));
        QVERIFY2(m_window->lastError().contains("too large"), qPrintable(m_window->lastError()));
        for (const char* name : {"low.png", "wide.png", "figure.jpg", "huge.png"}) QVERIFY(!QFile::exists(path(name)));
    }

    // An enlarged 3D export is the same view at more pixels, not the view repeated in tiles.
    void enlargedThreeDIsTheSameView() {
        closeDialogs();
        showLayers();
        const QImage one = m_window->brainView()->renderImage(1), two = m_window->brainView()->renderImage(2);
        QCOMPARE(two.size(), one.size() * 2);
        const double d = meanDifference(one, two.scaled(one.size(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation));
        QVERIFY2(d < 6, qPrintable(QString("2× downscaled differs from 1× by %1").arg(d)));
    }

    // Files dropped on the window: a NIfTI as the volume, with Ctrl as the underlay, with Shift as
    // the labels, a .json as a session; anything else named and refused.
    void droppedFilesOpen() {
        closeDialogs();
        QVERIFY(m_window->openVolume(QString::fromStdString(m_brain.volume)));
        auto drop = [&](const QString& file, Qt::KeyboardModifiers modifiers) {
            QMimeData mime;
            mime.setUrls({QUrl::fromLocalFile(file)});
            QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, modifiers);
            QApplication::sendEvent(m_window.get(), &enter);
            if (!enter.isAccepted()) return false;
            QDropEvent dropped(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, modifiers);
            QApplication::sendEvent(m_window.get(), &dropped);
            return true;
        };
        QVERIFY(drop(m_activity, Qt::NoModifier));
        QCOMPARE(document()->volumePath(), m_activity);
        QVERIFY(drop(QString::fromStdString(m_brain.volume), Qt::ControlModifier));
        QCOMPARE(document()->underlayPath(), QString::fromStdString(m_brain.volume));
        QVERIFY(drop(QString::fromStdString(m_brain.labels), Qt::ShiftModifier));
        QVERIFY(document()->hasLabels());
        const int layers = document()->layerCount();
        QVERIFY(drop(m_activity, Qt::AltModifier));
        QCOMPARE(document()->layerCount(), layers + 1);
        QCOMPARE(document()->layerName(layers), QString("activity.nii.gz"));
        QCOMPARE(document()->volumePath(), m_activity);
        writeSession("dropped.json", R"({"format": "souldiffuser-studio-session", "version": 1,
            "volume": {"path": "brain.nii.gz", "colormap": "hot", "windowLow": 0, "windowHigh": 100}})");
        QVERIFY(drop(path("dropped.json"), Qt::NoModifier));
        QCOMPARE(document()->colormapName(), QString("hot"));
        // A text file is not taken; a dropped NIfTI that is not one is named.
        writeSession("notes.txt", "hello");
        QVERIFY(!drop(path("notes.txt"), Qt::NoModifier));
        writeSession("fake.nii", "not a nifti");
        QVERIFY(!m_window->openDroppedFiles({path("fake.nii")}, Qt::NoModifier));
        QVERIFY(m_window->lastError().contains(path("fake.nii")));
        QCOMPARE(document()->volumePath(), QString::fromStdString(m_brain.volume));
    }

    // The layout is remembered when the application asks for it, and the last session is offered.
    void layoutAndLastSessionRemembered() {
        closeDialogs();
        QVERIFY(m_window->saveSessionFile(path("last.json")));
        {
            MainWindow first;
            first.rememberLayout();
            first.resize(1000, 700);
            first.show();
            QVERIFY(QTest::qWaitForWindowExposed(&first));
            first.findChild<QDockWidget*>("labelDock")->hide();
            first.close();
        }
        MainWindow second;
        second.rememberLayout();
        second.offerLastSession();
        second.show();
        QVERIFY(QTest::qWaitForWindowExposed(&second));
        QVERIFY(second.findChild<QDockWidget*>("labelDock")->isHidden());
        QVERIFY(!second.findChild<QDockWidget*>("displayDock")->isHidden());
        auto* offer = second.findChild<QPushButton*>("reopenLastSession");
        QVERIFY(offer && offer->text().contains("last.json"));
        second.setErrorDialogsEnabled(false);
        offer->click();
        QVERIFY(second.document()->hasVolume());
        QVERIFY(offer->isHidden());
        // A window that is not asked to remember (tests, headless runs) starts with every dock.
        MainWindow plain;
        plain.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plain));
        QVERIFY(!plain.findChild<QDockWidget*>("labelDock")->isHidden());
    }

    // The dark theme darkens the widgets and leaves the data's colours alone.
    void themeKeepsTheDataColours() {
        closeDialogs();
        showLayers();
        const QImage sliceLight = m_window->sliceView(0)->sliceImage();
        const QColor backgroundLight = m_window->brainView()->renderImage().pixelColor(5, 5);
        const int windowLight = m_window->palette().color(QPalette::Window).lightness();
        m_window->findChild<QAction*>("actionTheme-dark")->trigger();
        QCOMPARE(m_window->theme(), QString("dark"));
        QTRY_VERIFY(m_window->palette().color(QPalette::Window).lightness() < 80);
        QVERIFY(windowLight > 150);
        // The slice's pixels and the 3D background are the same (the views' sizes may change with
        // the style's metrics).
        QCOMPARE(m_window->sliceView(0)->sliceImage(), sliceLight);
        QCOMPARE(m_window->brainView()->renderImage().pixelColor(5, 5), backgroundLight);
        m_window->findChild<QAction*>("actionTheme-light")->trigger();
        QTRY_COMPARE(m_window->palette().color(QPalette::Window).lightness(), windowLight);
    }

    void shortcutsTriggerTheirActions() {
        closeDialogs();
        showLayers();
        m_window->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
        QAction* bars = m_window->findChild<QAction*>("actionColourBars");
        QVERIFY(bars->isChecked());
        QTest::keyClick(m_window.get(), Qt::Key_B, Qt::ControlModifier);
        QVERIFY(!bars->isChecked());
        QVERIFY(!m_window->sliceView(0)->colourBarVisible());
        QTest::keyClick(m_window.get(), Qt::Key_B, Qt::ControlModifier);
        QVERIFY(bars->isChecked());
        const std::string left = m_window->sliceView(0)->axes().left;
        QTest::keyClick(m_window.get(), Qt::Key_N, Qt::ControlModifier);
        QVERIFY(m_window->sliceView(0)->axes().left != left);
        QTest::keyClick(m_window.get(), Qt::Key_N, Qt::ControlModifier);
        QCOMPARE(m_window->sliceView(0)->axes().left, left);
        // Ctrl+1: the 3D view from the left (the camera on the subject's left, x below the focus).
        QTest::keyClick(m_window.get(), Qt::Key_1, Qt::ControlModifier);
        soului::CameraPose pose = m_window->brainView()->camera();
        QVERIFY(pose.position[0] < pose.focalPoint[0] - 50 && std::abs(pose.position[1] - pose.focalPoint[1]) < 1e-6);
        QTest::keyClick(m_window.get(), Qt::Key_6, Qt::ControlModifier);
        pose = m_window->brainView()->camera();
        QVERIFY(pose.position[2] < pose.focalPoint[2] - 50);
        // F1 lists every shortcut, read from the menus.
        QTest::keyClick(m_window.get(), Qt::Key_F1);
        QVERIFY(waitFor([&] { return m_window->findChild<QMessageBox*>("shortcutsDialog") != nullptr; }, 10000));
        const QString listed = m_window->findChild<QMessageBox*>("shortcutsDialog")->text();
        for (const char* name : {"Save Session", "Open Underlay", "Colour bars", "Export Screenshot", "Glass brain", "from the left"})
            QVERIFY2(listed.contains(name), name);
        QVERIFY(listed.contains(QKeySequence(QKeySequence::Save).toString(QKeySequence::NativeText)));
        closeDialogs();
        m_window->findChild<QAction*>("actionAbout")->trigger();
        auto* about = m_window->findChild<QMessageBox*>("aboutDialog");
        QVERIFY(about && about->text().contains("VTK 9") && about->text().contains("LibTorch"));
        closeDialogs();
    }
};

int main(int argc, char** argv) {
    soului::VtkGLWidget::setDefaultSurfaceFormat();
    QApplication app(argc, argv);
    TestViewer test;
    return QTest::qExec(&test, argc, argv);
}
#include "tst_viewer.moc"
