// ReconstructionRunner: the workbench's link to the engine (design.md §5). It opens a run and a
// prepared dataset off the GUI thread, then reconstructs one trial at a time on the studio's engine
// job worker (EngineJobs). A new request cancels the one in flight (the engine stops at its next
// step), so the latest settings always win and the GUI thread never waits on LibTorch. Results
// and per-step previews come back by value in signals tagged with the request's number; the
// receiver drops stale ones (WorkbenchModel does).
#pragma once

#include "EngineJobs.h"

#include "soul/reconstruct.h"

#include <QImage>
#include <QObject>
#include <QString>

#include <memory>
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

    // Loads the user's Stable Diffusion on the worker (seconds to minutes) and draws with it from
    // then on; `options.path` empty: the run's own generator again. generatorChanged() follows
    // with the generator's title, or false and the error (the generator in use then stays).
    void useGenerator(const soul::StableDiffusionOptions& options);

    // Starts a reconstruction and returns its request number; the previous one is cancelled.
    // `variants` (the same trial with other settings: stream ablations, another decoder) run after
    // it in order, each delivered by variantFinished(); cancelling covers them too.
    int request(const soul::TrialRef& trial, const soul::ReconstructionSettings& settings,
                const std::vector<soul::ReconstructionSettings>& variants = {});
    // Stream ablations and attributions of a trial (a few seconds); contributionsReady() follows.
    int requestContributions(const soul::TrialRef& trial, const soul::ReconstructionSettings& settings);
    void cancel() { m_jobs.cancel(); }
    bool busy() const { return m_jobs.busy(); }
    int latestRequest() const { return m_jobs.latest(); }
    // Blocks until the worker is idle (tests, shutdown).
    void waitForIdle() { m_jobs.waitForIdle(); }

Q_SIGNALS:
    void opened(bool ok, const QString& message);
    void generatorChanged(bool ok, const QString& titleOrError);
    void stepPreview(int request, const soul::DenoisePreview& preview);   // sample 0's steps
    void finished(int request, const soul::Reconstruction& result);
    void variantFinished(int request, int index, const soul::Reconstruction& result);
    void contributionsReady(int request, const soul::StreamContributions& contributions);
    void contributionsProgress(int request, int step, int steps, const QString& message);
    void cancelled(int request);   // cancel(), or a newer request, stopped it
    void failed(int request, const QString& message);

private:
    // Reports job `job`'s failure through `signal` (as open and useGenerator do) rather than as a
    // request's failure.
    void reportFailureOf(int job, void (ReconstructionRunner::*signal)(bool, const QString&));
    EngineJobs m_jobs;
    std::unique_ptr<soul::ReconstructionEngine> m_engine;
};

}  // namespace soului
