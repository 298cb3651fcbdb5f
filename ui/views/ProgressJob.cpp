#include "ProgressJob.h"

#include "ErrorMessage.h"

#include "soul/error.h"

#include <QEventLoop>
#include <QProgressDialog>

#include <exception>
#include <thread>

namespace soului {

ProgressJobResult runWithProgress(QWidget* parent, const QString& title, const QString& label, const QString& objectName,
                                  const std::function<void(const soul::Progress&)>& job, int showAfterMs) {
    constexpr int kRange = 1000;
    QProgressDialog dialog(label, QObject::tr("Cancel"), 0, kRange, parent);
    dialog.setObjectName(objectName);
    dialog.setWindowTitle(title);
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setMinimumDuration(showAfterMs);
    dialog.setAutoClose(false);
    dialog.setAutoReset(false);
    dialog.setValue(0);

    soul::CancelToken cancel;
    QObject::connect(&dialog, &QProgressDialog::canceled, &dialog, [&cancel] { cancel.cancel(); });
    soul::Progress progress;
    progress.cancel = &cancel;
    progress.report = [&dialog, &cancel](int64_t step, int64_t steps, const std::string& message) {
        const int value = steps > 0 ? static_cast<int>(kRange * step / steps) : 0;
        const QString text = QString::fromStdString(message);
        QMetaObject::invokeMethod(&dialog, [&dialog, &cancel, value, text] {
            if (dialog.wasCanceled()) cancel.cancel();   // closed or cancelled without the signal
            dialog.setValue(value);
            dialog.setLabelText(text);
        }, Qt::QueuedConnection);
    };
    ProgressJobResult result;
    QEventLoop loop;
    std::thread worker([&] {
        try {
            job(progress);
        } catch (const soul::Cancelled&) {
            result.cancelled = true;
        } catch (...) {
            result.error = currentErrorMessage();
        }
        QMetaObject::invokeMethod(&loop, &QEventLoop::quit, Qt::QueuedConnection);
    });
    loop.exec();
    worker.join();
    dialog.close();
    return result;
}

}  // namespace soului
