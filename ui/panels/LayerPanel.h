// LayerPanel: the layer list, as FSLeyes' overlay list reads — top layer first: the overlays, the
// volume, the underlay. A check box shows or hides a layer; the selected row is the layer the
// Display panel edits and the 3D view paints; Up and Down reorder the overlays; Remove closes one;
// Add opens a file as an overlay (the window asks for the file).
#pragma once

#include <QWidget>

class QListWidget;
class QPushButton;

namespace soului {

class VolumeDocument;

class LayerPanel : public QWidget {
    Q_OBJECT
public:
    explicit LayerPanel(VolumeDocument* document, QWidget* parent = nullptr);

    // The document's layer shown in `row` (0 at the top): ≥ 0 a colour layer, kUnderlayRow the underlay.
    static constexpr int kUnderlayRow = -1;
    int layerOfRow(int row) const;

Q_SIGNALS:
    void addOverlayRequested();

private:
    void rebuild();
    void syncSelection();
    void updateButtons();

    VolumeDocument* m_document;
    QListWidget* m_list;
    QPushButton* m_up;
    QPushButton* m_down;
    QPushButton* m_remove;
    bool m_rebuilding = false;
};

}  // namespace soului
