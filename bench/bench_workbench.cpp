// Benchmark: the workbench's responsiveness with the shipped model, as a user feels it — the time
// from selecting a trial in the browser to the first denoising preview on screen, and to the final
// reconstruction shown, and to the whole side by side with its baseline column. Under Xvfb, in the
// real window (engine on its worker thread). Two rounds: cold (right after the session opens, the
// ridge baseline still being fitted between reconstructions) and warm.
// Run: SOUL_PHANTOM_DIR=P SOUL_PREPARED_DIR=PREPARED xvfb-run -a -s "-screen 0 1600x1200x24" \
//        build/bin/bench_workbench [--trials N]
// (P the default phantom, PREPARED it prepared with --image-size 64, as tools/studio.sh makes.)
#include "MainWindow.h"
#include "ReconstructionRunner.h"
#include "VtkGLWidget.h"
#include "WorkbenchPanel.h"
#include "soul/runtime.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QListWidget>
#include <QTimer>

#include <functional>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
    int trials = 10;
    for (int i = 1; i + 1 < argc; ++i)
        if (!std::strcmp(argv[i], "--trials")) trials = std::atoi(argv[i + 1]);
    soul::init_compute_threads();
    soului::VtkGLWidget::setDefaultSurfaceFormat();
    QApplication app(argc, argv);
    MainWindow window;
    window.setErrorDialogsEnabled(false);
    window.resize(1500, 1150);
    window.show();
    soului::WorkbenchPanel* workbench = window.workbench();
    bool ready = false;
    QObject::connect(workbench, &soului::WorkbenchPanel::sessionReady, [&](bool ok, const QString&) { ready = ok; });
    if (!window.openDefault()) return 1;
    QElapsedTimer wait;
    wait.start();
    while (!ready && wait.elapsed() < 60000) QApplication::processEvents(QEventLoop::AllEvents, 10);
    if (!ready) {
        std::fprintf(stderr, "bench_workbench: no session (set SOUL_PHANTOM_DIR and SOUL_PREPARED_DIR, see the header)\n");
        return 1;
    }
    auto* list = window.findChild<QListWidget*>("trialList");
    std::vector<double> first, final;
    // Waiting sleeps in an event loop, as the studio's own does (a busy loop would take a core
    // from the engine).
    auto waitFor = [](int ms, const std::function<bool()>& done) {
        QEventLoop loop;
        QTimer poll;
        QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
            if (done()) loop.quit();
        });
        poll.start(2);
        QTimer::singleShot(ms, &loop, &QEventLoop::quit);
        loop.exec();
    };
    // One round: click `trials` trials after a warm-up trial, 2 s apart; the times to the first
    // preview, to the reconstruction, and to the whole side by side (streams-off and baseline
    // columns) when it came before the next click.
    struct Round {
        std::vector<double> first, final, compared;
    };
    auto round = [&](int start) {
        Round r;
        for (int t = start; t <= start + trials; ++t) {   // the first trial warms up
            QElapsedTimer clock;
            double firstPreview = -1, shown = -1, compared = -1;
            auto a = QObject::connect(workbench->runner(), &soului::ReconstructionRunner::stepPreview, [&] {
                if (firstPreview < 0) firstPreview = clock.nsecsElapsed() / 1e9;
            });
            auto b = QObject::connect(workbench, &soului::WorkbenchPanel::reconstructionShown, [&] { shown = clock.nsecsElapsed() / 1e9; });
            auto c = QObject::connect(workbench, &soului::WorkbenchPanel::comparisonShown, [&] { compared = clock.nsecsElapsed() / 1e9; });
            clock.start();
            list->setCurrentRow(t);
            waitFor(60000, [&] { return shown >= 0; });
            // A user looks at the result before the next click; the brain views update meanwhile.
            waitFor(2000, [] { return false; });
            QObject::disconnect(a);
            QObject::disconnect(b);
            QObject::disconnect(c);
            if (t == start) continue;
            r.first.push_back(firstPreview);
            r.final.push_back(shown);
            if (compared >= 0) r.compared.push_back(compared);
        }
        return r;
    };
    auto report = [&](const char* what, std::vector<double> v) {
        if (v.empty()) {
            std::printf("  %s: never within 2 s\n", what);
            return;
        }
        std::sort(v.begin(), v.end());
        std::printf("  %s: median %.3f s (min %.3f, max %.3f), %zu trials\n", what, v[v.size() / 2], v.front(), v.back(), v.size());
    };
    auto print = [&](const char* title, const Round& r) {
        std::printf("%s\n", title);
        report("trial selected → first denoising preview", r.first);
        report("trial selected → final reconstruction shown", r.final);
        report("trial selected → side by side complete (baseline column)", r.compared);
    };
    // Cold: right after the session opens, while the ridge baseline is still being fitted in the
    // background between reconstructions (about 10 s of worker time on 2 cores).
    const Round cold = round(0);
    bool fitted = false;
    auto d = QObject::connect(workbench, &soului::WorkbenchPanel::comparisonShown, [&] { fitted = true; });
    waitFor(120000, [&] { return fitted; });
    QObject::disconnect(d);
    const Round warm = round(trials + 1);
    print("cold: the ridge baseline still being fitted in the background", cold);
    print("warm: the baseline fitted", warm);
    return 0;
}
