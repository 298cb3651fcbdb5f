// souldiffuser-studio — the desktop application.
#include "DefaultData.h"
#include "MainWindow.h"
#include "TrainingPanel.h"
#include "WorkbenchPanel.h"
#include "VolumeDocument.h"
#include "Colormap.h"
#include "VtkGLWidget.h"
#include "soul/runtime.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QLabel>
#include <QLineEdit>
#include <QTabWidget>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QIcon>
#include <QTimer>

#include <cstdio>
#include <cstdlib>
#include <functional>

namespace {

// Qt 6.4 cannot host an OpenGL widget without a display (the offscreen platform crashes), and
// Debian's VTK renders only through GLX: say so before Qt aborts with a less helpful message.
bool displayAvailable(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "-platform") return true;
    const char* platform = std::getenv("QT_QPA_PLATFORM");
    if (platform && std::string(platform) != "xcb") return true;
    const char* display = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    return (display && *display) || (wayland && *wayland);
}

// The command line, declared once for the studio and for --help without a display.
struct StudioOptions {
    QCommandLineOption labels{{"l", "labels"}, "Label volume to overlay (NIfTI).", "file"};
    QCommandLineOption frame{"frame", "Volume index of a 4D series to show.", "index", "0"};
    QCommandLineOption screenshot{"screenshot", "Render, write a PNG and exit (headless use under xvfb-run).", "file"};
    QCommandLineOption view{"view", "View for --screenshot: 3d, axial, coronal, sagittal, window, workbench.", "name", "3d"};
    QCommandLineOption scale{"scale", "Screenshot resolution factor, 1 to 4.", "n", "1"};
    QCommandLineOption transparent{"transparent", "Screenshot with a transparent background."};
    QCommandLineOption size{"size", "Window size WxH.", "WxH", "1280x860"};
    QCommandLineOption trial{"trial", "With the default session: select this test trial and wait for its reconstruction.", "row"};
    QCommandLineOption contributions{"contributions", "With --trial: also compute the stream contributions and show this output's.", "output"};
    QCommandLineOption streamsOff{"streams-off", "With --trial: switch these streams off first (comma-separated, e.g. early,dorsal).", "groups"};
    QCommandLineOption trainingRun{"training-run", "Show this run folder's loss curves in the Training tab.", "folder"};
    QCommandLineOption tab{"tab", "Bring a tab forward: denoising, contributions, tour, training or evaluation.", "name"};
    QCommandLineOption session{"session", "Open this session file (File ▸ Save Session writes one) instead of the default.", "file"};
    QCommandLineOption figure{"figure", "Write a lightbox figure (slices, colour bar, 3D view, the trial's reconstruction) as PNG, SVG or PDF and exit; with --session, that session's figure settings are the defaults.", "file"};
    QCommandLineOption widthMm{"width-mm", "--figure: its printed width in millimetres (default 180, two journal columns).", "mm"};
    QCommandLineOption dpi{"dpi", "--figure: its resolution (default 300).", "dpi"};
    QCommandLineOption orientation{"orientation", "--figure: axial, coronal or sagittal slices (default axial).", "name"};
    QCommandLineOption slices{"slices", "--figure: how many slices (default 12).", "n"};
    QCommandLineOption columns{"columns", "--figure: slices per row (default 6).", "n"};
    QCommandLineOption noFirstStart{"no-first-start", "Do not make the default subject when it is missing (open Colin27 instead)."};

    explicit StudioOptions(QCommandLineParser& parser) {
        parser.setApplicationDescription("SoulDiffuser Studio: fMRI volumes, ROI masks and reconstructions");
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addPositionalArgument("volume", "NIfTI volume to open (default: the phantom subject, else Colin27 from mricron-data)");
        parser.addOptions({labels, frame, screenshot, view, scale, transparent, size, trial, contributions, streamsOff, trainingRun, tab, session, figure, widthMm, dpi,
                           orientation, slices, columns, noFirstStart});
    }
};

void setApplicationNames() {
    QCoreApplication::setOrganizationName("SoulDiffuser");
    QCoreApplication::setApplicationName("SoulDiffuser Studio");
    QCoreApplication::setApplicationVersion(SOUL_STUDIO_VERSION);
}

