// The 3D view's image once the widget has painted its latest change. A frame grabbed before that
// can come back blank or as the previous one (QOpenGLWidget's framebuffer under Xvfb/Mesa), so
// GUI suites wait on the widget's own frameSwapped signal rather than on a fixed delay.
#pragma once

#include "VtkGLWidget.h"

#include <QSignalSpy>

namespace soultest {

inline QImage renderAfterPaint(soului::VtkGLWidget* view, int timeoutMs = 20000) {
    QSignalSpy painted(view, &QOpenGLWidget::frameSwapped);
    view->update();
    if (!painted.wait(timeoutMs)) return {};
    return view->renderImage();
}

}  // namespace soultest
