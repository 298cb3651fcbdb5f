#include "EngineJobs.h"

#include "ErrorMessage.h"

#include "soul/error.h"

#include <QMetaObject>
#include <QPointer>

namespace soului {

EngineJobs::EngineJobs(QObject* parent) : QObject(parent) { m_pool.setMaxThreadCount(1); }

void EngineJobs::onEnded(QObject* context, std::function<void(bool cancelled, const QString& error)> handler) {
    connect(this, &EngineJobs::succeeded, context, [handler](int) { handler(false, QString()); });
    connect(this, &EngineJobs::cancelled, context, [handler](int) { handler(true, QString()); });
    connect(this, &EngineJobs::failed, context, [handler](int, const QString& message) { handler(false, message); });
}

EngineJobs::~EngineJobs() {
    cancel();
    m_pool.waitForDone();
}

int EngineJobs::submit(Job job, bool cancelRunning) {
    if (cancelRunning) cancel();
    const int number = ++m_latest;
    auto token = std::make_shared<soul::CancelToken>();
    m_cancel = token;
    QPointer<EngineJobs> self(this);
    m_pool.start([self, token, number, job = std::move(job)] {
        const Deliver deliver = [self](std::function<void()> f) {
            if (self) QMetaObject::invokeMethod(self, [self, f = std::move(f)] {
                    if (self) f();
                }, Qt::QueuedConnection);
        };
        auto signal = [&](std::function<void(EngineJobs*)> emitIt) { deliver([self, emitIt] { emitIt(self.data()); }); };
        if (token->cancelled()) {
            signal([number](EngineJobs* j) { Q_EMIT j->cancelled(number); });
            return;
        }
        soul::Progress progress;
        progress.cancel = token.get();
        try {
            job(progress, deliver);
            signal([number](EngineJobs* j) { Q_EMIT j->succeeded(number); });
        } catch (const soul::Cancelled&) {
            signal([number](EngineJobs* j) { Q_EMIT j->cancelled(number); });
        } catch (...) {
            const QString message = currentErrorMessage();
            signal([number, message](EngineJobs* j) { Q_EMIT j->failed(number, message); });
        }
    });
    return number;
}

void EngineJobs::cancel() {
    if (m_cancel) m_cancel->cancel();
}

bool EngineJobs::busy() const { return m_pool.activeThreadCount() > 0; }

void EngineJobs::waitForIdle() { m_pool.waitForDone(); }

}  // namespace soului
