#include "ReconstructionRunner.h"

#include <QPointer>

namespace soului {

QImage toQImage(const soul::RgbImage& image) {
    if (image.pixels.empty()) return {};
    return QImage(image.pixels.data(), static_cast<int>(image.width), static_cast<int>(image.height), static_cast<int>(image.width * 3),
                  QImage::Format_RGB888)
        .copy();
}

soul::RgbImage toRgbImage(const QImage& image) {
    const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
    soul::RgbImage out;
    out.width = rgb.width();
    out.height = rgb.height();
    for (int y = 0; y < rgb.height(); ++y) out.pixels.insert(out.pixels.end(), rgb.constScanLine(y), rgb.constScanLine(y) + rgb.width() * 3);
    return out;
}

ReconstructionRunner::ReconstructionRunner(QObject* parent) : QObject(parent) {
    connect(&m_jobs, &EngineJobs::failed, this, &ReconstructionRunner::failed);
    connect(&m_jobs, &EngineJobs::cancelled, this, &ReconstructionRunner::cancelled);
}

ReconstructionRunner::~ReconstructionRunner() {
    m_jobs.cancel();
    m_jobs.waitForIdle();
}

void ReconstructionRunner::open(const QString& run, const QString& data) {
    m_jobs.cancel();
    m_jobs.waitForIdle();
    m_engine.reset();
    QPointer<ReconstructionRunner> self(this);
    const int job = m_jobs.submit([self, run, data](const soul::Progress&, const EngineJobs::Deliver& deliver) {
        auto engine = std::make_shared<std::unique_ptr<soul::ReconstructionEngine>>(
            std::make_unique<soul::ReconstructionEngine>(run.toStdString(), data.toStdString(), "auto"));
        deliver([self, engine] {
            if (!self) return;
            self->m_engine = std::move(*engine);
            Q_EMIT self->opened(true, QString());
        });
    });
    // A failed open is reported as opened(false), not as a request's failure.
    reportFailureOf(job, &ReconstructionRunner::opened);
}

void ReconstructionRunner::reportFailureOf(int job, void (ReconstructionRunner::*signal)(bool, const QString&)) {
    auto connection = std::make_shared<QMetaObject::Connection>();
    *connection = connect(&m_jobs, &EngineJobs::failed, this, [this, job, connection, signal](int failed, const QString& message) {
        if (failed != job) return;
        disconnect(*connection);
        Q_EMIT(this->*signal)(false, message);
    });
}

void ReconstructionRunner::useGenerator(const soul::StableDiffusionOptions& options) {
    if (!m_engine) return;
    soul::ReconstructionEngine* engine = m_engine.get();
    QPointer<ReconstructionRunner> self(this);
    const int job = m_jobs.submit([self, engine, options](const soul::Progress&, const EngineJobs::Deliver& deliver) {
        if (options.used())
            engine->use_stable_diffusion(options);
        else
            engine->use_own_generator();
        deliver([self, title = QString::fromStdString(engine->generator_title())] {
            if (self) Q_EMIT self->generatorChanged(true, title);
        });
    });
    reportFailureOf(job, &ReconstructionRunner::generatorChanged);
}

int ReconstructionRunner::request(const soul::TrialRef& trial, const soul::ReconstructionSettings& settings,
                                  const std::vector<soul::ReconstructionSettings>& variants) {
    if (!m_engine) return 0;
    soul::ReconstructionEngine* engine = m_engine.get();
    QPointer<ReconstructionRunner> self(this);
    const int number = m_jobs.latest() + 1;
    const int submitted = m_jobs.submit([self, engine, trial, settings, variants, number](const soul::Progress& progress, const EngineJobs::Deliver& deliver) {
        soul::ReconstructionSettings s = settings;
        s.previews = true;
        auto results = engine->reconstruct({trial}, s, progress, [&](size_t, const soul::DenoisePreview& p) {
            if (p.sample == 0) deliver([self, number, p] { Q_EMIT self->stepPreview(number, p); });
        });
        deliver([self, number, r = std::move(results.front())] { Q_EMIT self->finished(number, r); });
        for (size_t i = 0; i < variants.size(); ++i) {
            soul::Reconstruction variant = engine->reconstruct({trial}, variants[i], progress).front();
            const int index = static_cast<int>(i);
            deliver([self, number, index, r = std::move(variant)] { Q_EMIT self->variantFinished(number, index, r); });
        }
    });
    Q_ASSERT(submitted == number);
    return submitted;
}

int ReconstructionRunner::requestContributions(const soul::TrialRef& trial, const soul::ReconstructionSettings& settings) {
    if (!m_engine) return 0;
    soul::ReconstructionEngine* engine = m_engine.get();
    QPointer<ReconstructionRunner> self(this);
    const int number = m_jobs.latest() + 1;
    return m_jobs.submit([self, engine, trial, settings, number](const soul::Progress& progress, const EngineJobs::Deliver& deliver) {
        soul::Progress reporting = progress;   // the job's cancel token, and its steps to the GUI
        reporting.report = [&deliver, self, number](int64_t step, int64_t steps, const std::string& message) {
            deliver([self, number, step, steps, text = QString::fromStdString(message)] {
                Q_EMIT self->contributionsProgress(number, static_cast<int>(step), static_cast<int>(steps), text);
            });
        };
        soul::StreamContributions c = engine->contributions(trial, settings, reporting);
        deliver([self, number, c = std::move(c)] { Q_EMIT self->contributionsReady(number, c); });
    });
}

}  // namespace soului
