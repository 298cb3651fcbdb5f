#include "MainWindow.h"

#include "ReconstructionRunner.h"
#include "TrainingPanel.h"
#include "WorkbenchPanel.h"

#include "BrainView.h"
#include "DefaultData.h"
#include "DisplayPanel.h"
#include "LabelPanel.h"
#include "SliceView.h"
#include "ProgressJob.h"
#include "VolumeDocument.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPainter>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTimer>
#include <QTextStream>

#include "soul/default_subject.h"
#include "soul/error.h"

#include <cstdio>

bool parseExportView(const QString& name, ExportView* view) {
    static const QMap<QString, ExportView> names = {{"3d", ExportView::View3D}, {"axial", ExportView::Axial},
                                                    {"coronal", ExportView::Coronal}, {"sagittal", ExportView::Sagittal},
                                                    {"window", ExportView::Window}, {"workbench", ExportView::Workbench}};
    if (!names.contains(name.toLower())) return false;
    *view = names.value(name.toLower());
    return true;
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setObjectName("mainWindow");
    setWindowTitle("SoulDiffuser Studio");
    m_document = new soului::VolumeDocument(this);

    auto* central = new QWidget(this);
    auto* grid = new QGridLayout(central);
    grid->setContentsMargins(2, 2, 2, 2);
    grid->setSpacing(2);
    m_brainView = new soului::BrainView(m_document, central);
    m_slices[0] = new soului::SliceView(m_document, soului::SliceOrientation::Axial, central);
    m_slices[1] = new soului::SliceView(m_document, soului::SliceOrientation::Coronal, central);
    m_slices[2] = new soului::SliceView(m_document, soului::SliceOrientation::Sagittal, central);
    grid->addWidget(m_brainView, 0, 0);
    grid->addWidget(m_slices[0], 0, 1);
    grid->addWidget(m_slices[1], 1, 0);
    grid->addWidget(m_slices[2], 1, 1);
    setCentralWidget(central);

    auto* displayDock = new QDockWidget(tr("Display"), this);
    displayDock->setObjectName("displayDock");
    m_displayPanel = new soului::DisplayPanel(m_document, displayDock);
    displayDock->setWidget(m_displayPanel);
    addDockWidget(Qt::LeftDockWidgetArea, displayDock);
    auto* labelDock = new QDockWidget(tr("Labels"), this);
    labelDock->setObjectName("labelDock");
    m_labelPanel = new soului::LabelPanel(m_document, labelDock);
    labelDock->setWidget(m_labelPanel);
    addDockWidget(Qt::LeftDockWidgetArea, labelDock);
    auto* workbenchDock = new QDockWidget(tr("Reconstruction"), this);
    workbenchDock->setObjectName("workbenchDock");
    m_workbench = new soului::WorkbenchPanel(workbenchDock);
    workbenchDock->setWidget(m_workbench);
    addDockWidget(Qt::BottomDockWidgetArea, workbenchDock);
    auto* trainingDock = new QDockWidget(tr("Training"), this);
    trainingDock->setObjectName("trainingDock");
    m_training = new soului::TrainingPanel(trainingDock);
    m_training->setDefaults(defaultPreparedDir(), defaultTrainingConfig(),
                            QDir::homePath() + "/souldiffuser-runs/phantom-small");
    trainingDock->setWidget(m_training);
    tabifyDockWidget(workbenchDock, trainingDock);
    workbenchDock->raise();
    // The brain views follow the selected trial once its reconstruction is on screen: loading a
    // volume and rebuilding the stream surfaces would otherwise delay the first previews.
    connect(m_workbench, &soului::WorkbenchPanel::trialSelected, this, [this](const soul::TrialRef& trial) {
        m_pendingTrial = trial;
        m_trialPending = true;
    });
    connect(m_workbench, &soului::WorkbenchPanel::reconstructionShown, this, [this] {
        if (!m_trialPending) return;
        m_trialPending = false;
        QTimer::singleShot(0, this, [this] { showTrialBetas(m_pendingTrial); });   // after the image is painted
    });
    connect(m_workbench, &soului::WorkbenchPanel::attributionVolume, this, [this](const soul::Volume& volume, const QString& output) {
        showInViews(volume, QString("attribution-%1").arg(QString(output).replace(' ', '-')));
    });
    connect(m_workbench, &soului::WorkbenchPanel::sessionReady, this, [this](bool ok, const QString& message) {
        if (!ok) showError(message);
    });

    m_voxelStatus = new QLabel(this);
    m_voxelStatus->setObjectName("voxelStatus");
    statusBar()->addWidget(m_voxelStatus, 1);
    for (auto* slice : m_slices)
        connect(slice, &soului::SliceView::hovered, this, [this](const QString& text) {
            if (!text.isEmpty()) m_voxelStatus->setText(text);
        });
    connect(m_document, &soului::VolumeDocument::cursorChanged, this,
            [this] { m_voxelStatus->setText(m_document->describeVoxel(m_document->cursor())); });
    connect(m_displayPanel, &soului::DisplayPanel::volumeRenderingToggled, m_brainView, &soului::BrainView::setVolumeRendering);
    connect(m_displayPanel, &soului::DisplayPanel::frameRejected, this, &MainWindow::showError);

    buildMenus();
    m_lastFolder = QSettings().value("lastFolder").toString();
    resize(1280, 860);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("Open &Volume…"), this, &MainWindow::chooseVolume);
    open->setObjectName("actionOpenVolume");
    open->setShortcut(QKeySequence::Open);
    QAction* labels = file->addAction(tr("Open &Labels…"), this, &MainWindow::chooseLabels);
    labels->setObjectName("actionOpenLabels");
    labels->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    QAction* shot = file->addAction(tr("&Export Screenshot…"), this, &MainWindow::chooseScreenshot);
    shot->setObjectName("actionExportScreenshot");
    shot->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    QAction* figure = file->addAction(tr("Export &Figure…"), this, &MainWindow::chooseFigure);
    figure->setObjectName("actionExportFigure");
    figure->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    file->addSeparator();
    file->addAction(tr("&Quit"), qApp, &QApplication::quit)->setShortcut(QKeySequence::Quit);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    QAction* neuro = view->addAction(tr("&Neurological convention (right is right)"));
    neuro->setObjectName("actionNeurological");
    neuro->setCheckable(true);
    connect(neuro, &QAction::toggled, this, [this](bool on) {
        for (auto* s : m_slices) s->setRadiological(!on);
    });
    view->addAction(tr("&Reset 3D camera"), m_brainView, &soului::BrainView::resetCamera)->setObjectName("actionResetCamera");
}

