#include "MainWindow.h"

#include "ReconstructionRunner.h"
#include "TrainingPanel.h"
#include "EvaluationPanel.h"
#include "WorkbenchPanel.h"

#include "BrainScene.h"
#include "BrainView.h"
#include "DefaultData.h"
#include "DisplayPanel.h"
#include "LabelPanel.h"
#include "LayerPanel.h"
#include "SliceView.h"
#include "StudioFigure.h"
#include "ProgressJob.h"
#include "VolumeDocument.h"

#include <QAction>
#include <QPalette>
#include <QStyleFactory>
#include <QStyle>
#include <QUrl>
#include <QMimeData>
#include <QDropEvent>
#include <QDragEnterEvent>
#include <QCloseEvent>
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
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTimer>
#include <QTextStream>

#include "soul/default_subject.h"
#include "soul/error.h"
#include "soul/volume.h"
#include "soul/runtime.h"

#include <cstdio>
#include <limits>

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
    auto* layerDock = new QDockWidget(tr("Layers"), this);
    layerDock->setObjectName("layerDock");
    auto* layerPanel = new soului::LayerPanel(m_document, layerDock);
    layerDock->setWidget(layerPanel);
    addDockWidget(Qt::LeftDockWidgetArea, layerDock);
    connect(layerPanel, &soului::LayerPanel::addOverlayRequested, this, &MainWindow::chooseOverlay);
    auto* labelDock = new QDockWidget(tr("Labels"), this);
    labelDock->setObjectName("labelDock");
    m_labelPanel = new soului::LabelPanel(m_document, labelDock);
    labelDock->setWidget(m_labelPanel);
    addDockWidget(Qt::LeftDockWidgetArea, labelDock);
    auto* workbenchDock = m_workbenchDock = new QDockWidget(tr("Reconstruction"), this);
    workbenchDock->setObjectName("workbenchDock");
    m_workbench = new soului::WorkbenchPanel(workbenchDock);
    workbenchDock->setWidget(m_workbench);
    addDockWidget(Qt::BottomDockWidgetArea, workbenchDock);
    auto* trainingDock = m_trainingDock = new QDockWidget(tr("Training"), this);
    trainingDock->setObjectName("trainingDock");
    m_training = new soului::TrainingPanel(trainingDock);
    m_training->setDefaults(defaultPreparedDir(), defaultTrainingConfig(),
                            QDir::homePath() + "/souldiffuser-runs/phantom-small");
    trainingDock->setWidget(m_training);
    tabifyDockWidget(workbenchDock, trainingDock);
    auto* evaluationDock = new QDockWidget(tr("Evaluation"), this);
    evaluationDock->setObjectName("evaluationDock");
    m_evaluation = new soului::EvaluationPanel(evaluationDock);
    evaluationDock->setWidget(m_evaluation);
    tabifyDockWidget(trainingDock, evaluationDock);
    workbenchDock->raise();
    // A new evaluation of the model in view is what the guided tour quotes from then on.
    connect(m_evaluation, &soului::EvaluationPanel::evaluationEnded, this, [this](bool ok, bool, const QString&, const QString& folder) {
        if (ok) m_workbench->loadEvaluation(folder);
    });
    connect(trainingDock, &QDockWidget::visibilityChanged, this, [this](bool visible) { m_trainingRaised = visible; });
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
        showAttribution(volume, output);
    });
    connect(m_workbench, &soului::WorkbenchPanel::groundTruthVolume, this, [this](const soul::Volume& volume, const QString& output) {
        const QString name = QString("truth-%1").arg(QString(output).replace(' ', '-'));
        if (!m_document->addOverlay(soului::VolumeDocument::inMemory(volume, name), name, tr("tuned"))) showError(m_document->lastError());
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
    connect(m_displayPanel, &soului::DisplayPanel::surfaceActivityToggled, m_brainView, &soului::BrainView::setSurfaceActivity);
    connect(m_displayPanel, &soului::DisplayPanel::frameRejected, this, &MainWindow::showError);

    buildMenus();
    m_lastFolder = QSettings().value("lastFolder").toString();
    resize(1280, 860);
    setAcceptDrops(true);
}

namespace {

// Bumped when the docks change, so that an old saved layout is not forced on new docks.
constexpr int kLayoutVersion = 1;

bool isNifti(const QString& path) {
    const QString p = path.toLower();
    return p.endsWith(".nii") || p.endsWith(".nii.gz") || p.endsWith(".hdr") || p.endsWith(".img");
}

QStringList localFiles(const QMimeData* mime) {
    QStringList files;
    if (!mime || !mime->hasUrls()) return files;
    for (const QUrl& url : mime->urls())
        if (url.isLocalFile()) files << url.toLocalFile();
    return files;
}

}  // namespace

void MainWindow::setTheme(const QString& theme) {
    static const QPalette desktop = QApplication::palette();   // the light theme: as the desktop has it
    static const QString desktopStyle = QApplication::style()->name();   // setStyle deletes the old style
    if (theme == "dark") {
        QApplication::setStyle(QStyleFactory::create("Fusion"));
        QPalette dark;
        dark.setColor(QPalette::Window, QColor(45, 47, 52));
        dark.setColor(QPalette::WindowText, QColor(225, 225, 225));
        dark.setColor(QPalette::Base, QColor(30, 31, 35));
        dark.setColor(QPalette::AlternateBase, QColor(45, 47, 52));
        dark.setColor(QPalette::Text, QColor(225, 225, 225));
        dark.setColor(QPalette::Button, QColor(55, 57, 63));
        dark.setColor(QPalette::ButtonText, QColor(225, 225, 225));
        dark.setColor(QPalette::ToolTipBase, QColor(30, 31, 35));
        dark.setColor(QPalette::ToolTipText, QColor(225, 225, 225));
        dark.setColor(QPalette::Highlight, QColor(60, 130, 200));
        dark.setColor(QPalette::HighlightedText, Qt::white);
        dark.setColor(QPalette::Disabled, QPalette::Text, QColor(120, 120, 120));
        dark.setColor(QPalette::Disabled, QPalette::WindowText, QColor(120, 120, 120));
        dark.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(120, 120, 120));
        QApplication::setPalette(dark);
        m_theme = "dark";
    } else {
        QApplication::setStyle(desktopStyle);
        QApplication::setPalette(desktop);
        m_theme = "light";
    }
    for (QAction* a : m_themeGroup->actions()) a->setChecked(a->objectName() == "actionTheme-" + m_theme);
    if (m_rememberLayout) QSettings().setValue("theme", m_theme);
}

