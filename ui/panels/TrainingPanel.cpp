#include "TrainingPanel.h"

#include "ErrorMessage.h"
#include "FormField.h"

#include "soul/error.h"

#include <QCheckBox>
#include <QDir>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>

#include <qcustomplot.h>

namespace soului {

namespace {

constexpr int kRefreshMs = 200;   // the plot and progress are redrawn at most 5 times a second
constexpr int kMaxProcesses = 64;
const QColor kStageColours[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44), QColor(214, 39, 40), QColor(148, 103, 189),
                                QColor(140, 86, 75),  QColor(227, 119, 194), QColor(127, 127, 127), QColor(188, 189, 34), QColor(23, 190, 207)};

}  // namespace

TrainingPanel::TrainingPanel(QWidget* parent) : QWidget(parent) {
    setObjectName("trainingPanel");
    auto* layout = new QHBoxLayout(this);
    auto* left = new QVBoxLayout;
    auto* form = new QFormLayout;
    auto field = [this](const QString& name, const QString& placeholder) { return formField(this, name, placeholder, 280); };
    m_data = field("trainData", tr("a prepared dataset folder"));
    m_config = field("trainConfig", tr("models/configs/phantom-small.json"));
    m_out = field("trainOut", tr("the run folder to write"));
    m_stages = field("trainStages", tr("all (or e.g. embedding,ssmnet)"));
    m_captionEncoder = field("trainCaptionEncoder", tr("optional: a BERT or CLIP folder (SemBERT's target)"));
    m_captionEncoder->setToolTip(tr("souldiffuser train --caption-encoder: SemBERT learns this encoder's caption embeddings, as the paper's learns BERT's "
                                    "(docs/pretrained.md); empty: the config's caption_encoder, else the built-in text encoder"));
    form->addRow(tr("dataset"), m_data);
    form->addRow(tr("config"), m_config);
    form->addRow(tr("run folder"), m_out);
    form->addRow(tr("stages"), m_stages);
    form->addRow(tr("caption encoder"), m_captionEncoder);
    left->addLayout(form);
    m_processCount = new QSpinBox(this);
    m_processCount->setObjectName("trainProcesses");
    m_processCount->setRange(1, kMaxProcesses);
    m_processCount->setToolTip(tr("Data-parallel ranks on this machine (souldiffuser train --nproc; docs/distributed.md); batch_size is per rank"));
    form->addRow(tr("processes"), m_processCount);
    m_resume = new QCheckBox(tr("resume from the run's checkpoints"), this);
    m_resume->setObjectName("trainResume");
    left->addWidget(m_resume);
    auto* buttons = new QHBoxLayout;
    m_start = new QPushButton(tr("Start"), this);
    m_start->setObjectName("trainStart");
    m_stop = new QPushButton(tr("Stop (checkpoint)"), this);
    m_stop->setObjectName("trainStop");
    m_stop->setEnabled(false);
    m_showRun = new QPushButton(tr("Show the run's curves"), this);
    m_showRun->setObjectName("trainShowRun");
    m_showRun->setToolTip(tr("Plot the loss curves of the run folder's metrics.jsonl (a finished or stopped run)"));
    buttons->addWidget(m_start);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_showRun);
    left->addLayout(buttons);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName("trainProgress");
    left->addWidget(m_progress);
    m_status = new QLabel(tr("idle"), this);
    m_status->setObjectName("trainStatus");
    m_status->setWordWrap(true);
    left->addWidget(m_status);
    m_rankRows = new QVBoxLayout;
    left->addLayout(m_rankRows);
    left->addStretch();
    layout->addLayout(left);
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName("lossPlot");
    m_plot->setMinimumSize(420, 220);
    m_plot->xAxis->setLabel(tr("step (all stages)"));
    m_plot->yAxis->setLabel(tr("loss"));
    m_plot->legend->setVisible(true);
    layout->addWidget(m_plot, 1);

    m_refresh = new QTimer(this);
    m_refresh->setInterval(kRefreshMs);
    connect(m_refresh, &QTimer::timeout, this, &TrainingPanel::drainMetrics);
    connect(m_start, &QPushButton::clicked, this, &TrainingPanel::start);
    connect(m_stop, &QPushButton::clicked, this, &TrainingPanel::stop);
    connect(m_showRun, &QPushButton::clicked, this, [this] { showRun(m_out->text().trimmed()); });
    // The training's end, whichever way it ends, in this process or launched.
    m_jobs.onEnded(this, [this](bool cancelled, const QString& error) { ended(cancelled, error); });
    connect(&m_processes, &TrainingProcesses::ended, this, [this](bool ok, bool cancelled, const QString& error) {
        ended(cancelled, ok || cancelled ? QString() : (error.isEmpty() ? tr("the training processes failed") : error));
    });
}

void TrainingPanel::ended(bool cancelled, const QString& error) {
    m_running = false;
    m_refresh->stop();
    drainMetrics();
    m_start->setEnabled(true);
    m_stop->setEnabled(false);
    if (cancelled) {
        m_status->setText(tr("stopped; a checkpoint was written — tick resume and press Start to continue"));
        m_resume->setChecked(true);
    } else {
        m_status->setText(error.isEmpty() ? tr("finished") : error);
    }
    Q_EMIT trainingEnded(error.isEmpty() && !cancelled, cancelled, error);
}