// QGuiApplication takes "-session ID" (and "--session ID") for X11 session management out of argv
// before our parser sees it, so our --session is taken out first: its value, or empty.
QString takeSessionArgument(int& argc, char** argv) {
    QString value;
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--session" || a == "-session") && i + 1 < argc) {
            value = QString::fromLocal8Bit(argv[++i]);
        } else if (a.rfind("--session=", 0) == 0) {
            value = QString::fromLocal8Bit(a.substr(10).c_str());
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    argv[argc] = nullptr;
    return value;
}

bool asksForHelpOrVersion(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help" || a == "--help-all" || a == "-v" || a == "--version") return true;
    }
    return false;
}

void waitForPaint(int milliseconds) {
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < milliseconds) QApplication::processEvents(QEventLoop::AllEvents, 20);
}

// How long a headless run waits for the engine before it gives up: only a guard against a hang,
// since a reconstruction with its comparison columns takes minutes on a busy 2-core machine.
constexpr qint64 kHeadlessWaitMs = 20 * 60 * 1000;

// Handles events until `done` holds or `failure` is set (by the workbench's failure signal).
// Says on stderr what went wrong when it does not end in `done`.
bool waitUntil(const std::function<bool()>& done, const QString& failure, const char* what) {
    QElapsedTimer timer;
    timer.start();
    while (!done() && failure.isEmpty() && timer.elapsed() < kHeadlessWaitMs) QApplication::processEvents(QEventLoop::AllEvents, 50);
    if (done()) return true;
    if (!failure.isEmpty())
        std::fprintf(stderr, "souldiffuser-studio: %s failed: %s\n", what, qPrintable(failure));
    else
        std::fprintf(stderr, "souldiffuser-studio: gave up waiting for %s after %lld minutes\n", what, kHeadlessWaitMs / 60000);
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (!displayAvailable(argc, argv) && asksForHelpOrVersion(argc, argv)) {
        QCoreApplication core(argc, argv);   // help and version need no window
        setApplicationNames();
        QCommandLineParser parser;
        const StudioOptions o(parser);
        parser.process(core);   // prints and exits
        return 0;
    }
    if (!displayAvailable(argc, argv)) {
        std::fprintf(stderr,
                     "souldiffuser-studio: no display (DISPLAY is not set).\n"
                     "  The studio needs an X display. To render without one, run it under Xvfb:\n"
                     "    xvfb-run -a souldiffuser-studio --screenshot view.png [--view 3d|axial|coronal|sagittal|window|workbench]\n"
                     "  (xvfb-run is in Debian's xvfb package; tools/setup.sh installs it.)\n");
        return 2;
    }
    const QString sessionFile = takeSessionArgument(argc, argv);
    soul::init_compute_threads();  // LibTorch's CPU threads = the cores
    soului::VtkGLWidget::setDefaultSurfaceFormat();
    QApplication app(argc, argv);
    setApplicationNames();
    soului::registerResources();
    QApplication::setWindowIcon(QIcon::fromTheme("souldiffuser-studio", QIcon(":/soul/icons/souldiffuser-studio.svg")));

    QCommandLineParser parser;
    const StudioOptions o(parser);
    parser.process(app);

    MainWindow window;
    const bool headless = parser.isSet(o.screenshot) || parser.isSet(o.figure);
    window.setErrorDialogsEnabled(!headless);
    if (!headless) window.rememberLayout();   // the layout the person left, unless --size says otherwise
    const QStringList wh = parser.value(o.size).split('x');
    if ((headless || parser.isSet(o.size)) && wh.size() == 2 && wh[0].toInt() > 0 && wh[1].toInt() > 0)
        window.resize(wh[0].toInt(), wh[1].toInt());
    if (!headless && sessionFile.isEmpty()) window.offerLastSession();
    window.show();

    // The reconstruction session opens in the background: known from here on, whatever opens it.
    bool sessionSettled = false, ready = false;
    QString sessionError, engineFailure;
    QObject::connect(window.workbench(), &soului::WorkbenchPanel::sessionReady, [&](bool good, const QString& message) {
        sessionSettled = true;
        ready = good;
        sessionError = message;
    });
    QObject::connect(window.workbench(), &soului::WorkbenchPanel::reconstructionFailed, [&](const QString& message) { engineFailure = message; });
    const auto settled = [&] { return sessionSettled; };
    bool ok = true;
    bool sessionRequested = false;
    soului::FigureSpec figureSpec;
    const QStringList positional = parser.positionalArguments();
    if (!sessionFile.isEmpty()) {
        // A session names everything it shows; missing files are listed and the rest is shown.
        ok = window.openSessionFile(sessionFile) || window.document()->hasVolume();
        soului::StudioSession session;
        if (ok) session = soului::loadSession(sessionFile);   // read above: it parses
        if (session.figure) figureSpec = *session.figure;
        sessionRequested = ok && session.missingFiles().isEmpty() && !session.modelRun.isEmpty();
        if (sessionRequested && session.trial) {
            // Wait for the trial's reconstruction so that a screenshot shows it.
            bool shown = false;
            QObject::connect(window.workbench(), &soului::WorkbenchPanel::reconstructionShown, [&] { shown = true; });
            waitUntil([&] { return shown; }, engineFailure, "the session's trial");   // else the screenshot shows the error
            waitForPaint(300);
        }
    } else if (positional.isEmpty() && !parser.isSet(o.labels)) {
        if (!defaultSubjectMade() && !parser.isSet(o.noFirstStart)) window.makeDefaultSubject();
        ok = window.openDefault();
        sessionRequested = ok && !defaultData().model.isEmpty();
    } else if (positional.isEmpty()) {
        std::fprintf(stderr, "souldiffuser-studio: --labels needs a volume to overlay; give one first\n");
        return 1;
    } else {
        ok = window.openVolume(positional.first());
        if (ok && parser.isSet(o.labels)) ok = window.openLabels(parser.value(o.labels));
    }
    bool frameOk = false;
    const int frameIndex = parser.value(o.frame).toInt(&frameOk);
    if (!frameOk) {
        std::fprintf(stderr, "souldiffuser-studio: --frame needs an integer, not '%s'\n", qPrintable(parser.value(o.frame)));
        return 1;
    }
    if (ok && frameIndex != 0) ok = window.setFrame(frameIndex);
    if (parser.isSet(o.tab)) {
        static const QStringList tabs = {"denoising", "contributions", "tour", "training", "evaluation"};
        const int index = static_cast<int>(tabs.indexOf(parser.value(o.tab)));
        if (index < 0) {
            std::fprintf(stderr, "souldiffuser-studio: unknown --tab '%s' (denoising, contributions, tour, training, evaluation)\n", qPrintable(parser.value(o.tab)));
            return 1;
        }
        if (index < 3) window.workbench()->findChild<QTabWidget*>("workbenchTabs")->setCurrentIndex(index);
        else window.findChild<QDockWidget*>(index == 3 ? "trainingDock" : "evaluationDock")->raise();
    }
    if (parser.isSet(o.trainingRun)) {
        window.findChild<QLineEdit*>("trainOut")->setText(parser.value(o.trainingRun));
        if (!window.training()->showRun(parser.value(o.trainingRun))) {
            std::fprintf(stderr, "souldiffuser-studio: --training-run: %s\n", qPrintable(window.findChild<QLabel*>("trainStatus")->text()));
            return 1;
        }
    }
    if (ok && parser.isSet(o.trial)) {
        // Wait for the session, select the trial, wait for its reconstruction and its comparison
        // columns.
        soului::WorkbenchPanel* workbench = window.workbench();
        bool shown = false;
        QObject::connect(workbench, &soului::WorkbenchPanel::comparisonShown, [&] { shown = true; });
        if (!waitUntil(settled, engineFailure, "the reconstruction session") || !ready) {
            std::fprintf(stderr, "souldiffuser-studio: --trial: no reconstruction session%s%s\n",
                         sessionError.isEmpty() ? " (the default subject or the shipped model is missing: `souldiffuser env` says where it looked)" : ": ",
                         qPrintable(sessionError));
            return 1;
        }
        for (const QString& group : parser.value(o.streamsOff).split(',', Qt::SkipEmptyParts)) {
            auto* toggle = workbench->findChild<QCheckBox*>("streamToggle-" + group);
            if (!toggle) {
                std::fprintf(stderr, "souldiffuser-studio: --streams-off: unknown stream group '%s' (early, ventral-all, lateral-all, dorsal)\n",
                             qPrintable(group));
                return 1;
            }
            toggle->setChecked(false);
        }
        if (!workbench->selectTrial(parser.value(o.trial).toInt())) {
            std::fprintf(stderr, "souldiffuser-studio: --trial: no trial %s in the session\n", qPrintable(parser.value(o.trial)));
            return 1;
        }
        ok = waitUntil([&] { return shown; }, engineFailure, "--trial's reconstruction and comparison columns");
        if (ok && parser.isSet(o.contributions)) {
            bool charted = false;
            QObject::connect(workbench, &soului::WorkbenchPanel::contributionsShown, [&] { charted = true; });
            workbench->requestContributions();
            auto* output = workbench->findChild<QComboBox*>("contributionOutput");
            ok = waitUntil([&] { return charted; }, engineFailure, "--trial's stream contributions");
            if (ok && output->findText(parser.value(o.contributions)) < 0) {
                std::fprintf(stderr, "souldiffuser-studio: --contributions: no output '%s' in the chart\n", qPrintable(parser.value(o.contributions)));
                ok = false;
            }
            if (ok) output->setCurrentIndex(output->findText(parser.value(o.contributions)));
            waitForPaint(500);
        }
    }

    if (headless && parser.isSet(o.figure)) {
        if (!ok) return 1;
        // Each option given replaces the session's (or the default) setting.
        bool good = true;
        auto complain = [&](const QCommandLineOption& option, const char* kind) {
            std::fprintf(stderr, "souldiffuser-studio: --%s needs a %s, not '%s'\n", qPrintable(option.names().first()), kind,
                         qPrintable(parser.value(option)));
            good = false;
        };
        auto readNumber = [&](const QCommandLineOption& option, double* out) {
            if (!parser.isSet(option)) return;
            bool parsed = false;
            const double value = parser.value(option).toDouble(&parsed);
            if (parsed) *out = value;
            else complain(option, "number");
        };
        auto readWhole = [&](const QCommandLineOption& option, int* out) {
            if (!parser.isSet(option)) return;
            bool parsed = false;
            const int value = parser.value(option).toInt(&parsed);
            if (parsed) *out = value;
            else complain(option, "whole number");
        };
        readNumber(o.widthMm, &figureSpec.widthMm);
        readNumber(o.dpi, &figureSpec.dpi);
        readWhole(o.slices, &figureSpec.slices);
        readWhole(o.columns, &figureSpec.columns);
        if (!good) return 1;
        // Fewer slices than the columns asked before: one row of them.
        if (parser.isSet(o.slices) && !parser.isSet(o.columns)) figureSpec.columns = std::min(figureSpec.columns, figureSpec.slices);
        if (parser.isSet(o.orientation)) figureSpec.orientation = parser.value(o.orientation);
        if (!figureSpec.problem().isEmpty()) {
            std::fprintf(stderr, "souldiffuser-studio: --figure: %s\n", qPrintable(figureSpec.problem()));
            return 1;
        }
        if (sessionRequested) waitUntil(settled, engineFailure, "the reconstruction session");
        waitForPaint(300);
        if (!window.exportLightboxFigure(parser.value(o.figure), figureSpec)) return 1;
        std::printf("wrote %s (%.0f mm wide at %.0f DPI) and %s.session.json\n", qPrintable(parser.value(o.figure)), figureSpec.widthMm,
                    figureSpec.dpi, qPrintable(parser.value(o.figure)));
        return 0;
    }
    if (headless) {
        if (!ok) return 1;
        ExportView which;
        if (!parseExportView(parser.value(o.view), &which)) {
            std::fprintf(stderr, "souldiffuser-studio: unknown --view '%s' (3d, axial, coronal, sagittal, window, workbench)\n",
                         qPrintable(parser.value(o.view)));
            return 1;
        }
        // A screenshot shows the session opened (or its error), not "Opening…".
        if (sessionRequested) waitUntil(settled, engineFailure, "the reconstruction session");
        waitForPaint(300);
        QString error;
        if (!window.exportScreenshot(which, parser.value(o.screenshot), parser.value(o.scale).toInt(), parser.isSet(o.transparent), &error)) {
            std::fprintf(stderr, "souldiffuser-studio: %s\n", qPrintable(error));
            return 1;
        }
        std::printf("wrote %s\n", qPrintable(parser.value(o.screenshot)));
        return 0;
    }
    return app.exec();
}