void MainWindow::showError(const QString& message) {
    m_lastError = message;
    std::fprintf(stderr, "souldiffuser-studio: %s\n", qPrintable(message));
    statusBar()->showMessage(message, 10000);
    if (!m_errorDialogs) return;
    auto* box = new QMessageBox(QMessageBox::Critical, tr("SoulDiffuser Studio"), message, QMessageBox::Ok, this);
    box->setObjectName("errorDialog");
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

bool MainWindow::openVolume(const QString& path) {
    QApplication::setOverrideCursor(Qt::WaitCursor);
    const bool ok = m_document->openVolume(path);
    QApplication::restoreOverrideCursor();
    if (!ok) {
        showError(m_document->lastError());
        return false;
    }
    setWindowTitle(QString("SoulDiffuser Studio — %1").arg(QFileInfo(path).fileName()));
    return true;
}

bool MainWindow::openLabels(const QString& path, const QList<int>& initiallyVisible) {
    if (!m_document->hasVolume()) {
        showError(path + ": open an image volume first; labels are shown over it");
        return false;
    }
    QApplication::setOverrideCursor(Qt::WaitCursor);
    soului::LoadedLabels loaded = soului::VolumeDocument::loadLabels(path, m_document->volume());
    for (int v : initiallyVisible) loaded.initiallyVisible.insert(v);
    const bool ok = m_document->setLabels(loaded);
    QApplication::restoreOverrideCursor();
    if (!ok) {
        showError(m_document->lastError());
        return false;
    }
    if (!m_document->lastNotice().isEmpty()) statusBar()->showMessage(m_document->lastNotice(), 10000);
    return true;
}

bool MainWindow::setFrame(int index) {
    if (!m_document->setFrameIndex(index)) {
        showError(m_document->lastError());
        return false;
    }
    return true;
}

void MainWindow::openSession(const QString& run, const QString& data) {
    m_workbench->openSession(run, data);
}

void MainWindow::showTrialBetas(const soul::TrialRef& trial) {
    const soul::ReconstructionEngine* engine = m_workbench->runner()->engine();
    if (!engine) return;
    const soul::PreparedDataset& d = engine->dataset();
    const soul::Volume v = d.to_source_volume(d.betas(trial.split, trial.row));   // z-scored betas in the subject's grid
    showInViews(v, QString("trial-%1-%2").arg(trial.split == soul::Split::Test ? "test" : "train").arg(trial.row));
}

// The streams stay visible over a trial's values without hiding them.
constexpr double kStreamOpacityOverValues = 0.35;

void MainWindow::showInViews(const soul::Volume& volume, const QString& name) {
    const QString labels = m_document->hasLabels() ? m_document->labelsPath() : QString();
    if (!m_document->setVolume(soului::VolumeDocument::inMemory(volume, name))) {
        showError(m_document->lastError());
        return;
    }
    setWindowTitle(QString("SoulDiffuser Studio — %1").arg(name));
    if (!labels.isEmpty() && openLabels(labels))
        for (const soul::Label& label : m_document->labelTable().labels()) m_document->setLabelOpacity(label.value, kStreamOpacityOverValues);
    // Signed values (z-scored betas, attributions): a diverging map and a symmetric window.
    const double extent = std::max(std::abs(m_document->windowLow()), std::abs(m_document->windowHigh()));
    m_document->setColormapName("coolwarm");
    m_document->setWindow(-extent, extent);
}

bool MainWindow::openDefault() {
    const DefaultData d = defaultData();
    if (!d.missing.isEmpty()) {
        showError(d.missing);
        return false;
    }
    if (!openVolume(d.volume) || !openLabels(d.labels, d.visibleLabels)) return false;
    if (!d.model.isEmpty()) openSession(d.model, d.prepared);
    if (d.phantom) {
        // Betas are signed (percent signal change × 300): a diverging map, symmetric window, and
        // the stream surfaces in 3D rather than a volume rendering of noise.
        const double extent = std::max(std::abs(m_document->windowLow()), std::abs(m_document->windowHigh()));
        m_document->setColormapName("coolwarm");
        m_document->setWindow(-extent, extent);
        m_displayPanel->setVolumeRendering(false);
    }
    return true;
}

bool MainWindow::makeDefaultSubject() {
    const soul::DefaultSubject subject = soul::default_subject();
    if (soul::phantom_complete(subject.phantom) && soul::prepared_complete(subject.prepared)) return true;
    const soului::ProgressJobResult job =
        soului::runWithProgress(this, tr("SoulDiffuser Studio: first start"),
                        tr("Making the default subject (once): the phantom and its preparation for the shipped model\n%1").arg(QString::fromStdString(subject.phantom)),
                        "defaultSubjectProgress", [&subject](const soul::Progress& progress) { soul::make_default_subject(subject, progress); });
    if (job.cancelled) {
        statusBar()->showMessage(tr("The default subject was not made (cancelled); it is made on the next start."), 10000);
        return false;
    }
    if (!job.error.isEmpty()) {
        showError(tr("The default subject could not be made: %1").arg(job.error));
        return false;
    }
    return true;
}

void MainWindow::chooseVolume() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open volume"), m_lastFolder,
                                                      tr("NIfTI (*.nii *.nii.gz);;All files (*)"));
    if (path.isEmpty()) return;
    m_lastFolder = QFileInfo(path).absolutePath();
    QSettings().setValue("lastFolder", m_lastFolder);
    openVolume(path);
}