void MainWindow::rememberLayout() {
    const QSettings settings;
    setTheme(settings.value("theme", "light").toString());
    restoreGeometry(settings.value("windowGeometry").toByteArray());
    restoreState(settings.value("windowState").toByteArray(), kLayoutVersion);
    m_rememberLayout = true;
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_rememberLayout) {
        QSettings settings;
        settings.setValue("windowGeometry", saveGeometry());
        settings.setValue("windowState", saveState(kLayoutVersion));
    }
    QMainWindow::closeEvent(event);
}

void MainWindow::offerLastSession() {
    const QString last = recentSessions().value(0);
    if (last.isEmpty() || !QFileInfo::exists(last)) return;
    m_reopenLast = new QPushButton(tr("Reopen last session: %1").arg(QFileInfo(last).fileName()), this);
    m_reopenLast->setObjectName("reopenLastSession");
    m_reopenLast->setToolTip(last);
    m_reopenLast->setFlat(true);
    statusBar()->addPermanentWidget(m_reopenLast);
    connect(m_reopenLast, &QPushButton::clicked, this, [this, last] { openSessionFile(last); });
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const QStringList files = localFiles(event->mimeData());
    const bool usable = !files.isEmpty() && std::all_of(files.begin(), files.end(), [](const QString& f) {
        return isNifti(f) || f.endsWith(".json", Qt::CaseInsensitive);
    });
    if (usable) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QStringList files = localFiles(event->mimeData());
    if (files.isEmpty()) return;
    event->acceptProposedAction();
    openDroppedFiles(files, event->modifiers());
}

