// The studio's main window: a 3D view beside axial, coronal and sagittal slices of one volume with
// its label overlay; panels for display settings and labels; a status bar telling the voxel under
// the cursor; screenshot export.
#pragma once

#include <QDialog>
#include <QFormLayout>
#include <QMainWindow>
#include <QActionGroup>
#include <QPushButton>
#include <QString>

#include "StudioSession.h"
#include "VolumeDocument.h"
#include "soul/reconstruct.h"

#include <optional>


class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QMessageBox;

namespace soului {
class BrainView;
class DisplayPanel;
class LabelPanel;
class SliceView;
class VolumeDocument;
class TrainingPanel;
class EvaluationPanel;
class WorkbenchPanel;
}  // namespace soului

// Which view an export takes.
enum class ExportView { View3D, Axial, Coronal, Sagittal, Window, Workbench };
bool parseExportView(const QString& name, ExportView* view);

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

    soului::VolumeDocument* document() const { return m_document; }
    soului::BrainView* brainView() const { return m_brainView; }
    soului::SliceView* sliceView(int orientation) const { return m_slices[orientation]; }
    soului::WorkbenchPanel* workbench() const { return m_workbench; }
    soului::TrainingPanel* training() const { return m_training; }
    soului::EvaluationPanel* evaluation() const { return m_evaluation; }

    // Opens a trained run (or the shipped model) and a prepared dataset in the workbench, in the
    // background. Selecting a trial there shows its betas in the brain views.
    void openSession(const QString& run, const QString& data);

    // Open files; on failure show an error dialog naming the file and the problem, keep what was
    // shown, and return false.
    bool openVolume(const QString& path);
    bool openLabels(const QString& path, const QList<int>& initiallyVisible = {});
    bool setFrame(int index);
    // An anatomical underlay under the volume (the subject's T1 in functional space, or any volume).
    bool openUnderlay(const QString& path);
    // A volume as an overlay on top of the others (the Layers panel's Add…, a drop with Alt).
    bool openOverlay(const QString& path);

    // Sessions (File ▸ Save/Open Session): one JSON file reproducing what is shown. Opening one
    // that names missing files opens what it can and lists what is missing (lastError()); a
    // corrupt one names the key and changes nothing. Both add it to File ▸ Recent Sessions.
    soului::StudioSession currentSession() const;
    // currentSession() for a file at `path`: overlays the engine made (attributions) have no file,
    // so they are written beside it (PATH-overlays/NAME.nii.gz). Throws soul::Error naming the file.
    soului::StudioSession sessionFor(const QString& path) const;
    bool saveSessionFile(const QString& path);
    bool openSessionFile(const QString& path);
    // The sessions saved or opened most recently, newest first (QSettings).
    QStringList recentSessions() const;

    // Files dropped on the window: a session (.json) opens as one; a NIfTI opens as the volume,
    // with Ctrl held as the underlay, with Shift as the labels. False when one could not be opened
    // (lastError() names it); the others are still opened.
    bool openDroppedFiles(const QStringList& paths, Qt::KeyboardModifiers modifiers);

    // The window's layout (geometry, docks) as the person left it last time, and saved again on
    // close. Only the application calls this, so that tests and headless runs neither read nor
    // write the user's layout.
    void rememberLayout();
    // View ▸ Theme: "light" (the desktop's own palette) or "dark" (Fusion, dark greys). Only the
    // widgets change: slices, colour maps, colour bars and the 3D view keep their colours, so a
    // figure looks the same whichever theme made it. Remembered in QSettings by the application.
    void setTheme(const QString& theme);
    QString theme() const { return m_theme; }

    // A button in the status bar that reopens the newest recent session (none: nothing shown).
    void offerLastSession();

    // Help ▸ Keyboard Shortcuts: every action that has one, listed from the menus themselves.
    QString shortcutsText() const;

    // Opens the embedded default: the phantom with the shipped model's session when the default
    // subject has been made, else Colin27 from mricron-data with the AAL atlas, visual-cortex
    // labels shown.
    bool openDefault();

    // First start: makes the default subject (the phantom and its preparation for the shipped
    // model) in the user's data dir, in the background behind a progress dialog that can cancel.
    // True when it is there afterwards. Cancelled: nothing half-written is left. Failed: the error
    // names the missing Debian package or the folder that cannot be written, and how to fix it.
    bool makeDefaultSubject();

    // Writes a PNG of `view` at `scale` × (1..4); returns false and sets `error` on failure.
    bool exportScreenshot(ExportView view, const QString& file, int scale, bool transparent, QString* error = nullptr);

    // A figure for a paper (File ▸ Export Lightbox Figure): a grid of slices of the shown layers
    // with the colour bar, the 3D view and the trial's reconstruction row, at spec's width (mm)
    // and DPI; PNG, SVG or PDF by the suffix. Writes FILE.session.json beside it (this session
    // with the figure's settings), from which `souldiffuser-studio --session … --figure …`
    // remakes it headless. False with lastError() naming the file and the problem.
    bool exportLightboxFigure(const QString& file, const soului::FigureSpec& spec);

    // The last error message shown (tests read it; the dialog shows it to people).
    QString lastError() const { return m_lastError; }
    // Show errors in a dialog (default) or only on stderr (headless screenshots).
    void setErrorDialogsEnabled(bool on) { m_errorDialogs = on; }

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    enum class FileDialogKind { Open, Save };
    // A file dialog starting in the last folder, which it then remembers; empty when cancelled.
    QString askForFile(FileDialogKind kind, const QString& title, const QString& filter);
    // Adds OK and Cancel under `form` and runs the dialog; true when accepted.
    bool acceptedWithButtons(QDialog& dialog, QFormLayout* form);
    void buildMenus();
    void showError(const QString& message);
    void chooseVolume();
    void chooseLabels();
    void chooseScreenshot();
    void chooseFigure();
    void chooseLightboxFigure();
    void showTrialBetas(const soul::TrialRef& trial);
    // A volume of the subject's grid (trial betas, an attribution) in the views, streams over it.
    void showInViews(const soul::Volume& volume, const QString& name, const QString& unit);   // in memory, no file
    // Both return what could not be applied (an underlay or an overlay that failed to open).
    QStringList applyLayers(const soului::StudioSession& session);
    QStringList applyDisplay(const soului::StudioSession& session);
    void rememberSession(const QString& path);
    void rebuildRecentMenu();
    void chooseUnderlay();
    void chooseOverlay();
    // Reads a NIfTI behind a progress dialog with Cancel (shown when it takes a while); nothing
    // when cancelled. Errors are in the result.
    std::optional<soului::LoadedVolume> readVolume(const QString& path, const QString& role);
    bool reportDocumentChange(bool ok);
    // An attribution volume over the trial's betas, replacing the one shown before.
    void showAttribution(const soul::Volume& volume, const QString& output);
    void chooseSaveSession();
    void chooseOpenSession();
    void showShortcuts();
    void showAbout();

    soului::VolumeDocument* m_document;
    soului::BrainView* m_brainView;
    soului::SliceView* m_slices[3];
    soului::DisplayPanel* m_displayPanel;
    soului::LabelPanel* m_labelPanel;
    soului::WorkbenchPanel* m_workbench;
    soului::TrainingPanel* m_training;
    soului::EvaluationPanel* m_evaluation;
    soul::TrialRef m_pendingTrial;    // selected, its betas not yet in the views
    bool m_trialPending = false;
    QDockWidget* m_workbenchDock;
    QDockWidget* m_trainingDock;
    QAction* m_neurological = nullptr;
    QAction* m_colourBars = nullptr;
    QAction* m_glassBrain = nullptr;
    soului::FigureSpec m_figureSpec;
    bool m_rememberLayout = false;
    QString m_theme = "light";
    QActionGroup* m_themeGroup = nullptr;
    QPushButton* m_reopenLast = nullptr;   // the last lightbox figure's settings, offered again
    QMenu* m_recentMenu = nullptr;
    bool m_volumeFromFile = false;      // the volume is a file (else a trial's betas or an attribution)
    bool m_trainingRaised = false;
    std::optional<soului::StudioSession> m_pendingDisplay;   // applied once the session's trial is shown
    QLabel* m_voxelStatus;
    QString m_lastError;
    bool m_errorDialogs = true;
    QString m_lastFolder;
};
