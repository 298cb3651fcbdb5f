#include "EvaluationPanel.h"

#include "FormField.h"

#include "soul/reconstruct.h"

#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace soului {

namespace {

constexpr int kDefaultLimit = 20;   // test images: a few minutes on a laptop CPU (docs/nsd-metrics.md)

}  // namespace

EvaluationPanel::EvaluationPanel(QWidget* parent) : QWidget(parent) {
    setObjectName("evaluationPanel");
    auto* layout = new QHBoxLayout(this);
    auto* left = new QVBoxLayout;
    auto* form = new QFormLayout;
    auto field = [this](const QString& name, const QString& placeholder) { return formField(this, name, placeholder, 260); };
    m_run = field("evalRun", tr("the run folder (a trained model)"));
    m_data = field("evalData", tr("the prepared dataset (empty: the one the run names)"));
    m_out = field("evalOut", tr("RUN/evaluation-reconstruction"));
    m_metricNets = field("evalMetricNets", tr("none: the network columns read n/a"));
    m_metricNets->setToolTip(tr("The folder with the standard table's networks (AlexNet, Inception v3, EfficientNet-B1, SwAV, "
                                "CLIP ViT-L/14) under their published file names; docs/nsd-metrics.md lists them"));
    m_metricNets->setText(QSettings().value(kMetricNetsSetting).toString());
    m_browse = new QPushButton(tr("Browse…"), this);
    m_browse->setObjectName("evalBrowseMetricNets");
    auto* nets = new QHBoxLayout;
    nets->addWidget(m_metricNets, 1);
    nets->addWidget(m_browse);
    m_limit = new QSpinBox(this);
    m_limit->setObjectName("evalLimit");
    m_limit->setRange(0, 100000);
    m_limit->setValue(kDefaultLimit);
    m_limit->setSpecialValueText(tr("all"));
    m_limit->setToolTip(tr("Score the first N test images (0: all; NSD's published tables use 982 or 1000)"));
    form->addRow(tr("run"), m_run);
    form->addRow(tr("dataset"), m_data);
    form->addRow(tr("report folder"), m_out);
    form->addRow(tr("metric networks"), nets);
    form->addRow(tr("test images"), m_limit);
    left->addLayout(form);
    auto* buttons = new QHBoxLayout;
    m_start = new QPushButton(tr("Evaluate"), this);
    m_start->setObjectName("evalStart");
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName("evalCancel");
    m_cancel->setEnabled(false);
    buttons->addWidget(m_start);
    buttons->addWidget(m_cancel);
    left->addLayout(buttons);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName("evalProgress");
    left->addWidget(m_progress);
    m_status = new QLabel(tr("idle"), this);
    m_status->setObjectName("evalStatus");
    m_status->setWordWrap(true);
    left->addWidget(m_status);
    left->addStretch();
    layout->addLayout(left);
    m_report = new QTextBrowser(this);
    m_report->setObjectName("evalReport");
    m_report->setMinimumSize(420, 220);
    m_report->setOpenExternalLinks(false);
    layout->addWidget(m_report, 1);

    connect(m_start, &QPushButton::clicked, this, &EvaluationPanel::start);
    connect(m_cancel, &QPushButton::clicked, this, &EvaluationPanel::cancel);
    connect(m_browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Metric networks folder"), m_metricNets->text());
        if (!dir.isEmpty()) m_metricNets->setText(dir);
    });
    auto ended = [this](bool cancelled, const QString& error) {
        m_running = false;
        m_start->setEnabled(true);
        m_cancel->setEnabled(false);
        const bool ok = error.isEmpty() && !cancelled;
        if (ok) {
            showReport(m_folder);
            m_status->setText(tr("report written to %1").arg(m_folder));
        } else {
            m_status->setText(cancelled ? tr("cancelled; the report folder is left as it was") : error);
        }
        Q_EMIT evaluationEnded(ok, cancelled, cancelled ? QString() : error, m_folder);
    };
    m_jobs.onEnded(this, ended);
}

EvaluationPanel::~EvaluationPanel() {
    cancel();
    m_jobs.waitForIdle();
}

QString EvaluationPanel::outputFolder() const {
    const QString out = m_out->text().trimmed();
    return out.isEmpty() ? QDir(m_run->text().trimmed()).filePath("evaluation-reconstruction") : out;
}

void EvaluationPanel::setRun(const QString& run, const QString& data) {
    if (m_running) return;
    m_run->setText(run);
    m_data->setText(data);
    if (!showReport(outputFolder())) {
        m_report->clear();
        m_markdown.clear();
        m_status->setText(tr("%1 has no evaluation yet: press Evaluate").arg(run));
    }
}

bool EvaluationPanel::showReport(const QString& folder) {
    QFile file(QDir(folder).filePath("report.md"));
    if (!file.open(QIODevice::ReadOnly)) {
        m_status->setText(tr("%1: no report.md (%2)").arg(folder, file.errorString()));
        return false;
    }
    m_markdown = QString::fromUtf8(file.readAll());
    m_report->setSearchPaths({folder});   // images the report links, relative to its folder
    m_report->setMarkdown(m_markdown);
    m_status->setText(file.fileName());
    return true;
}

bool EvaluationPanel::start() {
    if (m_running) {
        m_status->setText(tr("an evaluation is running"));
        return false;
    }
    soul::EvaluateOptions o;
    o.run = m_run->text().trimmed().toStdString();
    if (o.run.empty()) {
        m_status->setText(tr("give a run folder"));
        return false;
    }
    o.data = m_data->text().trimmed().toStdString();
    o.out = m_out->text().trimmed().toStdString();
    o.metric_nets = m_metricNets->text().trimmed().toStdString();
    o.limit = m_limit->value();
    QSettings().setValue(kMetricNetsSetting, m_metricNets->text().trimmed());
    m_folder = outputFolder();
    m_running = true;
    m_start->setEnabled(false);
    m_cancel->setEnabled(true);
    m_progress->setValue(0);
    m_status->setText(tr("starting ..."));
    m_jobs.submit([this, o](const soul::Progress& jobProgress, const EngineJobs::Deliver& deliver) {
        soul::Progress progress = jobProgress;
        progress.report = [this, deliver](int64_t step, int64_t steps, const std::string& message) {
            deliver([this, step, steps, message] {
                m_progress->setRange(0, static_cast<int>(steps));
                m_progress->setValue(static_cast<int>(step));
                m_status->setText(QString::fromStdString(message));
            });
        };
        soul::evaluate_reconstructions(o, progress);
    });
    return true;
}

void EvaluationPanel::cancel() {
    if (m_running) m_jobs.cancel();
}

}  // namespace soului