void MainWindow::chooseLabels() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open label volume"), m_lastFolder,
                                                      tr("NIfTI (*.nii *.nii.gz);;All files (*)"));
    if (path.isEmpty()) return;
    m_lastFolder = QFileInfo(path).absolutePath();
    QSettings().setValue("lastFolder", m_lastFolder);
    openLabels(path);
}

bool MainWindow::exportScreenshot(ExportView view, const QString& file, int scale, bool transparent, QString* error) {
    auto fail = [&](const QString& message) {
        if (error) *error = message;
        return false;
    };
    if (scale < 1 || scale > 4) return fail(QString("%1: scale must be 1 to 4, not %2").arg(file).arg(scale));
    QImage image;
    switch (view) {
        case ExportView::View3D: image = m_brainView->renderImage(scale, transparent); break;
        case ExportView::Axial: image = m_slices[0]->renderImage(scale, transparent); break;
        case ExportView::Coronal: image = m_slices[1]->renderImage(scale, transparent); break;
        case ExportView::Sagittal: image = m_slices[2]->renderImage(scale, transparent); break;
        case ExportView::Window:
        case ExportView::Workbench: {
            const QImage shot = (view == ExportView::Window ? grab() : m_workbench->grab()).toImage();
            image = shot.scaled(shot.size() * scale, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
            break;
        }
    }
    if (image.isNull()) return fail(file + ": the view has not been rendered yet (is it shown?)");
    if (!image.save(file, "PNG")) return fail(file + ": could not be written (folder missing or not writable?)");
    return true;
}

void MainWindow::chooseFigure() {
    QDialog dialog(this);
    dialog.setObjectName("figureDialog");
    dialog.setWindowTitle(tr("Export figure"));
    auto* form = new QFormLayout(&dialog);
    auto* kind = new QComboBox(&dialog);
    kind->setObjectName("figureKind");
    kind->addItem(tr("Comparison: stimulus | reconstruction | low-level | palette | edges"), "comparison");
    kind->addItem(tr("Denoising strip"), "denoising");
    kind->addItem(tr("Dissociation: the trial with each pathway off"), "dissociation");
    kind->addItem(tr("Stream contribution chart"), "chart");
    auto* scale = new QSpinBox(&dialog);
    scale->setObjectName("figureScale");
    scale->setRange(1, 4);
    scale->setSuffix("×");
    form->addRow(tr("Figure"), kind);
    form->addRow(tr("Resolution"), scale);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    if (dialog.exec() != QDialog::Accepted) return;
    const bool chart = kind->currentData().toString() == "chart";
    const QString path = QFileDialog::getSaveFileName(this, tr("Save figure"), m_lastFolder,
                                                      chart ? tr("PDF (vector) (*.pdf);;PNG image (*.png)") : tr("PNG image (*.png)"));
    if (path.isEmpty()) return;
    m_lastFolder = QFileInfo(path).absolutePath();
    QSettings().setValue("lastFolder", m_lastFolder);
    QString error;
    if (!m_workbench->exportFigure(kind->currentData().toString(), path, scale->value(), &error)) showError(error);
    else statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
}

void MainWindow::chooseScreenshot() {
    QDialog dialog(this);
    dialog.setObjectName("screenshotDialog");
    dialog.setWindowTitle(tr("Export screenshot"));
    auto* form = new QFormLayout(&dialog);
    auto* view = new QComboBox(&dialog);
    view->setObjectName("screenshotView");
    view->addItems({"3d", "axial", "coronal", "sagittal", "window"});
    auto* scale = new QSpinBox(&dialog);
    scale->setObjectName("screenshotScale");
    scale->setRange(1, 4);
    scale->setSuffix("×");
    auto* transparent = new QCheckBox(tr("Transparent background"), &dialog);
    transparent->setObjectName("screenshotTransparent");
    form->addRow(tr("View"), view);
    form->addRow(tr("Resolution"), scale);
    form->addRow(transparent);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    if (dialog.exec() != QDialog::Accepted) return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Save screenshot"), m_lastFolder, tr("PNG image (*.png)"));
    if (path.isEmpty()) return;
    m_lastFolder = QFileInfo(path).absolutePath();
    QSettings().setValue("lastFolder", m_lastFolder);
    ExportView which = ExportView::View3D;
    parseExportView(view->currentText(), &which);
    QString error;
    if (!exportScreenshot(which, path, scale->value(), transparent->isChecked(), &error)) showError(error);
    else statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
}
