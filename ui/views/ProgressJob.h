// ProgressJob: a long engine call run on a worker thread behind a window-modal progress dialog
// with Cancel, while the window stays live (design.md §5: the GUI thread never waits on LibTorch).
// The worker turns every exception into the returned message: nothing it throws ends the studio.
#pragma once

#include "soul/progress.h"

#include <QString>

#include <functional>

class QWidget;

namespace soului {

struct ProgressJobResult {
    bool cancelled = false;
    QString error;   // empty: it succeeded (or was cancelled)
    bool ok() const { return !cancelled && error.isEmpty(); }
};

// `objectName` names the dialog (tests find it by it). The dialog shows at once, or after
// `showAfterMs` for jobs that are usually quick (opening a small file should not flash a dialog).
ProgressJobResult runWithProgress(QWidget* parent, const QString& title, const QString& label, const QString& objectName,
                                  const std::function<void(const soul::Progress&)>& job, int showAfterMs = 0);

}  // namespace soului
