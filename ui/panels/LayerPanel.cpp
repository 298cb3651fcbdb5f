#include "LayerPanel.h"

#include "VolumeDocument.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include <vector>

namespace soului {

LayerPanel::LayerPanel(VolumeDocument* document, QWidget* parent) : QWidget(parent), m_document(document) {
    setObjectName("layerPanel");
    auto* layout = new QVBoxLayout(this);
    m_list = new QListWidget(this);
    m_list->setObjectName("layerList");
    m_list->setToolTip(tr("Top layer first. The selected layer is the one the Display panel edits and the 3D view paints."));
    layout->addWidget(m_list);
    auto* buttons = new QHBoxLayout;
    auto button = [this, buttons](const QString& text, const char* name, const QString& tip) {
        auto* b = new QPushButton(text, this);
        b->setObjectName(name);
        b->setToolTip(tip);
        buttons->addWidget(b);
        return b;
    };
    QPushButton* add = button(tr("Add…"), "addOverlay", tr("Open a volume as an overlay on top (File ▸ Open Overlay)"));
    m_up = button(tr("Up"), "layerUp", tr("Move the selected overlay up"));
    m_down = button(tr("Down"), "layerDown", tr("Move the selected overlay down"));
    m_remove = button(tr("Remove"), "removeLayer", tr("Close the selected overlay"));
    layout->addLayout(buttons);

    connect(add, &QPushButton::clicked, this, &LayerPanel::addOverlayRequested);
    connect(m_up, &QPushButton::clicked, this, [this] { m_document->moveLayer(m_document->selectedLayer(), +1); });
    connect(m_down, &QPushButton::clicked, this, [this] { m_document->moveLayer(m_document->selectedLayer(), -1); });
    connect(m_remove, &QPushButton::clicked, this, [this] { m_document->removeLayer(m_document->selectedLayer()); });
    connect(m_list, &QListWidget::currentRowChanged, this, [this](int row) {
        if (m_rebuilding || row < 0) return;
        const int layer = layerOfRow(row);
        if (layer >= 0) m_document->setSelectedLayer(layer);
        updateButtons();
    });
    connect(m_list, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        if (m_rebuilding) return;
        const int layer = layerOfRow(m_list->row(item));
        const bool on = item->checkState() == Qt::Checked;
        if (layer == kUnderlayRow) {
            m_document->setUnderlayVisible(on);
        } else {
            LayerDisplay d = m_document->layerDisplay(layer);
            d.visible = on;
            m_document->setLayerDisplay(layer, d);
        }
    });
    for (auto signal : {&VolumeDocument::volumeChanged, &VolumeDocument::layersChanged, &VolumeDocument::underlayChanged,
                        &VolumeDocument::displayChanged})
        connect(document, signal, this, &LayerPanel::rebuild);
    connect(document, &VolumeDocument::selectedLayerChanged, this, &LayerPanel::syncSelection);
    rebuild();
}

int LayerPanel::layerOfRow(int row) const {
    const int colourLayers = m_document->layerCount();
    if (row >= 0 && row < colourLayers) return colourLayers - 1 - row;
    return kUnderlayRow;
}

void LayerPanel::rebuild() {
    struct Row {
        QString text;
        bool checkable = false, checked = false, selectable = true;
    };
    std::vector<Row> rows;
    for (int layer = m_document->layerCount() - 1; layer >= 0; --layer) {
        const LayerDisplay& d = m_document->layerDisplay(layer);
        Row row;
        row.text = (layer == 0 ? tr("Volume: %1") : tr("Overlay: %1")).arg(m_document->layerName(layer));
        if (!d.unit.isEmpty()) row.text += QString(" (%1)").arg(d.unit);
        row.text += QString("  [%1]").arg(d.colormap);
        row.checkable = layer > 0;   // the volume sets the grid; its opacity hides it
        row.checked = d.visible;
        rows.push_back(row);
    }
    if (m_document->hasUnderlay())
        rows.push_back({tr("Underlay: %1").arg(QFileInfo(m_document->underlayPath()).fileName()), true, m_document->underlayVisible(), false});
    // Items are updated in place: this runs inside the list's own itemChanged signal too.
    m_rebuilding = true;
    if (m_list->count() != static_cast<int>(rows.size())) {
        m_list->clear();
        for (size_t i = 0; i < rows.size(); ++i) new QListWidgetItem(m_list);
    }
    for (int i = 0; i < m_list->count(); ++i) {
        QListWidgetItem* item = m_list->item(i);
        const Row& row = rows[static_cast<size_t>(i)];
        item->setText(row.text);
        Qt::ItemFlags flags = Qt::ItemIsEnabled;
        if (row.selectable) flags |= Qt::ItemIsSelectable;
        if (row.checkable) flags |= Qt::ItemIsUserCheckable;
        item->setFlags(flags);
        if (row.checkable) item->setCheckState(row.checked ? Qt::Checked : Qt::Unchecked);
        else item->setData(Qt::CheckStateRole, QVariant());
    }
    m_rebuilding = false;
    syncSelection();
}

void LayerPanel::syncSelection() {
    const bool rebuilding = m_rebuilding;
    m_rebuilding = true;
    if (m_document->layerCount() > 0) m_list->setCurrentRow(m_document->layerCount() - 1 - m_document->selectedLayer());
    m_rebuilding = rebuilding;
    updateButtons();
}

void LayerPanel::updateButtons() {
    const int layer = m_document->selectedLayer();
    const int overlays = static_cast<int>(m_document->overlays().size());
    m_up->setEnabled(layer >= 1 && layer < overlays);
    m_down->setEnabled(layer >= 2);
    m_remove->setEnabled(layer >= 1);
}

}  // namespace soului
