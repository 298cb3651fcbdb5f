// The studio window under Xvfb: what it renders (pixels of the label colours), mouse interaction,
// linked crosshairs, screenshots, and every bad input shown as a dialog that names the file.
#include "BrainView.h"
#include "HistogramPlot.h"
#include "MainWindow.h"
#include "Colormap.h"
#include "NiftiFixture.h"
#include "SliceView.h"
#include "VolumeDocument.h"
#include "VtkGLWidget.h"
#include "soul/labels.h"
#include "soul/nsd_layout.h"
#include "soul/phantom.h"

#include <QDoubleSpinBox>
#include <QLabel>
#include <qcustomplot.h>
#include <QMessageBox>
#include <QProgressDialog>
#include <QPushButton>
#include <QStatusBar>
#include <QTableWidget>
#include <QCheckBox>
#include <QtTest>

#include <vtkCamera.h>
#include <vtkRenderer.h>

#include "BrainScene.h"

#include <filesystem>
#include <fstream>

using namespace soultest;
using soului::BrainView;
using soului::SliceView;

namespace {

// Pixels within `tolerance` (per channel, after shading) of a colour's hue family: the colour
// channel that dominates it must dominate the pixel too.
int countNear(const QImage& image, std::array<uint8_t, 3> rgb, int tolerance = 70) {
    int n = 0;
    const QImage img = image.convertToFormat(QImage::Format_RGB32);
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            const QColor c = img.pixelColor(x, y);
            // Shading scales colours: compare chromaticity (normalised) and require some brightness.
            const double sum = c.red() + c.green() + c.blue(), ref = rgb[0] + rgb[1] + rgb[2];
            if (sum < 60) continue;
            const double dr = c.red() / sum - rgb[0] / ref, dg = c.green() / sum - rgb[1] / ref, db = c.blue() / sum - rgb[2] / ref;
            if (std::abs(dr) * 255 < tolerance / 3.0 && std::abs(dg) * 255 < tolerance / 3.0 && std::abs(db) * 255 < tolerance / 3.0) ++n;
        }
    return n;
}

void settle(int ms = 200) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}

void sendMouse(QWidget* w, QEvent::Type type, QPoint pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
    QMouseEvent e(type, QPointF(pos), w->mapToGlobal(QPointF(pos)), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(w, &e);
}

}  // namespace

class TestStudio : public QObject {
    Q_OBJECT
    std::string m_dir;
    SyntheticBrain m_brain;
    std::unique_ptr<MainWindow> m_window;
    QString path(const std::string& name) const { return QString::fromStdString(m_dir + "/" + name); }

