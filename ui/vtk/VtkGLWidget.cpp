#include "VtkGLWidget.h"

#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLExtraFunctions>
#include <QPainter>
#include <QSurfaceFormat>
#include <QWheelEvent>

#include <vtkCallbackCommand.h>
#include <vtkActor2D.h>
#include <vtkActor2DCollection.h>
#include <vtkCamera.h>
#include <vtkCommand.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkVersion.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkImageData.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkOpenGLFramebufferObject.h>
#include <vtkOpenGLState.h>
#include <vtkPointData.h>
#include <vtkRenderer.h>
#include <vtkRendererCollection.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowToImageFilter.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace soului {

QString vtkVersionText() { return QString::fromLatin1(vtkVersion::GetVTKVersion()); }

namespace {
constexpr double kInteractiveFramesPerSecond = 25.0;
}

VtkGLWidget::VtkGLWidget(QWidget* parent) : QOpenGLWidget(parent) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setUpdateBehavior(QOpenGLWidget::NoPartialUpdate);

    m_window = vtkSmartPointer<vtkGenericOpenGLRenderWindow>::New();
    m_window->SetReadyForRendering(false);
    m_window->SetFrameBlitModeToNoBlit();
    m_window->SetMultiSamples(0);

    m_interactor = vtkSmartPointer<vtkGenericRenderWindowInteractor>::New();
    m_interactor->SetRenderWindow(m_window);
    vtkNew<vtkInteractorStyleTrackballCamera> style;
    m_interactor->SetInteractorStyle(style);
    m_interactor->EnableRenderOff();  // renders happen in paintGL only
    // Frame rate VTK aims for while the mouse drags (volume rendering coarsens its sampling to
    // reach it); the still frame after release is rendered at full quality.
    m_interactor->SetDesiredUpdateRate(kInteractiveFramesPerSecond);
    m_interactor->Initialize();

    for (unsigned long id : {vtkCommand::WindowMakeCurrentEvent, vtkCommand::WindowIsCurrentEvent,
                             vtkCommand::WindowFrameEvent})
        m_window->AddObserver(id, this, &VtkGLWidget::onWindowEvent);
    // Interactor-driven camera changes ask for a render: schedule a paint instead.
    m_interactor->AddObserver(vtkCommand::RenderEvent, this, &VtkGLWidget::onWindowEvent);
}

VtkGLWidget::~VtkGLWidget() {
    makeCurrent();
    cleanupGL();
    doneCurrent();
}

vtkGenericOpenGLRenderWindow* VtkGLWidget::renderWindow() const { return m_window; }
vtkGenericRenderWindowInteractor* VtkGLWidget::interactor() const { return m_interactor; }

void VtkGLWidget::setDefaultSurfaceFormat() {
    QSurfaceFormat format;
    format.setRenderableType(QSurfaceFormat::OpenGL);
    format.setVersion(3, 2);
    format.setProfile(QSurfaceFormat::CoreProfile);
    format.setDepthBufferSize(24);
    format.setStencilBufferSize(0);
    format.setAlphaBufferSize(8);
    format.setSamples(0);
    format.setSwapBehavior(QSurfaceFormat::DoubleBuffer);
    QSurfaceFormat::setDefaultFormat(format);
}

void VtkGLWidget::onWindowEvent(vtkObject*, unsigned long eventId, void* callData) {
    switch (eventId) {
        case vtkCommand::WindowMakeCurrentEvent:
            // Not QOpenGLWidget::makeCurrent(): that rebinds the widget's framebuffer behind VTK.
            if (context()) context()->makeCurrent(context()->surface());
            break;
        case vtkCommand::WindowIsCurrentEvent: {
            bool& current = *static_cast<bool*>(callData);
            current = context() && QOpenGLContext::currentContext() == context();
            break;
        }
        case vtkCommand::WindowFrameEvent:
        case vtkCommand::RenderEvent:
            if (!m_inPaint) update();
            break;
        default:
            break;
    }
}

void VtkGLWidget::initializeGL() {
    m_window->SetReadyForRendering(true);
    m_window->SetOwnContext(false);
    m_window->SetForceMaximumHardwareLineWidth(1);
    m_window->OpenGLInitContext();
    if (vtkOpenGLState* state = m_window->GetState()) {
        state->Reset();
        state->vtkglDepthFunc(GL_LEQUAL);
        state->vtkglEnable(GL_DEPTH_TEST);
    }
    connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, [this] { cleanupGL(); }, Qt::DirectConnection);
    const qreal dpr = devicePixelRatioF();
    m_interactor->UpdateSize(static_cast<int>(width() * dpr), static_cast<int>(height() * dpr));
}

