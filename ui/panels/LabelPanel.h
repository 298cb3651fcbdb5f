// LabelPanel: the label table — a check box per label (shown or hidden in every view), its colour,
// name and voxel count, and an opacity slider for the selected labels.
#pragma once

#include <QWidget>

class QSlider;
class QTableWidget;
class QLabel;

namespace soului {

class VolumeDocument;

class LabelPanel : public QWidget {
    Q_OBJECT
public:
    explicit LabelPanel(VolumeDocument* document, QWidget* parent = nullptr);

private:
    void rebuild();
    void applyOpacityToSelection(int percent);
    QList<int> selectedValues() const;

    VolumeDocument* m_document;
    QTableWidget* m_table;
    QSlider* m_opacity;
    QLabel* m_source;
    bool m_rebuilding = false;
};

}  // namespace soului
