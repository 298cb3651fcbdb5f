// The embedded default data set of the studio until the phantom subject exists: Colin27 (ch2bet)
// with the AAL atlas, from Debian's mricron-data.
#pragma once

#include <QList>
#include <QString>

struct DefaultData {
    QString volume;      // ch2bet.nii.gz
    QString labels;      // aal.nii.gz
    QList<int> visibleLabels;  // AAL labels of the visual streams (occipital, ventral temporal, parietal)
    QString missing;     // non-empty when mricron-data is not installed: what to do
};

// Looks in $SOUL_MRICRON_DIR, then /usr/share/mricron/templates.
DefaultData defaultData();