bool MainWindow::openDroppedFiles(const QStringList& paths, Qt::KeyboardModifiers modifiers) {
    bool ok = true;
    QStringList opened;
    for (const QString& path : paths) {
        bool done = false;
        QString as;
        if (path.endsWith(".json", Qt::CaseInsensitive)) {
            done = openSessionFile(path);
            as = tr("as the session");
        } else if (!isNifti(path)) {
            showError(tr("%1: not a NIfTI volume (.nii, .nii.gz, .hdr/.img) or a session (.json)").arg(path));
        } else if (modifiers & Qt::ControlModifier) {
            done = openUnderlay(path);
            as = tr("as the underlay");
        } else if (modifiers & Qt::ShiftModifier) {
            done = openLabels(path);
            as = tr("as the labels");
        } else if (modifiers & Qt::AltModifier) {
            done = openOverlay(path);
            as = tr("as an overlay");
        } else {
            done = openVolume(path);
            as = tr("as the volume");
        }
        ok = ok && done;
        if (done) opened << QString("%1 %2").arg(QFileInfo(path).fileName(), as);
    }
    if (ok && !opened.isEmpty())
        statusBar()->showMessage(tr("Opened %1 (drop with Ctrl: underlay, with Shift: labels, with Alt: an overlay)").arg(opened.join(", ")), 8000);
    return ok;
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
    QAction* underlay = file->addAction(tr("Open &Underlay…"), this, &MainWindow::chooseUnderlay);
    underlay->setObjectName("actionOpenUnderlay");
    underlay->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_U));
    QAction* overlay = file->addAction(tr("Open O&verlay…"), this, &MainWindow::chooseOverlay);
    overlay->setObjectName("actionOpenOverlay");
    overlay->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_U));
    file->addSeparator();
    QAction* openSession = file->addAction(tr("Open &Session…"), this, &MainWindow::chooseOpenSession);
    openSession->setObjectName("actionOpenSession");
    openSession->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    QAction* saveSession = file->addAction(tr("&Save Session…"), this, &MainWindow::chooseSaveSession);
    saveSession->setObjectName("actionSaveSession");
    saveSession->setShortcut(QKeySequence::Save);
    m_recentMenu = file->addMenu(tr("&Recent Sessions"));
    m_recentMenu->setObjectName("recentSessionsMenu");
    rebuildRecentMenu();
    file->addSeparator();
    QAction* figure = file->addAction(tr("Export &Figure…"), this, &MainWindow::chooseFigure);
    figure->setObjectName("actionExportFigure");
    figure->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    QAction* lightbox = file->addAction(tr("Export &Lightbox Figure…"), this, &MainWindow::chooseLightboxFigure);
    lightbox->setObjectName("actionExportLightbox");
    lightbox->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));
    file->addSeparator();
    file->addAction(tr("&Quit"), qApp, &QApplication::quit)->setShortcut(QKeySequence::Quit);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    m_neurological = view->addAction(tr("&Neurological convention (right is right)"));
    m_neurological->setObjectName("actionNeurological");
    m_neurological->setCheckable(true);
    m_neurological->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_N));
    connect(m_neurological, &QAction::toggled, this, [this](bool on) {
        for (auto* s : m_slices) s->setRadiological(!on);
    });
    m_colourBars = view->addAction(tr("&Colour bars"));
    m_colourBars->setObjectName("actionColourBars");
    m_colourBars->setCheckable(true);
    m_colourBars->setChecked(true);
    m_colourBars->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    connect(m_colourBars, &QAction::toggled, this, [this](bool on) {
        for (auto* s : m_slices) s->setColourBarVisible(on);
    });
    QAction* reset = view->addAction(tr("&Reset 3D camera"), m_brainView, &soului::BrainView::resetCamera);
    reset->setObjectName("actionResetCamera");
    reset->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_glassBrain = view->addAction(tr("&Glass brain (see-through surfaces)"));
    m_glassBrain->setObjectName("actionGlassBrain");
    m_glassBrain->setCheckable(true);
    m_glassBrain->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
    connect(m_glassBrain, &QAction::toggled, m_brainView, &soului::BrainView::setGlassBrain);
    QMenu* themes = view->addMenu(tr("&Theme"));
    m_themeGroup = new QActionGroup(this);
    for (const auto& [name, text] : {std::pair{"light", tr("&Light")}, std::pair{"dark", tr("&Dark")}}) {
        QAction* a = themes->addAction(text, this, [this, theme = QString(name)] { setTheme(theme); });
        a->setObjectName(QString("actionTheme-%1").arg(name));
        a->setCheckable(true);
        a->setChecked(m_theme == name);
        m_themeGroup->addAction(a);
    }
    view->addSeparator();
    // One click (or key) to the standard views of a cortical figure.
    const std::array<std::tuple<soului::ViewSide, QString, QString>, 6> sides{{
        {soului::ViewSide::Left, tr("3D from the &left"), "Left"},
        {soului::ViewSide::Right, tr("3D from the r&ight"), "Right"},
        {soului::ViewSide::Posterior, tr("3D from &behind (posterior)"), "Posterior"},
        {soului::ViewSide::Anterior, tr("3D from the &front (anterior)"), "Anterior"},
        {soului::ViewSide::Superior, tr("3D from &above (superior)"), "Superior"},
        {soului::ViewSide::Inferior, tr("3D from below (&ventral)"), "Inferior"},
    }};
    for (size_t i = 0; i < sides.size(); ++i) {
        const auto& [side, text, name] = sides[i];
        QAction* a = view->addAction(text, this, [this, side = side] { m_brainView->viewFrom(side); });
        a->setObjectName("actionView" + name);
        a->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + static_cast<int>(i))));
    }

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* shortcuts = help->addAction(tr("&Keyboard Shortcuts"), this, &MainWindow::showShortcuts);
    shortcuts->setObjectName("actionShortcuts");
    shortcuts->setShortcut(QKeySequence(Qt::Key_F1));
    help->addAction(tr("&About SoulDiffuser Studio"), this, &MainWindow::showAbout)->setObjectName("actionAbout");
}

QString MainWindow::shortcutsText() const {
    QString text;
    for (QAction* menuAction : menuBar()->actions()) {
        const QMenu* menu = menuAction->menu();
        if (!menu) continue;
        for (const QAction* a : menu->actions())
            if (!a->shortcut().isEmpty())
                text += QString("%1\t%2 ▸ %3\n").arg(a->shortcut().toString(QKeySequence::NativeText),
                                                     QString(menuAction->text()).remove('&'), QString(a->text()).remove('&'));
    }
    text += tr("Page Up / Page Down\tnext / previous slice in the slice view under the mouse\n");
    text += tr("Click or drag\tmove the cursor (the crosshairs follow in every view)\n");
    return text;
}

