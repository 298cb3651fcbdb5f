// A panel's labelled text field: named for tests and session code, with a placeholder that says
// what goes in it.
#pragma once

#include <QLineEdit>

namespace soului {

inline QLineEdit* formField(QWidget* parent, const QString& objectName, const QString& placeholder, int minimumWidth) {
    auto* e = new QLineEdit(parent);
    e->setObjectName(objectName);
    e->setPlaceholderText(placeholder);
    e->setMinimumWidth(minimumWidth);
    return e;
}

}  // namespace soului
