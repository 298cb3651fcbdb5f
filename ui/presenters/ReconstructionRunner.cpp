#include "ReconstructionRunner.h"

#include "ErrorMessage.h"

#include "soul/error.h"

#include <QMetaObject>
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

ReconstructionRunner::ReconstructionRunner(QObject* parent) : QObject(parent) { m_pool.setMaxThreadCount(1); }

ReconstructionRunner::~ReconstructionRunner() {
    cancel();
    m_pool.waitForDone();
}

void ReconstructionRunner::open(const QString& run, const QString& data) {
    cancel();
    m_pool.waitForDone();
    m_engine.reset();
    QPointer<ReconstructionRunner> self(this);
    m_pool.start([self, run, data] {
        std::unique_ptr<soul::ReconstructionEngine> engine;
        QString message;
        try {
            engine = std::make_unique<soul::ReconstructionEngine>(run.toStdString(), data.toStdString(), "auto");
        } catch (...) {
            message = currentErrorMessage();
        }
        if (!self) return;
        auto* raw = engine.release();
        QMetaObject::invokeMethod(self, [self, raw, message] {
            std::unique_ptr<soul::ReconstructionEngine> owned(raw);
            if (!self) return;
            self->m_engine = std::move(owned);
            Q_EMIT self->opened(self->m_engine != nullptr, message);
        }, Qt::QueuedConnection);
    });
}

int ReconstructionRunner::submit(const std::function<void(const soul::Progress&, int)>& work) {
    if (!m_engine) return 0;
    cancel();
    const int number = ++m_latest;
    auto token = std::make_shared<soul::CancelToken>();
    m_cancel = token;
    QPointer<ReconstructionRunner> self(this);
    m_pool.start([self, token, number, work] {
        if (token->cancelled()) return;
        soul::Progress progress;
        progress.cancel = token.get();
        try {
            work(progress, number);
        } catch (const soul::Cancelled&) {
        } catch (...) {
            const QString message = currentErrorMessage();
            QMetaObject::invokeMethod(self, [self, number, message] {
                if (self) Q_EMIT self->failed(number, message);
            }, Qt::QueuedConnection);
        }
    });
    return number;
}

int ReconstructionRunner::request(const soul::TrialRef& trial, const soul::ReconstructionSettings& settings,
                                  const std::vector<soul::ReconstructionSettings>& variants) {
    soul::ReconstructionEngine* engine = m_engine.get();
    QPointer<ReconstructionRunner> self(this);
    return submit([self, engine, trial, settings, variants](const soul::Progress& progress, int number) {
        soul::ReconstructionSettings s = settings;
        s.previews = true;
        auto results = engine->reconstruct({trial}, s, progress, [&](size_t, const soul::DenoisePreview& p) {
            if (p.sample != 0 || !self) return;
            const QImage noisy = toQImage(p.noisy), predicted = toQImage(p.predicted);
            const int step = static_cast<int>(p.step), steps = static_cast<int>(p.steps);
            QMetaObject::invokeMethod(self, [self, number, step, steps, noisy, predicted] {
                if (self) Q_EMIT self->stepPreview(number, step, steps, noisy, predicted);
            }, Qt::QueuedConnection);
        });
        if (!self) return;
        const double seconds = results.front().seconds;
        {
            std::lock_guard<std::mutex> lock(self->m_mutex);
            self->m_resultRequest = number;
            self->m_result = std::move(results.front());
            self->m_variants.clear();
        }
        QMetaObject::invokeMethod(self, [self, number, seconds] {
            if (self) Q_EMIT self->finished(number, seconds);
        }, Qt::QueuedConnection);
        for (size_t i = 0; i < variants.size(); ++i) {
            soul::Reconstruction variant = engine->reconstruct({trial}, variants[i], progress).front();
            if (!self) return;
            {
                std::lock_guard<std::mutex> lock(self->m_mutex);
                self->m_variants.push_back(std::move(variant));
            }
            const int index = static_cast<int>(i);
            QMetaObject::invokeMethod(self, [self, number, index] {
                if (self) Q_EMIT self->variantFinished(number, index);
            }, Qt::QueuedConnection);
        }
    });
}

int ReconstructionRunner::requestContributions(const soul::TrialRef& trial, const soul::ReconstructionSettings& settings) {
    soul::ReconstructionEngine* engine = m_engine.get();
    QPointer<ReconstructionRunner> self(this);
    return submit([self, engine, trial, settings](const soul::Progress& progress, int number) {
        soul::StreamContributions c = engine->contributions(trial, settings, progress);
        if (!self) return;
        {
            std::lock_guard<std::mutex> lock(self->m_mutex);
            self->m_contributionsRequest = number;
            self->m_contributions = std::move(c);
        }
        QMetaObject::invokeMethod(self, [self, number] {
            if (self) Q_EMIT self->contributionsReady(number);
        }, Qt::QueuedConnection);
    });
}

soul::StreamContributions ReconstructionRunner::contributions(int request) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_contributionsRequest == request ? m_contributions : soul::StreamContributions{};
}

void ReconstructionRunner::cancel() {
    if (m_cancel) m_cancel->cancel();
}

bool ReconstructionRunner::busy() const { return m_pool.activeThreadCount() > 0; }

soul::Reconstruction ReconstructionRunner::result(int request) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_resultRequest == request ? m_result : soul::Reconstruction{};
}

soul::Reconstruction ReconstructionRunner::variant(int request, int index) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    const bool there = m_resultRequest == request && index >= 0 && index < static_cast<int>(m_variants.size());
    return there ? m_variants[static_cast<size_t>(index)] : soul::Reconstruction{};
}

void ReconstructionRunner::waitForIdle() { m_pool.waitForDone(); }

}  // namespace soului