void MainWindow::showShortcuts() {
    auto* box = new QMessageBox(QMessageBox::NoIcon, tr("Keyboard shortcuts"), QString(), QMessageBox::Close, this);
    box->setObjectName("shortcutsDialog");
    QString html = "<table>";
    for (const QString& line : shortcutsText().split('\n', Qt::SkipEmptyParts)) {
        const QStringList f = line.split('\t');
        html += QString("<tr><td><b>%1</b></td><td>&nbsp;&nbsp;%2</td></tr>").arg(f[0].toHtmlEscaped(), f.value(1).toHtmlEscaped());
    }
    box->setText(html + "</table>");
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::showAbout() {
    auto* box = new QMessageBox(QMessageBox::Information, tr("About SoulDiffuser Studio"),
                                tr("<b>SoulDiffuser Studio %1</b><br>Reconstructs the image a person saw from the fMRI volume recorded "
                                   "while they saw it, and shows how.<br><br>Qt %2 · VTK %3 · LibTorch %4 (%5)")
                                    .arg(QCoreApplication::applicationVersion(), qVersion(), soului::vtkVersionText(),
                                         QString::fromStdString(soul::torch_version()), QString::fromStdString(soul::default_device_name())),
                                QMessageBox::Close, this);
    box->setObjectName("aboutDialog");
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
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

// Opening a file usually takes a blink; a dialog with a progress bar and Cancel appears when it
// takes longer than this (an NSD session's 4D betas are gigabytes).
constexpr int kOpenProgressAfterMs = 400;

std::optional<soului::LoadedVolume> MainWindow::readVolume(const QString& path, const QString& role) {
    soului::LoadedVolume loaded;
    const soului::ProgressJobResult job = soului::runWithProgress(
        this, tr("Open %1").arg(role), tr("Reading %1").arg(QFileInfo(path).fileName()), "openProgress",
        [&](const soul::Progress& progress) { loaded = soului::VolumeDocument::loadVolume(path, progress); }, kOpenProgressAfterMs);
    if (job.cancelled) {
        statusBar()->showMessage(tr("Opening %1 cancelled; nothing changed").arg(path), 8000);
        return std::nullopt;
    }
    if (!job.error.isEmpty()) loaded.error = job.error;
    return loaded;
}

bool MainWindow::openVolume(const QString& path) {
    const std::optional<soului::LoadedVolume> loaded = readVolume(path, tr("volume"));
    if (!loaded) return false;
    const bool ok = m_document->setVolume(*loaded);
    if (!ok) {
        showError(m_document->lastError());
        return false;
    }
    m_volumeFromFile = true;
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
    return reportDocumentChange(ok);
}

// A change to the document: its error in a dialog, or its notice (a resampling) in the status bar.
bool MainWindow::reportDocumentChange(bool ok) {
    if (!ok) {
        showError(m_document->lastError());
        return false;
    }
    if (!m_document->lastNotice().isEmpty()) statusBar()->showMessage(m_document->lastNotice(), 10000);
    return true;
}

bool MainWindow::openUnderlay(const QString& path) {
    const std::optional<soului::LoadedVolume> loaded = readVolume(path, tr("underlay"));
    if (!loaded) return false;
    return reportDocumentChange(m_document->setUnderlay(*loaded));
}

bool MainWindow::openOverlay(const QString& path) {
    const std::optional<soului::LoadedVolume> loaded = readVolume(path, tr("overlay"));
    if (!loaded) return false;
    return reportDocumentChange(m_document->addOverlay(*loaded));
}

void MainWindow::showAttribution(const soul::Volume& volume, const QString& output) {
    const QString name = QString("attribution-%1").arg(QString(output).replace(' ', '-'));
    if (!m_document->hasVolume()) {
        showInViews(volume, name, tr("attribution"));
        return;
    }
    // One attribution at a time, over the trial's betas; the 3D view paints it.
    for (int layer = m_document->layerCount() - 1; layer >= 1; --layer)
        if (m_document->layerName(layer).startsWith("attribution-")) m_document->removeLayer(layer);
    if (!m_document->addOverlay(soului::VolumeDocument::inMemory(volume, name), name, tr("attribution"))) showError(m_document->lastError());
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
    m_evaluation->setRun(run, data);
}

void MainWindow::showTrialBetas(const soul::TrialRef& trial) {
    const soul::ReconstructionEngine* engine = m_workbench->runner()->engine();
    if (!engine) return;
    const soul::PreparedDataset& d = engine->dataset();
    const soul::Volume v = d.to_source_volume(d.betas(trial.split, trial.row));   // z-scored betas in the subject's grid
    showInViews(v, QString("trial-%1-%2").arg(trial.split == soul::Split::Test ? "test" : "train").arg(trial.row), tr("z-score"));
}

// The streams stay visible over a trial's values without hiding them.
constexpr double kStreamOpacityOverValues = 0.35;

void MainWindow::showInViews(const soul::Volume& volume, const QString& name, const QString& unit) {
    const QString labels = m_document->hasLabels() ? m_document->labelsPath() : QString();
    if (!m_document->setVolume(soului::VolumeDocument::inMemory(volume, name))) {
        showError(m_document->lastError());
        return;
    }
    m_volumeFromFile = false;
    setWindowTitle(QString("SoulDiffuser Studio — %1").arg(name));
    if (!labels.isEmpty() && openLabels(labels))
        for (const soul::Label& label : m_document->labelTable().labels()) m_document->setLabelOpacity(label.value, kStreamOpacityOverValues);
    // Signed values (z-scored betas, attributions): a diverging map and a symmetric window.
    const double extent = std::max(std::abs(m_document->windowLow()), std::abs(m_document->windowHigh()));
    m_document->setColormapName("coolwarm");
    m_document->setWindow(-extent, extent);
    m_document->setValueUnit(unit);
    if (m_document->hasUnderlay()) m_document->setSymmetricThreshold(soului::kSignedThresholdShare * extent);
    if (m_pendingDisplay) {
        // A session's trial: its layers, display and camera go over the betas now shown.
        const soului::StudioSession session = *m_pendingDisplay;
        m_pendingDisplay.reset();
        const bool errorDialogs = m_errorDialogs;
        m_errorDialogs = false;
        const QStringList failed = applyLayers(session);
        m_errorDialogs = errorDialogs;
        if (session.camera) m_brainView->setCamera(*session.camera);
        if (!failed.isEmpty()) showError(failed.join(" "));
    }
}

soului::StudioSession MainWindow::currentSession() const {
    soului::StudioSession s;
    const soului::VolumeDocument& d = *m_document;
    if (m_volumeFromFile) s.volumePath = QFileInfo(d.volumePath()).absoluteFilePath();
    s.frame = static_cast<int>(d.frameIndex());
    if (d.hasUnderlay()) {
        s.underlayPath = QFileInfo(d.underlayPath()).absoluteFilePath();
        s.underlayVisible = d.underlayVisible();
        s.underlayWindow = std::array<double, 2>{d.underlayLow(), d.underlayHigh()};
    }
    if (d.hasLabels()) {
        s.labelsPath = QFileInfo(d.labelsPath()).absoluteFilePath();
        for (const auto& [value, count] : d.labelVoxelCounts()) {
            if (d.labelVisible(value)) s.visibleLabels.push_back(value);
            if (d.labelOpacity(value) != 1.0) s.labelOpacity[value] = d.labelOpacity(value);
        }
    }
    s.display = d.display();
    for (const soului::Overlay& o : d.overlays())
        s.overlays.push_back({o.path.isEmpty() ? QString() : QFileInfo(o.path).absoluteFilePath(), o.name, o.display});
    s.selectedLayer = d.selectedLayer();
    s.interpolation = d.interpolation();
    if (d.hasVolume()) s.cursor = d.cursor();
    const soului::WorkbenchModel& model = m_workbench->model();
    if (!model.run().empty()) {
        s.modelRun = QString::fromStdString(model.run());
        s.modelData = QString::fromStdString(model.data());
        if (model.hasTrial()) s.trial = model.trial();
        s.sampler = model.sampler();
        s.streamsOff = model.streamsOff();
    }
    s.neurological = m_neurological->isChecked();
    s.colourBars = m_colourBars->isChecked();
    s.volumeRendering = m_brainView->volumeRendering();
    s.surfaceActivity = m_brainView->surfaceActivity();
    s.glassBrain = m_brainView->glassBrain();
    s.camera = m_brainView->camera();
    s.tab = m_trainingRaised ? "training" : "reconstruction";
    return s;
}

soului::StudioSession MainWindow::sessionFor(const QString& path) const {
    soului::StudioSession s = currentSession();
    const QString folder = QFileInfo(path).absolutePath() + "/" + QFileInfo(path).completeBaseName() + "-overlays";
    for (size_t i = 0; i < s.overlays.size(); ++i) {
        soului::SessionOverlay& o = s.overlays[i];
        if (!o.path.isEmpty()) continue;
        if (!QDir().mkpath(folder)) throw soul::Error(folder.toStdString(), "could not be made (the session's overlays go there)");
        QString file = o.name;
        file.replace(QRegularExpression("[^A-Za-z0-9._-]"), "_");
        o.path = folder + "/" + file + ".nii.gz";
        soul::write_nifti(*m_document->overlays()[i].volume, o.path.toStdString());
    }
    return s;
}

bool MainWindow::saveSessionFile(const QString& path) {
    try {
        soului::saveSession(sessionFor(path), path);
    } catch (const soul::Error& e) {
        showError(QString::fromStdString(e.what()));
        return false;
    }
    rememberSession(path);
    statusBar()->showMessage(tr("Saved session %1").arg(path), 5000);
    return true;
}

// The session's underlay, labels, overlays and display over the volume shown now; what failed.
QStringList MainWindow::applyLayers(const soului::StudioSession& s) {
    const QStringList missing = s.missingFiles();
    auto present = [&](const QString& file) { return !file.isEmpty() && !missing.contains(file); };
    QStringList failed;
    // The session's view, not the one before it: no underlay where it has none (or lost it).
    if (!present(s.underlayPath)) m_document->clearUnderlay();
    else if (!openUnderlay(s.underlayPath)) failed << m_lastError;
    if (present(s.labelsPath) && !openLabels(s.labelsPath)) failed << m_lastError;
    failed << applyDisplay(s);
    return failed;
}

// The display settings, cursor and views of a session, once its volume is shown.
QStringList MainWindow::applyDisplay(const soului::StudioSession& s) {
    soului::VolumeDocument& d = *m_document;
    if (s.underlayWindow && d.hasUnderlay()) d.setUnderlayWindow((*s.underlayWindow)[0], (*s.underlayWindow)[1]);
    if (d.hasUnderlay()) d.setUnderlayVisible(s.underlayVisible);
    if (d.hasLabels()) {
        for (const auto& [value, count] : d.labelVoxelCounts()) {
            d.setLabelVisible(value, std::find(s.visibleLabels.begin(), s.visibleLabels.end(), value) != s.visibleLabels.end());
            const auto it = s.labelOpacity.find(value);
            d.setLabelOpacity(value, it == s.labelOpacity.end() ? 1.0 : it->second);
        }
    }
    soului::LayerDisplay display = s.display;
    if (display.unit.isEmpty()) display.unit = d.valueUnit();
    d.setLayerDisplay(0, display);
    // The session's overlays, not the ones before it.
    while (d.layerCount() > 1) d.removeLayer(d.layerCount() - 1);
    QStringList failed;
    int selected = s.selectedLayer;
    for (size_t i = 0; i < s.overlays.size(); ++i) {
        const soului::SessionOverlay& o = s.overlays[i];
        soului::LoadedVolume loaded = soului::VolumeDocument::loadVolume(o.path);
        if (!QFileInfo::exists(o.path) || !d.addOverlay(loaded, o.name, o.display.unit)) {
            if (QFileInfo::exists(o.path)) failed << d.lastError();
            if (selected > d.layerCount()) selected = 0;
            continue;
        }
        d.setLayerDisplay(d.layerCount() - 1, o.display);
    }
    d.setSelectedLayer(selected < d.layerCount() ? selected : 0);
    d.setInterpolation(s.interpolation);
    if (s.cursor) d.setCursor(*s.cursor);
    return failed;
}

bool MainWindow::openSessionFile(const QString& path) {
    soului::StudioSession s;
    try {
        s = soului::loadSession(path);
    } catch (const soul::Error& e) {
        showError(QString::fromStdString(e.what()));
        return false;
    }
    const QStringList missing = s.missingFiles();
    QStringList failed;
    auto present = [&](const QString& file) { return !file.isEmpty() && !missing.contains(file); };
    m_pendingDisplay.reset();
    const bool errorDialogs = m_errorDialogs;
    m_errorDialogs = false;   // one dialog for the whole session, below
    if (present(s.volumePath)) {
        if (!openVolume(s.volumePath)) failed << m_lastError;
        else if (s.frame != 0 && !setFrame(s.frame)) failed << m_lastError;
    }
    if (m_document->hasVolume() && (s.volumePath.isEmpty() || present(s.volumePath))) failed << applyLayers(s);
    m_errorDialogs = errorDialogs;
    m_neurological->setChecked(s.neurological);
    m_colourBars->setChecked(s.colourBars);
    m_displayPanel->setVolumeRendering(s.volumeRendering);
    m_displayPanel->setSurfaceActivity(s.surfaceActivity);
    m_glassBrain->setChecked(s.glassBrain);
    if (s.camera) m_brainView->setCamera(*s.camera);
    (s.tab == "training" ? m_trainingDock : m_workbenchDock)->raise();
    if (present(s.modelRun) && present(s.modelData)) {
        // The workbench opens in the background; the trial, its settings, and then (once its betas
        // are in the views) the display follow.
        auto connection = std::make_shared<QMetaObject::Connection>();
        *connection = connect(m_workbench, &soului::WorkbenchPanel::sessionReady, this, [this, s, connection](bool ok, const QString&) {
            disconnect(*connection);
            if (!ok) return;
            m_workbench->setSettings(s.sampler, s.streamsOff);
            if (!s.trial) return;
            if (s.volumePath.isEmpty()) m_pendingDisplay = s;
            if (!m_workbench->selectTrial(*s.trial)) {
                m_pendingDisplay.reset();
                showError(tr("%1: the session's trial (%2 row %3) is not in %4")
                              .arg(s.modelRun, QString::fromStdString(soul::split_name(s.trial->split))).arg(s.trial->row).arg(s.modelData));
            }
        });
        openSession(s.modelRun, s.modelData);
    }
    rememberSession(path);
    if (m_reopenLast) m_reopenLast->hide();
    if (!missing.isEmpty() || !failed.isEmpty()) {
        QString message = tr("%1: opened what it could.").arg(path);
        if (!missing.isEmpty()) message += tr(" Missing: %1.").arg(missing.join(", "));
        if (!failed.isEmpty()) message += " " + failed.join(" ");
        showError(message);
    } else {
        statusBar()->showMessage(tr("Opened session %1").arg(path), 5000);
    }
    return missing.isEmpty() && failed.isEmpty();
}

// Sessions kept in File ▸ Recent Sessions.
constexpr int kRecentSessions = 8;

QStringList MainWindow::recentSessions() const { return QSettings().value("recentSessions").toStringList(); }

void MainWindow::rememberSession(const QString& path) {
    QStringList recent = recentSessions();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kRecentSessions) recent.removeLast();
    QSettings().setValue("recentSessions", recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    m_recentMenu->clear();
    const QStringList recent = recentSessions();
    for (int i = 0; i < recent.size(); ++i) {
        QAction* a = m_recentMenu->addAction(QString("&%1 %2").arg(i + 1).arg(QFileInfo(recent[i]).fileName()),
                                             this, [this, file = recent[i]] { openSessionFile(file); });
        a->setToolTip(recent[i]);
        if (i == 0) a->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O));
    }
    m_recentMenu->setEnabled(!recent.isEmpty());
}

