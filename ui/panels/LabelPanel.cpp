#include "LabelPanel.h"

#include "VolumeDocument.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QTableWidget>
#include <QVBoxLayout>

namespace soului {

LabelPanel::LabelPanel(VolumeDocument* document, QWidget* parent) : QWidget(parent), m_document(document) {
    setObjectName("labelPanel");
    auto* layout = new QVBoxLayout(this);
    m_source = new QLabel(tr("No labels"), this);
    m_source->setObjectName("labelSource");
    m_source->setWordWrap(true);
    layout->addWidget(m_source);

    m_table = new QTableWidget(0, 3, this);
    m_table->setObjectName("labelTable");
    m_table->setHorizontalHeaderLabels({tr("Label"), tr("Value"), tr("Voxels")});
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    layout->addWidget(m_table, 1);

    auto* buttons = new QHBoxLayout;
    auto* all = new QPushButton(tr("Show all"), this);
    all->setObjectName("showAllLabels");
    auto* none = new QPushButton(tr("Hide all"), this);
    none->setObjectName("hideAllLabels");
    buttons->addWidget(all);
    buttons->addWidget(none);
    layout->addLayout(buttons);

    auto* opacityRow = new QHBoxLayout;
    opacityRow->addWidget(new QLabel(tr("Opacity"), this));
    m_opacity = new QSlider(Qt::Horizontal, this);
    m_opacity->setObjectName("labelOpacity");
    m_opacity->setRange(0, 100);
    m_opacity->setValue(100);
    m_opacity->setToolTip(tr("Opacity of the selected labels"));
    opacityRow->addWidget(m_opacity, 1);
    layout->addLayout(opacityRow);

    connect(m_document, &VolumeDocument::labelsChanged, this, &LabelPanel::rebuild);
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
        if (m_rebuilding || item->column() != 0) return;
        m_document->setLabelVisible(item->data(Qt::UserRole).toInt(), item->checkState() == Qt::Checked);
    });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] {
        const QList<int> values = selectedValues();
        if (!values.isEmpty()) {
            const QSignalBlocker block(m_opacity);
            m_opacity->setValue(static_cast<int>(m_document->labelOpacity(values.first()) * 100 + 0.5));
        }
    });
    connect(m_opacity, &QSlider::valueChanged, this, &LabelPanel::applyOpacityToSelection);
    auto setAll = [this](bool visible) {
        for (int row = 0; row < m_table->rowCount(); ++row)
            m_table->item(row, 0)->setCheckState(visible ? Qt::Checked : Qt::Unchecked);
    };
    connect(all, &QPushButton::clicked, this, [setAll] { setAll(true); });
    connect(none, &QPushButton::clicked, this, [setAll] { setAll(false); });
    rebuild();
}

QList<int> LabelPanel::selectedValues() const {
    QList<int> values;
    for (const auto& range : m_table->selectedRanges())
        for (int row = range.topRow(); row <= range.bottomRow(); ++row)
            values << m_table->item(row, 0)->data(Qt::UserRole).toInt();
    return values;
}

void LabelPanel::applyOpacityToSelection(int percent) {
    for (int value : selectedValues()) m_document->setLabelOpacity(value, percent / 100.0);
}

void LabelPanel::rebuild() {
    m_rebuilding = true;
    m_table->setRowCount(0);
    const auto counts = m_document->labelVoxelCounts();
    m_source->setText(m_document->hasLabels()
                          ? tr("%1 — %2 labels").arg(QFileInfo(m_document->labelsPath()).fileName()).arg(counts.size())
                          : tr("No labels: File ▸ Open Labels…"));
    int row = 0;
    m_table->setRowCount(static_cast<int>(counts.size()));
    for (const auto& [value, count] : counts) {
        const auto rgb = m_document->labelTable().colour_of(value);
        auto* name = new QTableWidgetItem(QString::fromStdString(m_document->labelTable().name_of(value)));
        name->setData(Qt::UserRole, value);
        name->setFlags(name->flags() | Qt::ItemIsUserCheckable);
        name->setCheckState(m_document->labelVisible(value) ? Qt::Checked : Qt::Unchecked);
        QPixmap swatch(12, 12);
        swatch.fill(QColor(rgb[0], rgb[1], rgb[2]));
        name->setIcon(QIcon(swatch));
        m_table->setItem(row, 0, name);
        m_table->setItem(row, 1, new QTableWidgetItem(QString::number(value)));
        m_table->setItem(row, 2, new QTableWidgetItem(QString::number(count)));
        ++row;
    }
    m_table->resizeColumnsToContents();
    m_rebuilding = false;
}

}  // namespace soului
