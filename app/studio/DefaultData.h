// The studio's embedded default: the phantom subject (betas of session 1 with NSD's stream
// labels) when it has been generated (tools/studio.sh does), else Colin27 with the AAL atlas from
// Debian's mricron-data.
#pragma once

#include <QList>
#include <QString>

struct DefaultData {
    QString volume;      // betas_session01.nii.gz, or ch2bet.nii.gz
    QString labels;      // streams.nii.gz, or aal.nii.gz
    QList<int> visibleLabels;  // empty: all; for AAL the labels of the visual streams
    bool phantom = false;
    QString missing;     // non-empty when neither is there: what to do
    // The reconstruction session: the shipped model and the phantom prepared for it, when both
    // are there (tools/studio.sh prepares it); empty otherwise.
    QString model, prepared;
};

// The shipped model: $SOUL_MODEL_DIR, else models/phantom-small of the source tree.
QString defaultModelDir();
// Where tools/studio.sh prepares the phantom for it: $SOUL_PREPARED_DIR, else <phantom>-prepared-64.
QString defaultPreparedDir();

// Where the default phantom lives: $SOUL_PHANTOM_DIR, else ~/.local/share/souldiffuser/phantom.
QString defaultPhantomDir();
// The phantom if it is there (its stimulus file, written last, marks it complete); else Colin27
// from $SOUL_MRICRON_DIR or /usr/share/mricron/templates.
DefaultData defaultData();