QString MainWindow::askForFile(FileDialogKind kind, const QString& title, const QString& filter) {
    const QString path = kind == FileDialogKind::Save ? QFileDialog::getSaveFileName(this, title, m_lastFolder, filter)
                                                      : QFileDialog::getOpenFileName(this, title, m_lastFolder, filter);
    if (path.isEmpty()) return path;
    m_lastFolder = QFileInfo(path).absolutePath();
    QSettings().setValue("lastFolder", m_lastFolder);
    return path;
}

bool MainWindow::acceptedWithButtons(QDialog& dialog, QFormLayout* form) {
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    return dialog.exec() == QDialog::Accepted;
}

void MainWindow::chooseOverlay() {
    const QString path = askForFile(FileDialogKind::Open, tr("Open overlay"), tr("NIfTI (*.nii *.nii.gz *.hdr);;All files (*)"));
    if (path.isEmpty()) return;
    openOverlay(path);
}

void MainWindow::chooseUnderlay() {
    const QString path = askForFile(FileDialogKind::Open, tr("Open underlay (anatomy)"), tr("NIfTI (*.nii *.nii.gz *.hdr);;All files (*)"));
    if (path.isEmpty()) return;
    openUnderlay(path);
}

void MainWindow::chooseSaveSession() {
    const QString path = askForFile(FileDialogKind::Save, tr("Save session"), tr("Studio session (*.json)"));
    if (path.isEmpty()) return;
    saveSessionFile(path.endsWith(".json") ? path : path + ".json");
}