void VtkGLWidget::cleanupGL() {
    if (m_window && m_window->GetReadyForRendering()) {
        m_window->Finalize();
        m_window->SetReadyForRendering(false);
    }
}

void VtkGLWidget::resizeGL(int w, int h) {
    const qreal dpr = devicePixelRatioF();
    m_interactor->UpdateSize(static_cast<int>(w * dpr), static_cast<int>(h * dpr));
}

void VtkGLWidget::paintGL() {
    if (!m_window->GetReadyForRendering()) return;
    m_inPaint = true;
    vtkOpenGLState* state = m_window->GetState();
    state->Reset();
    state->Push();
    m_window->Render();
    state->Pop();
    m_inPaint = false;
    ++m_framesRendered;

    QOpenGLExtraFunctions* f = context()->extraFunctions();
    f->glBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
    const GLenum buffers[1] = {GL_COLOR_ATTACHMENT0};
    f->glDrawBuffers(1, buffers);
    const int* size = m_window->GetRenderFramebuffer()->GetLastSize();
    const qreal dpr = devicePixelRatioF();
    const int w = static_cast<int>(width() * dpr), h = static_cast<int>(height() * dpr);
    m_window->BlitDisplayFramebuffer(0, 0, 0, size[0], size[1], 0, 0, w, h, GL_COLOR_BUFFER_BIT, GL_LINEAR);
    // Opaque alpha, or the compositor (and grabFramebuffer) blends with what lies behind.
    GLboolean mask[4];
    f->glGetBooleanv(GL_COLOR_WRITEMASK, mask);
    f->glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
    f->glClearColor(0, 0, 0, 1);
    f->glClear(GL_COLOR_BUFFER_BIT);
    f->glColorMask(mask[0], mask[1], mask[2], mask[3]);
}

QImage VtkGLWidget::grabFrame(bool transparent) {
    // The scene is rendered through paintGL (QOpenGLWidget::grabFramebuffer): a render asked of
    // VTK directly (vtkWindowToImageFilter's ShouldRerender) is not drawn in this Qt-hosted
    // window, which then hands back the frame painted last.
    const QImage painted = grabFramebuffer();
    if (!transparent) return painted.convertToFormat(QImage::Format_RGB888);
    // With alpha: VTK's own RGBA buffer of that frame (paintGL makes the widget's alpha opaque).
    makeCurrent();
    m_inPaint = true;
    vtkOpenGLState* state = m_window->GetState();
    state->Reset();
    state->Push();
    vtkNew<vtkWindowToImageFilter> grab;
    grab->SetInput(m_window);
    grab->SetInputBufferType(VTK_RGBA);
    grab->ReadFrontBufferOff();
    grab->ShouldRerenderOff();
    grab->Update();
    state->Pop();
    m_inPaint = false;
    doneCurrent();

    vtkImageData* image = grab->GetOutput();
    int dims[3];
    image->GetDimensions(dims);
    const int channels = image->GetNumberOfScalarComponents();
    auto* pixels = static_cast<const unsigned char*>(image->GetScalarPointer());
    QImage out(dims[0], dims[1], QImage::Format_RGBA8888);
    for (int y = 0; y < dims[1]; ++y) {
        // VTK's rows run bottom-up.
        const unsigned char* row = pixels + static_cast<size_t>(dims[1] - 1 - y) * dims[0] * channels;
        std::memcpy(out.scanLine(y), row, static_cast<size_t>(dims[0]) * channels);
    }
    return out;
}