// One progress bar per rank, for a data-parallel run; none for a run in this process.
void TrainingPanel::showRanks(int count) {
    for (QProgressBar* bar : m_rankBars) delete bar;
    m_rankBars.clear();
    for (int r = 0; count > 1 && r < count; ++r) {
        auto* bar = new QProgressBar(this);
        bar->setObjectName(QStringLiteral("trainRank%1").arg(r));
        bar->setFormat(tr("rank %1: %p%").arg(r));
        bar->setRange(0, 1);
        bar->setValue(0);
        m_rankRows->addWidget(bar);
        m_rankBars.push_back(bar);
    }
}

TrainingPanel::~TrainingPanel() {
    m_processes.disconnect(this);
    stop();
    m_jobs.waitForIdle();
}

void TrainingPanel::setDefaults(const QString& data, const QString& config, const QString& out) {
    m_data->setText(data);
    m_config->setText(config);
    m_out->setText(out);
}

bool TrainingPanel::running() const { return m_running; }

int TrainingPanel::plottedPoints() const {
    int n = 0;
    for (int g = 0; g < m_plot->graphCount(); ++g) n += m_plot->graph(g)->dataCount();
    return n;
}

bool TrainingPanel::start() {
    if (running()) return false;
    soul::TrainOptions o;
    o.data = m_data->text().trimmed().toStdString();
    o.config = m_config->text().trimmed().toStdString();
    o.out = m_out->text().trimmed().toStdString();
    o.resume = m_resume->isChecked();
    o.caption_encoder = m_captionEncoder->text().trimmed().toStdString();
    for (const QString& stage : m_stages->text().split(',', Qt::SkipEmptyParts)) o.stages.push_back(stage.trimmed().toStdString());
    if (o.data.empty() || o.config.empty() || o.out.empty()) {
        m_status->setText(tr("give a dataset, a config and a run folder"));
        return false;
    }
    if (!o.resume) {
        m_plot->clearGraphs();
        m_graphOfStage.clear();
        m_x = 0;
    }
    const int processes = m_processCount->value();
    if (processes > 1) {
        QString error;
        if (!m_processes.start(o, processes, &error)) {
            m_status->setText(error);
            return false;
        }
    }
    showRanks(processes);
    m_running = true;
    m_start->setEnabled(false);
    m_stop->setEnabled(true);
    m_status->setText(tr("starting ..."));
    m_refresh->start();
    if (processes > 1) return true;
    m_jobs.submit([this, o](const soul::Progress& jobProgress, const EngineJobs::Deliver&) {
        soul::Progress progress = jobProgress;
        progress.report = [this](int64_t step, int64_t steps, const std::string& message) {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_step = step;
            m_steps = steps;
            m_message = message;
        };
        soul::train_encoders(o, progress, [this](const soul::TrainMetrics& m) {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_pending.push_back(m);
        });
    });
    return true;
}

void TrainingPanel::stop() {
    if (!m_running) return;
    if (m_processes.running()) m_processes.stop();
    else m_jobs.cancel();
}

bool TrainingPanel::showRun(const QString& folder) {
    if (running()) return false;
    const QString path = QDir(folder).filePath("metrics.jsonl");
    std::vector<soul::TrainMetrics> metrics;
    try {
        metrics = soul::read_metrics(path.toStdString());
    } catch (...) {
        m_status->setText(currentErrorMessage());
        return false;
    }
    m_plot->clearGraphs();
    m_graphOfStage.clear();
    m_x = 0;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_pending = std::move(metrics);
        m_step = m_steps = 0;
    }
    drainMetrics();
    m_status->setText(tr("%1: %2 steps over %3 stages").arg(folder).arg(m_x).arg(m_graphOfStage.size()));
    return true;
}

void TrainingPanel::drainMetrics() {
    std::vector<soul::TrainMetrics> pending;
    int64_t step, steps;
    std::string message;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        pending.swap(m_pending);
        step = m_step;
        steps = m_steps;
        message = m_message;
    }
    if (!m_rankBars.empty()) {
        m_processes.poll();
        for (auto& m : m_processes.takeMetrics()) pending.push_back(std::move(m));
        const auto& ranks = m_processes.ranks();
        for (size_t r = 0; r < ranks.size() && r < m_rankBars.size(); ++r) {
            if (ranks[r].steps <= 0) continue;
            m_rankBars[r]->setRange(0, static_cast<int>(ranks[r].steps));
            m_rankBars[r]->setValue(static_cast<int>(ranks[r].step));
            m_rankBars[r]->setToolTip(ranks[r].message);
        }
        if (!ranks.empty()) {
            step = ranks[0].step;
            steps = ranks[0].steps;
            message = ranks[0].message.toStdString();
        }
    }
    for (const auto& m : pending) {
        auto it = m_graphOfStage.find(m.stage);
        if (it == m_graphOfStage.end()) {
            QCPGraph* graph = m_plot->addGraph();
            graph->setName(QString::fromStdString(m.stage));
            graph->setPen(QPen(kStageColours[m_graphOfStage.size() % std::size(kStageColours)]));
            it = m_graphOfStage.emplace(m.stage, m_plot->graphCount() - 1).first;
        }
        const auto loss = m.values.find("loss");
        if (loss != m.values.end()) m_plot->graph(it->second)->addData(m_x, loss->second);
        m_x += 1;
    }
    if (!pending.empty()) {
        m_plot->rescaleAxes();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    }
    if (steps > 0) {
        m_progress->setRange(0, static_cast<int>(steps));
        m_progress->setValue(static_cast<int>(step));
    }
    if (!message.empty() && running()) m_status->setText(QString::fromStdString(message));
}

}  // namespace soului