void MainWindow::chooseOpenSession() {
    const QString path = askForFile(FileDialogKind::Open, tr("Open session"), tr("Studio session (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    openSessionFile(path);
}

bool MainWindow::openDefault() {
    const DefaultData d = defaultData();
    if (!d.missing.isEmpty()) {
        showError(d.missing);
        return false;
    }
    if (!openVolume(d.volume) || !openLabels(d.labels, d.visibleLabels)) return false;
    if (!d.underlay.isEmpty() && !openUnderlay(d.underlay)) return false;
    if (!d.model.isEmpty()) openSession(d.model, d.prepared);
    if (d.phantom) {
        // Betas are signed (percent signal change × 300): a diverging map, symmetric window
        // thresholded over the T1 underlay, and the stream surfaces in 3D rather than a volume
        // rendering of noise.
        const double extent = std::max(std::abs(m_document->windowLow()), std::abs(m_document->windowHigh()));
        m_document->setColormapName("coolwarm");
        m_document->setWindow(-extent, extent);
        m_document->setValueUnit(tr("PSC×300"));
        if (m_document->hasUnderlay()) m_document->setSymmetricThreshold(soului::kSignedThresholdShare * extent);
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
    const QString path = askForFile(FileDialogKind::Open, tr("Open volume"), tr("NIfTI (*.nii *.nii.gz);;All files (*)"));
    if (path.isEmpty()) return;
    openVolume(path);
}

void MainWindow::chooseLabels() {
    const QString path = askForFile(FileDialogKind::Open, tr("Open label volume"), tr("NIfTI (*.nii *.nii.gz);;All files (*)"));
    if (path.isEmpty()) return;
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
    if (!acceptedWithButtons(dialog, form)) return;
    const bool chart = kind->currentData().toString() == "chart";
    const QString path = askForFile(FileDialogKind::Save, tr("Save figure"),
                                    chart ? tr("PDF (vector) (*.pdf);;PNG image (*.png)") : tr("PNG image (*.png)"));
    if (path.isEmpty()) return;
    QString error;
    if (!m_workbench->exportFigure(kind->currentData().toString(), path, scale->value(), &error)) showError(error);
    else statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
}

bool MainWindow::exportLightboxFigure(const QString& file, const soului::FigureSpec& spec) {
    soului::FigureContent content;
    content.document = m_document;
    content.radiological = !m_neurological->isChecked();
    if (spec.threeD) {
        // Enough of the 3D view's pixels for its place in print (about half the figure's width).
        constexpr double kThreeDShare = 0.5;
        const double wanted = spec.widthMm / 25.4 * spec.dpi * kThreeDShare;
        const int scale = std::clamp(static_cast<int>(std::ceil(wanted / std::max(1, m_brainView->width()))), 1, 4);
        content.view3d = m_brainView->renderImage(scale);
    }
    const soului::WorkbenchModel& model = m_workbench->model();
    if (spec.reconstruction && model.hasTrial()) {
        try {
            constexpr int kRowScale = 4;   // each 64-px image drawn 512 px wide: sharp at 300 DPI
            const soul::RgbImage row = model.figure("comparison", kRowScale);
            content.reconstruction = QImage(row.pixels.data(), static_cast<int>(row.width), static_cast<int>(row.height),
                                            static_cast<int>(row.width * 3), QImage::Format_RGB888)
                                         .copy();
        } catch (const soul::Error&) {
            // No reconstruction on screen yet: the figure has the slices and the 3D view.
        }
    }
    QString error;
    if (!soului::writeFigure(file, spec, content, &error)) {
        showError(error);
        return false;
    }
    try {
        soului::StudioSession session = sessionFor(file + ".session.json");
        session.figure = spec;
        soului::saveSession(session, file + ".session.json");
    } catch (const soul::Error& e) {
        showError(QString::fromStdString(e.what()));
        return false;
    }
    m_figureSpec = spec;
    statusBar()->showMessage(tr("Saved %1 (and %2.session.json to remake it)").arg(file, QFileInfo(file).fileName()), 8000);
    return true;
}

void MainWindow::chooseLightboxFigure() {
    if (!m_document->hasVolume()) {
        showError(tr("Open a volume first: the figure shows its slices"));
        return;
    }
    QDialog dialog(this);
    dialog.setObjectName("lightboxDialog");
    dialog.setWindowTitle(tr("Export lightbox figure"));
    auto* form = new QFormLayout(&dialog);
    auto* width = new QDoubleSpinBox(&dialog);
    width->setObjectName("figureWidthMm");
    width->setRange(soului::FigureSpec::kMinWidthMm, soului::FigureSpec::kMaxWidthMm);
    width->setSuffix(" mm");
    width->setValue(m_figureSpec.widthMm);
    width->setToolTip(tr("One journal column is about 88 mm, two about 180 mm"));
    auto* dpi = new QSpinBox(&dialog);
    dpi->setObjectName("figureDpi");
    dpi->setRange(static_cast<int>(soului::FigureSpec::kMinDpi), static_cast<int>(soului::FigureSpec::kMaxDpi));
    dpi->setSuffix(" DPI");
    dpi->setValue(static_cast<int>(m_figureSpec.dpi));
    auto* orientation = new QComboBox(&dialog);
    orientation->setObjectName("figureOrientation");
    orientation->addItems({"axial", "coronal", "sagittal"});
    orientation->setCurrentText(m_figureSpec.orientation);
    auto* slices = new QSpinBox(&dialog);
    slices->setObjectName("figureSlices");
    slices->setRange(1, soului::FigureSpec::kMaxSlices);
    slices->setValue(m_figureSpec.slices);
    auto* columns = new QSpinBox(&dialog);
    columns->setObjectName("figureColumns");
    columns->setRange(1, soului::FigureSpec::kMaxSlices);
    columns->setValue(m_figureSpec.columns);
    auto* threeD = new QCheckBox(tr("The 3D view below the slices"), &dialog);
    threeD->setChecked(m_figureSpec.threeD);
    auto* row = new QCheckBox(tr("The trial's reconstruction row"), &dialog);
    row->setChecked(m_figureSpec.reconstruction);
    row->setEnabled(m_workbench->model().hasTrial());
    form->addRow(tr("Width"), width);
    form->addRow(tr("Resolution"), dpi);
    form->addRow(tr("Slices"), orientation);
    form->addRow(tr("How many"), slices);
    form->addRow(tr("Columns"), columns);
    form->addRow(threeD);
    form->addRow(row);
    if (!acceptedWithButtons(dialog, form)) return;
    soului::FigureSpec spec;
    spec.widthMm = width->value();
    spec.dpi = dpi->value();
    spec.orientation = orientation->currentText();
    spec.slices = slices->value();
    spec.columns = std::min(columns->value(), slices->value());
    spec.threeD = threeD->isChecked();
    spec.reconstruction = row->isChecked();
    const QString path = askForFile(FileDialogKind::Save, tr("Save figure"), tr("PNG image (*.png);;SVG (vector text) (*.svg);;PDF (vector text) (*.pdf)"));
    if (path.isEmpty()) return;
    exportLightboxFigure(path, spec);
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
    if (!acceptedWithButtons(dialog, form)) return;
    const QString path = askForFile(FileDialogKind::Save, tr("Save screenshot"), tr("PNG image (*.png)"));
    if (path.isEmpty()) return;
    ExportView which = ExportView::View3D;
    parseExportView(view->currentText(), &which);
    QString error;
    if (!exportScreenshot(which, path, scale->value(), transparent->isChecked(), &error)) showError(error);
    else statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
}
