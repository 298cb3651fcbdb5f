// The studio's embedded default: the phantom subject (betas of session 1 with NSD's stream
// labels) when it has been made (on first start, or `souldiffuser default-subject`), else Colin27
// with the AAL atlas from Debian's mricron-data. Paths come from core's lookups (data_paths.h,
// default_subject.h), the same as the command line's.
#pragma once

#include <QList>
#include <QString>

struct DefaultData {
    QString volume;      // betas_session01.nii.gz, or ch2bet.nii.gz
    QString labels;      // streams.nii.gz, or aal.nii.gz
    QString underlay;    // the phantom's T1_to_func1pt8mm.nii.gz; empty for Colin27 (itself a T1)
    QList<int> visibleLabels;  // empty: all; for AAL the labels of the visual streams
    bool phantom = false;
    QString missing;     // non-empty when neither is there: what to do
    // The reconstruction session: the shipped model and the phantom prepared for it, when both
    // are there; empty otherwise.
    QString model, prepared;
};

// The shipped model: $SOUL_MODEL_DIR, else models/phantom-small of the user data dir, the install
// prefix or (build tree only) the source tree; empty when none has it.
QString defaultModelDir();
// The phantom prepared for it: $SOUL_PREPARED_DIR, else <phantom>-prepared-64.
QString defaultPreparedDir();
// Where the default phantom lives: $SOUL_PHANTOM_DIR, else <XDG data dir>/souldiffuser/phantom.
QString defaultPhantomDir();
// The shipped training config (phantom-small.json), found like the model.
QString defaultTrainingConfig();
// Both the phantom and its preparation are complete.
bool defaultSubjectMade();
// The phantom if it is there (its stimulus file, written last, marks it complete); else Colin27
// from $SOUL_MRICRON_DIR or /usr/share/mricron/templates.
DefaultData defaultData();