QImage VtkGLWidget::renderImage(int scale, bool transparent) {
    if (!m_window->GetReadyForRendering()) return {};
    scale = std::max(1, scale);
    vtkRendererCollection* renderers = m_window->GetRenderers();
    vtkRenderer* main = renderers->GetFirstRenderer();
    if (scale == 1 || !main) {
        QImage out = grabFrame(transparent);
        update();
        return out;
    }
    // scale × scale tiles, each the widget's size: the camera zoomed by `scale` and its window
    // centre moved onto the tile (vtkWindowToImageFilter's own tiling cannot re-render here, see
    // grabFrame). Overlay renderers (the orientation cube) would repeat in every tile, so they
    // are left out of an enlarged image.
    vtkCamera* camera = main->GetActiveCamera();
    const double angle = camera->GetViewAngle(), parallelScale = camera->GetParallelScale();
    double centre[2];
    camera->GetWindowCenter(centre);
    std::vector<std::pair<vtkRenderer*, bool>> overlays;
    renderers->InitTraversal();
    while (vtkRenderer* r = renderers->GetNextItem())
        if (r != main) {
            overlays.emplace_back(r, r->GetDraw());
            r->DrawOff();
        }
    // So would the main renderer's 2D actors (the colour bar).
    std::vector<vtkActor2D*> hidden2D;
    vtkActor2DCollection* actors2D = main->GetActors2D();
    actors2D->InitTraversal();
    while (vtkActor2D* a = actors2D->GetNextActor2D())
        if (a->GetVisibility()) {
            hidden2D.push_back(a);
            a->VisibilityOff();
        }
    constexpr double kDegreesPerRadian = 57.29577951308232;
    camera->SetViewAngle(2 * std::atan(std::tan(angle / 2 / kDegreesPerRadian) / scale) * kDegreesPerRadian);
    camera->SetParallelScale(parallelScale / scale);
    QImage out;
    for (int ty = 0; ty < scale; ++ty)
        for (int tx = 0; tx < scale; ++tx) {
            camera->SetWindowCenter(2 * tx + 1 - scale, 2 * ty + 1 - scale);
            const QImage tile = grabFrame(transparent);
            if (out.isNull()) {
                out = QImage(tile.width() * scale, tile.height() * scale, tile.format());
                out.fill(Qt::black);
            }
            QPainter painter(&out);
            painter.setCompositionMode(QPainter::CompositionMode_Source);
            painter.drawImage(tx * tile.width(), (scale - 1 - ty) * tile.height(), tile);   // tile row 0 is the bottom
        }
    camera->SetViewAngle(angle);
    camera->SetParallelScale(parallelScale);
    camera->SetWindowCenter(centre[0], centre[1]);
    for (auto [r, draw] : overlays) r->SetDraw(draw);
    for (vtkActor2D* a : hidden2D) a->VisibilityOn();
    update();
    return out;
}

void VtkGLWidget::forwardMouse(QMouseEvent* event) {
    const qreal dpr = devicePixelRatioF();
    const QPointF p = event->position() * dpr;
    const int y = static_cast<int>(height() * dpr - p.y() - 1);  // VTK's y runs upward
    m_interactor->SetEventInformation(static_cast<int>(p.x()), y, event->modifiers() & Qt::ControlModifier,
                                      event->modifiers() & Qt::ShiftModifier);
    m_interactor->SetAltKey(event->modifiers() & Qt::AltModifier ? 1 : 0);
}

void VtkGLWidget::mousePressEvent(QMouseEvent* event) {
    forwardMouse(event);
    switch (event->button()) {
        case Qt::LeftButton: m_interactor->InvokeEvent(vtkCommand::LeftButtonPressEvent); break;
        case Qt::MiddleButton: m_interactor->InvokeEvent(vtkCommand::MiddleButtonPressEvent); break;
        case Qt::RightButton: m_interactor->InvokeEvent(vtkCommand::RightButtonPressEvent); break;
        default: break;
    }
    update();
}

void VtkGLWidget::mouseMoveEvent(QMouseEvent* event) {
    forwardMouse(event);
    m_interactor->InvokeEvent(vtkCommand::MouseMoveEvent);
}

void VtkGLWidget::mouseReleaseEvent(QMouseEvent* event) {
    forwardMouse(event);
    switch (event->button()) {
        case Qt::LeftButton: m_interactor->InvokeEvent(vtkCommand::LeftButtonReleaseEvent); break;
        case Qt::MiddleButton: m_interactor->InvokeEvent(vtkCommand::MiddleButtonReleaseEvent); break;
        case Qt::RightButton: m_interactor->InvokeEvent(vtkCommand::RightButtonReleaseEvent); break;
        default: break;
    }
    update();
}

void VtkGLWidget::wheelEvent(QWheelEvent* event) {
    const qreal dpr = devicePixelRatioF();
    const QPointF p = event->position() * dpr;
    m_interactor->SetEventInformation(static_cast<int>(p.x()), static_cast<int>(height() * dpr - p.y() - 1));
    const int delta = event->angleDelta().y();
    if (delta > 0) m_interactor->InvokeEvent(vtkCommand::MouseWheelForwardEvent);
    if (delta < 0) m_interactor->InvokeEvent(vtkCommand::MouseWheelBackwardEvent);
    update();
}

void VtkGLWidget::enterEvent(QEnterEvent*) { m_interactor->InvokeEvent(vtkCommand::EnterEvent); }
void VtkGLWidget::leaveEvent(QEvent*) { m_interactor->InvokeEvent(vtkCommand::LeaveEvent); }

}  // namespace soului
