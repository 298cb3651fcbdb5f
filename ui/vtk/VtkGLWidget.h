// VtkGLWidget: a VTK render window hosted in a Qt 6 QOpenGLWidget.
// Debian's VTK Qt module is built against Qt 5, so this is our own host, following how VTK 9's
// QVTKOpenGLNativeWidget does it (see stack-notes.md): VTK renders into its own framebuffer in
// the widget's GL context, and paintGL blits that into the widget's framebuffer.
#pragma once

#include <QOpenGLWidget>

#include <vtkNew.h>
#include <vtkSmartPointer.h>

class vtkGenericOpenGLRenderWindow;
class vtkGenericRenderWindowInteractor;
class vtkObject;
class vtkRenderer;

namespace soului {

// VTK's version, for Help ▸ About.
QString vtkVersionText();


class VtkGLWidget : public QOpenGLWidget {
    Q_OBJECT
public:
    explicit VtkGLWidget(QWidget* parent = nullptr);
    ~VtkGLWidget() override;

    vtkGenericOpenGLRenderWindow* renderWindow() const;
    vtkGenericRenderWindowInteractor* interactor() const;

    // Sets the default surface format VTK needs (OpenGL 3.2 core, depth, no multisampling).
    // Call before constructing QApplication.
    static void setDefaultSurfaceFormat();

    // Renders the scene now and returns it as an image `scale` times the widget's pixel size;
    // with `transparent` the background is transparent (alpha from VTK's RGBA buffer).
    QImage renderImage(int scale = 1, bool transparent = false);

    // Frames rendered so far (for tests and the frame-rate benchmark).
    qint64 framesRendered() const { return m_framesRendered; }

protected:
    void initializeGL() override;
    void resizeGL(int w, int h) override;
    void paintGL() override;

    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void enterEvent(QEnterEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    void onWindowEvent(vtkObject* caller, unsigned long eventId, void* callData);
    void forwardMouse(QMouseEvent* event);
    void cleanupGL();
    QImage grabFrame(bool transparent);   // one frame at the widget's size

    vtkSmartPointer<vtkGenericOpenGLRenderWindow> m_window;
    vtkSmartPointer<vtkGenericRenderWindowInteractor> m_interactor;
    bool m_inPaint = false;
    qint64 m_framesRendered = 0;
};

}  // namespace soului
