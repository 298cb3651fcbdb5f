// Benchmark: frames per second of the studio's 3D view while it rotates, under Xvfb (Mesa
// llvmpipe on this machine), on the embedded default: the phantom with its streams when it is there
// (tools/studio.sh makes it), else Colin27 with the AAL visual-stream labels.
// Run: xvfb-run -a -s "-screen 0 1600x1200x24" build/bin/bench_view_fps [--frames N] [--size WxH]
#include "BrainScene.h"
#include "BrainView.h"
#include "MainWindow.h"
#include "VolumeDocument.h"
#include "VtkGLWidget.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLFunctions>

#include <vtkCamera.h>
#include <vtkRenderer.h>

#include <cstdio>

namespace {

void sendMouse(QWidget* w, QEvent::Type type, QPoint pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
    QMouseEvent e(type, QPointF(pos), w->mapToGlobal(QPointF(pos)), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(w, &e);
}

// Rotates by dragging with the left button, as a user does: the events go through the widget
// to VTK's trackball style (which asks for its interactive frame rate while dragging), and each
// step is painted before the next.
double measure(soului::BrainView* view, int frames) {
    const qint64 before = view->framesRendered();
    const QPoint start(view->width() / 4, view->height() / 2);
    const int span = view->width() / 2;
    QElapsedTimer timer;
    timer.start();
    sendMouse(view, QEvent::MouseButtonPress, start, Qt::LeftButton, Qt::LeftButton);
    for (int f = 1; f <= frames; ++f) {
        const int x = start.x() + (f * 4) % span;
        sendMouse(view, QEvent::MouseMove, QPoint(x, start.y()), Qt::NoButton, Qt::LeftButton);
        view->repaint();  // paints now: one full render and blit per step
        QApplication::processEvents();
    }
    sendMouse(view, QEvent::MouseButtonRelease, start, Qt::LeftButton, Qt::NoButton);
    const double s = timer.nsecsElapsed() / 1e9;
    return (view->framesRendered() - before) / s;
}

}  // namespace

int main(int argc, char** argv) {
    soului::VtkGLWidget::setDefaultSurfaceFormat();
    QApplication app(argc, argv);
    int frames = 120;
    QSize size(640, 480);
    for (int i = 1; i + 1 < argc; i += 2) {
        const QString key = argv[i], value = argv[i + 1];
        if (key == "--frames") frames = value.toInt();
        if (key == "--size") size = QSize(value.section('x', 0, 0).toInt(), value.section('x', 1, 1).toInt());
    }
    MainWindow window;
    window.setErrorDialogsEnabled(false);
    window.show();
    if (!window.openDefault()) return 1;
    soului::BrainView* view = window.brainView();
    view->setFixedSize(size);
    QElapsedTimer warm;
    warm.start();
    while (warm.elapsed() < 500) app.processEvents();
    measure(view, 10);  // warm-up: shaders compiled, textures uploaded
    const double withVolume = measure(view, frames);
    view->setVolumeRendering(false);
    const double surfacesOnly = measure(view, frames);
    const char* renderer = reinterpret_cast<const char*>(view->context()->functions()->glGetString(0x1F01));
    std::printf("3D view %dx%d, %d frames of a left-button drag rotation, OpenGL renderer: %s\n", size.width(), size.height(), frames,
                renderer ? renderer : "?");
    const QString volume = QFileInfo(window.document()->volumePath()).fileName(), labels = QFileInfo(window.document()->labelsPath()).fileName();
    const int surfaces = static_cast<int>(window.document()->labelVoxelCounts().size());
    std::printf("  scene: %s with %d labels from %s (the visible ones as surfaces), the workbench and training docks open\n", qPrintable(volume), surfaces, qPrintable(labels));
    std::printf("  volume rendering + label surfaces: %6.1f frames/s\n", withVolume);
    std::printf("  label surfaces only:               %6.1f frames/s\n", surfacesOnly);
    return 0;
}
