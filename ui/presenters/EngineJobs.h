// EngineJobs: the one way the studio runs engine calls (design.md §5) — the workbench's
// reconstructions and the training panel's runs alike. One worker thread runs a job at a time; a
// job gets a soul::Progress whose cancel token cancel() trips, and hands results to the GUI thread
// by value through `deliver` (a function run there, dropped once this object is gone). Every
// exception a job throws becomes failed(job, message) — nothing it throws ends the studio — and
// soul::Cancelled becomes cancelled(job).
#pragma once

#include "soul/progress.h"

#include <QObject>
#include <QString>
#include <QThreadPool>

#include <functional>
#include <memory>

namespace soului {

class EngineJobs : public QObject {
    Q_OBJECT
public:
    // Runs a function on the GUI thread, in order with the job's other deliveries and signals.
    using Deliver = std::function<void(std::function<void()>)>;
    using Job = std::function<void(const soul::Progress&, const Deliver&)>;

    explicit EngineJobs(QObject* parent = nullptr);
    ~EngineJobs() override;   // cancels and waits for the worker

    // Queues `job` and returns its number (1, 2, ...); with `cancelRunning` the job in flight is
    // cancelled first (it stops at its next progress check).
    int submit(Job job, bool cancelRunning = true);
    void cancel();                  // the latest job
    bool busy() const;
    int latest() const { return m_latest; }
    void waitForIdle();             // blocks (tests, shutdown)
    // One handler for every job's end, run on `context`'s thread: cancelled, or the failure's
    // message (empty when the job succeeded).
    void onEnded(QObject* context, std::function<void(bool cancelled, const QString& error)> handler);

Q_SIGNALS:
    void succeeded(int job);
    void cancelled(int job);
    void failed(int job, const QString& message);

private:
    QThreadPool m_pool;   // one thread: the engine is used by one call at a time
    std::shared_ptr<soul::CancelToken> m_cancel;
    int m_latest = 0;
};

}  // namespace soului
