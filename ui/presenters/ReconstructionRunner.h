// ReconstructionRunner: the workbench's link to the engine (design.md §5). It opens a run and a
// prepared dataset off the GUI thread, then reconstructs one trial at a time on its own worker
// thread. A new request cancels the one in flight (the engine stops at its next step), so the
// latest settings always win and the GUI thread never waits on LibTorch. Results and per-step
// previews come back as queued signals tagged with the request's number; stale ones are dropped.
#pragma once

#include "soul/reconstruct.h"

#include <QImage>
#include <QObject>
#include <QString>
#include <QThreadPool>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace soului {

// The engine's 8-bit RGB images and Qt's, both ways.
QImage toQImage(const soul::RgbImage& image);
soul::RgbImage toRgbImage(const QImage& image);

class ReconstructionRunner : public QObject {
    Q_OBJECT
public:
    explicit ReconstructionRunner(QObject* parent = nullptr);
    ~ReconstructionRunner() override;   // cancels and waits for the worker

    // Opens asynchronously; emits opened().
    void open(const QString& run, const QString& data);
    bool isOpen() const { return m_engine != nullptr; }
    // Valid after opened(true); the dataset and streams for the GUI thread to read.
    const soul::ReconstructionEngine* engine() const { return m_engine.get(); }

    // Starts a reconstruction and returns its request number; the previous one is cancelled.
    // `variants` (the same trial with other settings: stream ablations, the baseline decoder) run
    // after it in order, each announced by variantFinished(); cancelling covers them too.
    int request(const soul::TrialRef& trial, const soul::ReconstructionSettings& settings,
                const std::vector<soul::ReconstructionSettings>& variants = {});
    // Stream ablations and attributions of a trial (a few seconds); contributionsReady() follows.
    int requestContributions(const soul::TrialRef& trial, const soul::ReconstructionSettings& settings);
    soul::StreamContributions contributions(int request) const;
    void cancel();
    bool busy() const;
    int latestRequest() const { return m_latest; }
    // The result of a finished request (empty samples if it is not the latest finished one).
    soul::Reconstruction result(int request) const;
    // A variant of the latest finished request (empty samples if it is not there).
    soul::Reconstruction variant(int request, int index) const;
    // Blocks until the worker is idle (tests, shutdown).
    void waitForIdle();

Q_SIGNALS:
    void opened(bool ok, const QString& message);
    void stepPreview(int request, int step, int steps, const QImage& noisy, const QImage& predicted);
    void finished(int request, double seconds);
    void variantFinished(int request, int index);
    void failed(int request, const QString& message);
    void contributionsReady(int request);

private:
    // Runs `work` (given the progress with this request's cancel token, and the request number)
    // on the worker; soul::Error becomes failed(), cancellation ends it quietly.
    int submit(const std::function<void(const soul::Progress&, int)>& work);

    QThreadPool m_pool;   // one thread: the engine is used by one call at a time
    std::unique_ptr<soul::ReconstructionEngine> m_engine;
    std::shared_ptr<soul::CancelToken> m_cancel;
    int m_latest = 0;
    mutable std::mutex m_mutex;
    int m_resultRequest = 0;
    soul::Reconstruction m_result;
    std::vector<soul::Reconstruction> m_variants;   // of m_resultRequest, in order
    int m_contributionsRequest = 0;
    soul::StreamContributions m_contributions;
};

}  // namespace soului
