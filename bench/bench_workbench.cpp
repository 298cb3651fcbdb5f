// Benchmark: the workbench's responsiveness with the shipped model, as a user feels it — the time
// from selecting a trial in the browser to the first denoising preview on screen, and to the final
// reconstruction shown. Under Xvfb, in the real window (engine on its worker thread).
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
    for (int t = 0; t <= trials; ++t) {   // trial 0 warms up
        QElapsedTimer clock;
        double firstPreview = -1, shown = -1;
        auto a = QObject::connect(workbench->runner(), &soului::ReconstructionRunner::stepPreview, [&] {
            if (firstPreview < 0) firstPreview = clock.nsecsElapsed() / 1e9;
        });
        auto b = QObject::connect(workbench, &soului::WorkbenchPanel::reconstructionShown, [&] { shown = clock.nsecsElapsed() / 1e9; });
        clock.start();
        list->setCurrentRow(t);
        waitFor(60000, [&] { return shown >= 0; });
        QObject::disconnect(a);
        QObject::disconnect(b);
        // A user looks at the result before the next click; the brain views update meanwhile.
        waitFor(2000, [] { return false; });
        if (t == 0) continue;
        first.push_back(firstPreview);
        final.push_back(shown);
    }
    std::sort(first.begin(), first.end());
    std::sort(final.begin(), final.end());
    std::printf("trial selected → first denoising preview: median %.3f s (min %.3f, max %.3f)\n", first[first.size() / 2], first.front(), first.back());
    std::printf("trial selected → final reconstruction shown: median %.3f s (min %.3f, max %.3f), %d trials\n", final[final.size() / 2], final.front(),
                final.back(), trials);
    return 0;
}