    QMessageBox* errorDialog() const { return m_window->findChild<QMessageBox*>("errorDialog"); }
    void closeDialogs() {
        for (auto* box : m_window->findChildren<QMessageBox*>("errorDialog")) {
            box->close();
            delete box;
        }
    }
    void openBrain() {
        QVERIFY(m_window->openVolume(QString::fromStdString(m_brain.volume)));
        QVERIFY(m_window->openLabels(QString::fromStdString(m_brain.labels)));
        settle();
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = tempFolder("studio");
        m_brain = writeSyntheticBrain(m_dir);
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1100, 800);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        openBrain();
    }
    void cleanupTestCase() {
        m_window.reset();
        std::filesystem::remove_all(m_dir);
    }

    void threeDViewShowsLabelColours() {
        const QImage image = m_window->brainView()->renderImage(1, false);
        QVERIFY(!image.isNull());
        const soul::LabelTable t = soul::nsd_streams_table();
        const int ventral = countNear(image, t.colour_of(5)), parietal = countNear(image, t.colour_of(7));
        QVERIFY2(ventral > 200, qPrintable(QString("ventral pixels %1").arg(ventral)));
        QVERIFY2(parietal > 200, qPrintable(QString("parietal pixels %1").arg(parietal)));
        // Hiding a label removes its colour from the rendering.
        m_window->document()->setLabelVisible(5, false);
        settle();
        const QImage hidden = m_window->brainView()->renderImage(1, false);
        QVERIFY2(countNear(hidden, t.colour_of(5)) < ventral / 10, "ventral still drawn after hiding it");
        QVERIFY(countNear(hidden, t.colour_of(7)) > 200);
        m_window->document()->setLabelVisible(5, true);
        settle();
    }

    void labelTableTogglesLabels() {
        auto* table = m_window->findChild<QTableWidget*>("labelTable");
        QVERIFY(table);
        QCOMPARE(table->rowCount(), 3);
        QTableWidgetItem* parietal = nullptr;
        for (int r = 0; r < table->rowCount(); ++r)
            if (table->item(r, 0)->text() == "parietal") parietal = table->item(r, 0);
        QVERIFY(parietal);
        parietal->setCheckState(Qt::Unchecked);
        QVERIFY(!m_window->document()->labelVisible(7));
        QVERIFY(!m_window->brainView()->scene().labelVisible(7));
        parietal->setCheckState(Qt::Checked);
        QVERIFY(m_window->brainView()->scene().labelVisible(7));
    }

    void mouseDragRotatesCamera() {
        BrainView* view = m_window->brainView();
        vtkCamera* camera = view->scene().renderer()->GetActiveCamera();
        double before[3];
        camera->GetPosition(before);
        const QPoint c = view->rect().center();
        sendMouse(view, QEvent::MouseButtonPress, c, Qt::LeftButton, Qt::LeftButton);
        for (int step = 1; step <= 10; ++step)
            sendMouse(view, QEvent::MouseMove, c + QPoint(step * 8, step * 3), Qt::NoButton, Qt::LeftButton);
        sendMouse(view, QEvent::MouseButtonRelease, c + QPoint(80, 30), Qt::LeftButton, Qt::NoButton);
        settle();
        double after[3];
        camera->GetPosition(after);
        const double moved = std::hypot(after[0] - before[0], after[1] - before[1], after[2] - before[2]);
        QVERIFY2(moved > 1.0, qPrintable(QString("camera moved %1 mm").arg(moved)));
        view->resetCamera();
    }

    void slicesShowLabelsAndLetters() {
        SliceView* axial = m_window->sliceView(0);
        QCOMPARE(QString::fromStdString(axial->axes().left), QString("R"));
        QCOMPARE(QString::fromStdString(axial->axes().top), QString("A"));
        // Move the cursor into the ventral label; the coronal slice through it shows ventral colour.
        const std::array<int64_t, 3> ventralVoxel{20, 8, 10};
        m_window->document()->setCursor(ventralVoxel);
        SliceView* coronal = m_window->sliceView(1);
        const auto p = soului::pixelOf(coronal->axes(), m_window->document()->volume().dims, ventralVoxel);
        const QColor shown = coronal->sliceImage().pixelColor(static_cast<int>(p[0]), static_cast<int>(p[1]));
        QVERIFY2(shown.red() > shown.green() + 40 && shown.red() > shown.blue() + 40, qPrintable(shown.name()));
        m_window->document()->setLabelVisible(5, false);
        const QColor hidden = coronal->sliceImage().pixelColor(static_cast<int>(p[0]), static_cast<int>(p[1]));
        QVERIFY2(std::abs(hidden.red() - hidden.green()) < 3 && hidden.red() > 60, qPrintable(hidden.name()));  // grey brain
        m_window->document()->setLabelVisible(5, true);
    }

    void clickLinksCrosshairs() {
        SliceView* axial = m_window->sliceView(0);
        m_window->document()->setCursor({20, 24, 20});
        const QRectF r = axial->imageRect();
        const QPoint target(static_cast<int>(r.x() + r.width() * 0.25), static_cast<int>(r.y() + r.height() * 0.75));
        const auto expected = axial->voxelAtPosition(target);
        QVERIFY(expected.has_value());
        QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier, target);
        const auto cursor = m_window->document()->cursor();
        QCOMPARE(cursor, *expected);
        QCOMPARE(cursor[2], int64_t(20));     // axial click keeps the axial slice
        // radiological: a point left of centre is on the subject's right: smaller i (RAS-stored)
        QVERIFY(cursor[0] > 20);
        QVERIFY(cursor[1] < 24);              // below centre: posterior
        auto* status = m_window->findChild<QLabel*>("voxelStatus");
        QVERIFY(status->text().contains(QString("IJK %1 %2 %3").arg(cursor[0]).arg(cursor[1]).arg(cursor[2])));
        QVERIFY(status->text().contains("RAS"));
        QVERIFY(status->text().contains("label"));
    }

    void screenshotSizes_data() {
        QTest::addColumn<QString>("view");
        QTest::addColumn<int>("scale");
        QTest::addColumn<bool>("transparent");
        QTest::newRow("3d 1x") << "3d" << 1 << false;
        QTest::newRow("3d 3x transparent") << "3d" << 3 << true;
        QTest::newRow("axial 2x") << "axial" << 2 << false;
        QTest::newRow("sagittal 4x transparent") << "sagittal" << 4 << true;
    }
    void screenshotSizes() {
        QFETCH(QString, view);
        QFETCH(int, scale);
        QFETCH(bool, transparent);
        ExportView which;
        QVERIFY(parseExportView(view, &which));
        const QString file = path("shot-" + view.toStdString() + std::to_string(scale) + ".png");
        QString error;
        QVERIFY2(m_window->exportScreenshot(which, file, scale, transparent, &error), qPrintable(error));
        const QImage png(file);
        QWidget* source = view == "3d" ? static_cast<QWidget*>(m_window->brainView()) : m_window->sliceView(2);
        if (view == "axial") source = m_window->sliceView(0);
        const QSize expected = source->size() * source->devicePixelRatio() * scale;
        QCOMPARE(png.size(), expected);
        QCOMPARE(png.hasAlphaChannel(), transparent);
        if (transparent) QVERIFY(qAlpha(png.pixel(1, 1)) == 0);  // the corner is background
        QVERIFY(countNear(png, soul::nsd_streams_table().colour_of(7), 120) > 0 || view != "3d");
    }

    void histogramFollowsWindow() {
        auto* histogram = m_window->findChild<soului::HistogramPlot*>("histogram");
        QVERIFY(histogram);
        QCOMPARE(histogram->binCount(), 128);
        // The brain's intensities lie in 70..100: the histogram's mass is there.
        double inside = 0, total = 0;
        for (auto it = histogram->plot()->graph(0)->data()->begin(); it != histogram->plot()->graph(0)->data()->end(); ++it) {
            if (it->value < 1) continue;
            total += it->value;
            if (it->key > 69 && it->key < 101) inside += it->value;
        }
        QVERIFY2(inside > 0.95 * total, qPrintable(QString("%1 of %2").arg(inside).arg(total)));
        // A drag across the plot sets the window.
        QCustomPlot* plot = histogram->plot();
        const int y = plot->height() / 2;
        const int x0 = static_cast<int>(plot->xAxis->coordToPixel(75)), x1 = static_cast<int>(plot->xAxis->coordToPixel(95));
        sendMouse(plot, QEvent::MouseButtonPress, QPoint(x0, y), Qt::LeftButton, Qt::LeftButton);
        sendMouse(plot, QEvent::MouseButtonRelease, QPoint(x1, y), Qt::LeftButton, Qt::NoButton);
        QVERIFY(std::abs(m_window->document()->windowLow() - 75) < 1.5);
        QVERIFY(std::abs(m_window->document()->windowHigh() - 95) < 1.5);
        auto* high = m_window->findChild<QDoubleSpinBox*>("windowHigh");
        QVERIFY(std::abs(high->value() - m_window->document()->windowHigh()) < 1e-3);  // the box shows 3 decimals
        openBrain();
    }

    void screenshotBadArguments() {
        QString error;
        QVERIFY(!m_window->exportScreenshot(ExportView::Axial, path("x.png"), 5, false, &error));
        QVERIFY(error.contains("scale"));
        QVERIFY(!m_window->exportScreenshot(ExportView::Axial, path("no/such/folder/x.png"), 1, false, &error));
        QVERIFY(error.contains("could not be written"));
    }

    // Each bad input: a dialog naming the file and the problem; what was shown stays.
    void badInputsShowDialogs_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("problem");
        QTest::newRow("missing file") << "missing" << "no such file";
        QTest::newRow("not nifti") << "text" << "not a NIfTI file";
        QTest::newRow("truncated gz") << "truncated" << "truncated";
        QTest::newRow("labels elsewhere") << "far-labels" << "does not overlap";
    }
    void badInputsShowDialogs() {
        QFETCH(QString, kind);
        QFETCH(QString, problem);
        closeDialogs();
        std::ofstream(path("text.nii").toStdString()) << "not an image: some words that are long enough.......";
        truncateCopy(m_brain.volume, path("truncated.nii.gz").toStdString(), 0.4);
        {
            soul::Volume labels = soul::read_nifti(m_brain.labels);
            labels.ijk_to_ras(0, 3) += 500;
            soul::write_nifti(labels, path("far-labels.nii.gz").toStdString(), soul::StoredType::uint8);
        }
        const QString file = kind == "missing" ? path("missing.nii.gz")
                             : kind == "text"  ? path("text.nii")
                             : kind == "truncated" ? path("truncated.nii.gz")
                                                   : path("far-labels.nii.gz");
        const bool ok = kind == "far-labels" ? m_window->openLabels(file) : m_window->openVolume(file);
        QVERIFY(!ok);
        QMessageBox* box = errorDialog();
        QVERIFY2(box, "no error dialog");
        QVERIFY(box->isVisible());
        QVERIFY2(box->text().contains(file), qPrintable(box->text()));
        QVERIFY2(box->text().contains(problem), qPrintable(box->text()));
        // The brain and its labels are still shown.
        QCOMPARE(m_window->document()->volumePath(), QString::fromStdString(m_brain.volume));
        QVERIFY(m_window->document()->hasLabels());
        closeDialogs();
    }

    void labelsOnAnotherGridAreResampled() {
        closeDialogs();
        soul::Volume labels = soul::read_nifti(m_brain.labels);
        soul::Volume coarse;
        coarse.dims = {20, 24, 20};
        coarse.ijk_to_ras.m = {3.6, 0, 0, -35.1, 0, 3.6, 0, -42.1, 0, 0, 3.6, -35.1, 0, 0, 0, 1};
        coarse = soul::resample_nearest(labels, coarse);
        soul::write_nifti(coarse, path("streams-3.6mm.nii.gz").toStdString(), soul::StoredType::uint8);
        QVERIFY(m_window->openLabels(path("streams-3.6mm.nii.gz")));
        QVERIFY(m_window->document()->lastNotice().contains("resampled"));
        QVERIFY(!errorDialog());
        openBrain();
    }

    void fourDimensionalIndex() {
        closeDialogs();
        NiftiSpec s;
        s.dims = {10, 12, 8, 4};
        s.sform_code = 1;
        writeNifti(path("series.nii.gz").toStdString(), s, ramp(s));
        QVERIFY(m_window->openVolume(path("series.nii.gz")));
        QCOMPARE(m_window->document()->frameCount(), int64_t(4));
        QVERIFY(m_window->setFrame(3));
        QCOMPARE(m_window->document()->volume().at(0, 0, 0), 3.0f * 960);
        QVERIFY(!m_window->setFrame(4));
        QVERIFY(errorDialog());
        QVERIFY(errorDialog()->text().contains("out of range"));
        QCOMPARE(m_window->document()->frameIndex(), int64_t(3));
        closeDialogs();
        openBrain();
    }

    void defaultIsThePhantomWhenGenerated() {
        soul::PhantomOptions o;
        o.out = m_dir + "/phantom";
        o.sessions = 1;
        soul::generate_phantom(o);
        qputenv("SOUL_PHANTOM_DIR", QByteArray::fromStdString(o.out));
        MainWindow window;
        window.resize(900, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.openDefault());
        QVERIFY(window.document()->volumePath().endsWith("betas_session01.nii.gz"));
        QCOMPARE(window.document()->frameCount(), int64_t(750));
        QCOMPARE(window.document()->labelVoxelCounts().size(), size_t(7));   // NSD's seven streams
        QCOMPARE(window.document()->colormapName(), QString("coolwarm"));
        QCOMPARE(window.document()->windowLow(), -window.document()->windowHigh());
        // The 3D view shows the stream surfaces with the thresholded betas painted on them, and
        // without the painting in NSD's stream colours.
        const auto table = soului::colormap("coolwarm");
        const QImage painted = window.brainView()->renderImage();
        const int ends = countNear(painted, table[0]) + countNear(painted, table[255]);
        QVERIFY2(ends > 50, qPrintable(QString("colour-map ends on the surfaces: %1 pixels").arg(ends)));
        window.findChild<QCheckBox*>("surfaceActivity")->setChecked(false);
        const QImage image = window.brainView()->renderImage();
        const soul::LabelTable t = soul::nsd_streams_table();
        QVERIFY(countNear(image, t.colour_of(soul::nsd::kParietal)) > 200);
        QVERIFY(window.setFrame(749));
        qunsetenv("SOUL_PHANTOM_DIR");
    }

    // First start: the progress dialog reports, Cancel stops it, and nothing half-written is left.
    void firstStartCancelLeavesNothing() {
        const QString phantom = path("first-start/phantom");
        qputenv("SOUL_PHANTOM_DIR", phantom.toUtf8());
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        bool sawProgress = false;
        QTimer poll;
        connect(&poll, &QTimer::timeout, &window, [&] {
            auto* dialog = window.findChild<QProgressDialog*>("defaultSubjectProgress");
            if (dialog && dialog->value() > 0 && !sawProgress) {
                sawProgress = true;
                auto* button = dialog->findChild<QPushButton*>();   // what a user clicks
                QVERIFY(button);
                button->click();
            }
        });
        poll.start(20);
        QVERIFY(!window.makeDefaultSubject());
        poll.stop();
        QVERIFY(sawProgress);
        QVERIFY(window.statusBar()->currentMessage().contains("cancelled"));
        QVERIFY(!QDir(phantom).exists());
        QVERIFY(!QDir(phantom + ".partial").exists());
        QVERIFY(!QDir(phantom + "-prepared-64.partial").exists());
        qunsetenv("SOUL_PHANTOM_DIR");
    }

    // A missing data package: the error names it and how to install it; nothing is written.
    void firstStartNamesAMissingPackage() {
        const QString phantom = path("first-start-2/phantom");
        qputenv("SOUL_PHANTOM_DIR", phantom.toUtf8());
        qputenv("SOUL_MRICRON_DIR", path("no-mricron").toUtf8());
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        QVERIFY(!window.makeDefaultSubject());
        QVERIFY2(window.lastError().contains("mricron-data") && window.lastError().contains("apt-get install"), qPrintable(window.lastError()));
        QVERIFY(!QDir(phantom).exists());
        qunsetenv("SOUL_MRICRON_DIR");
        qunsetenv("SOUL_PHANTOM_DIR");
    }

    void defaultBrainFromMricron() {
        if (!QFile::exists("/usr/share/mricron/templates/ch2bet.nii.gz")) QSKIP("mricron-data is not installed");
        qputenv("SOUL_PHANTOM_DIR", QByteArray::fromStdString(m_dir + "/no-phantom-here"));
        MainWindow window;
        window.resize(900, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.openDefault());
        QCOMPARE(window.document()->volume().dims, (std::array<int64_t, 3>{181, 217, 181}));
        QVERIFY(window.document()->labelVoxelCounts().size() >= 116);
        QVERIFY(window.document()->labelVisible(43));    // Calcarine_L
        QVERIFY(!window.document()->labelVisible(1));    // Precentral_L
        settle();
        const QImage image = window.brainView()->renderImage();
        // Calcarine's colour from aal.nii.lut shows in the 3D view.
        const auto calcarine = window.document()->labelTable().colour_of(43);
        int coloured = 0;
        for (int v : {43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62})
            coloured += countNear(image, window.document()->labelTable().colour_of(v), 30);
        Q_UNUSED(calcarine);
        QVERIFY2(coloured > 500, qPrintable(QString("visual-label pixels: %1").arg(coloured)));
        qunsetenv("SOUL_PHANTOM_DIR");
    }
};

int main(int argc, char** argv) {
    soului::VtkGLWidget::setDefaultSurfaceFormat();
    QApplication app(argc, argv);
    TestStudio test;
    return QTest::qExec(&test, argc, argv);
}
#include "tst_studio.moc"
