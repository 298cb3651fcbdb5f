#include "TrainingProcesses.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>

#include <csignal>
#include <exception>

#include <signal.h>
#include <unistd.h>

namespace soului {

namespace {

constexpr int kStopWaitMs = 60000;   // the ranks finish their step and rank 0 its checkpoint

// The launcher's first line names the folder of the other ranks' logs.
const QRegularExpression kLogFolderLine(QStringLiteral("the others in (.+)/rank<R>\\.log"));
const QRegularExpression kProgressLine(QStringLiteral("^\\[(\\d+)/(\\d+)\\s+[-0-9.]+s\\] (.*)$"));

QString lastLines(const QString& text, int count) {
    QStringList lines = text.split('\n', Qt::SkipEmptyParts);
    QStringList kept;
    for (auto it = lines.rbegin(); it != lines.rend() && kept.size() < count; ++it)
        if (!kProgressLine.match(*it).hasMatch()) kept.prepend(*it);
    return kept.join('\n');
}

}  // namespace

TrainingProcesses::TrainingProcesses(QObject* parent) : QObject(parent) {
    m_program = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("souldiffuser"));
}

TrainingProcesses::~TrainingProcesses() {
    if (running()) {
        stop();
        if (!m_process->waitForFinished(kStopWaitMs)) {
            ::kill(-static_cast<pid_t>(m_process->processId()), SIGKILL);
            m_process->waitForFinished();
        }
    }
}

void TrainingProcesses::setProgram(const QString& program) { m_program = program; }

bool TrainingProcesses::running() const { return m_process && m_process->state() != QProcess::NotRunning; }

bool TrainingProcesses::parseProgressLine(const QString& line, RankProgress* progress) {
    const QRegularExpressionMatch m = kProgressLine.match(line.trimmed());
    if (!m.hasMatch()) return false;
    progress->step = m.captured(1).toLongLong();
    progress->steps = m.captured(2).toLongLong();
    progress->message = m.captured(3);
    return true;
}

bool TrainingProcesses::start(const soul::TrainOptions& o, int processes, QString* error) {
    if (running()) {
        *error = tr("a training run is going");
        return false;
    }
    if (!QFileInfo(m_program).isExecutable()) {
        *error = tr("%1 is not there: the studio starts several processes through the command line program").arg(m_program);
        return false;
    }
    QStringList args = {"train", "--data", QString::fromStdString(o.data), "--config", QString::fromStdString(o.config),
                        "--out", QString::fromStdString(o.out), "--device", QString::fromStdString(o.device), "--nproc", QString::number(processes)};
    QStringList stages;
    for (const auto& s : o.stages) stages << QString::fromStdString(s);
    if (!stages.isEmpty()) args << "--stages" << stages.join(',');
    if (o.resume) args << "--resume";
    if (!o.caption_encoder.empty()) args << "--caption-encoder" << QString::fromStdString(o.caption_encoder);
    m_runFolder = QString::fromStdString(o.out);
    m_logFolder.clear();
    m_launcherText.clear();
    m_ranks.assign(static_cast<size_t>(processes), RankProgress{});
    m_logOffsets.assign(static_cast<size_t>(processes), 0);
    m_metrics.clear();
    // A resumed run's metrics.jsonl keeps the steps before; only what comes after is new.
    m_metricsSeen = 0;
    if (o.resume) {
        try {
            m_metricsSeen = soul::read_metrics(QDir(m_runFolder).filePath("metrics.jsonl").toStdString()).size();
        } catch (const std::exception&) {
            m_metricsSeen = 0;
        }
    }
    delete m_process;
    m_process = new QProcess(this);
    // Its own process group, so that stopping reaches every rank, as Ctrl-C does on a terminal.
    m_process->setChildProcessModifier([] { ::setpgid(0, 0); });
    connect(m_process, &QProcess::readyReadStandardError, this, &TrainingProcesses::readLauncher);
    connect(m_process, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
        readLauncher();
        poll();
        const bool ok = status == QProcess::NormalExit && code == 0;
        const bool cancelled = status == QProcess::NormalExit && code == 130;
        Q_EMIT ended(ok, cancelled, ok || cancelled ? QString() : lastLines(m_launcherText, 4));
    });
    connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
        if (e == QProcess::FailedToStart) Q_EMIT ended(false, false, tr("%1 could not be started: %2").arg(m_program, m_process->errorString()));
    });
    m_process->start(m_program, args);
    return true;
}

void TrainingProcesses::stop() {
    if (running() && m_process->processId() > 0) ::kill(-static_cast<pid_t>(m_process->processId()), SIGINT);
}

void TrainingProcesses::readLauncher() {
    if (!m_process) return;
    const QString text = QString::fromUtf8(m_process->readAllStandardError());
    m_launcherText += text;
    for (const QString& line : text.split('\n', Qt::SkipEmptyParts)) {
        const QRegularExpressionMatch folder = kLogFolderLine.match(line);
        if (folder.hasMatch()) m_logFolder = folder.captured(1);
        RankProgress p;
        if (!m_ranks.empty() && parseProgressLine(line, &p)) m_ranks[0] = p;
    }
}

void TrainingProcesses::readRankLog(size_t rank) {
    QFile log(QDir(m_logFolder).filePath(QStringLiteral("rank%1.log").arg(rank)));
    if (!log.open(QIODevice::ReadOnly) || !log.seek(m_logOffsets[rank])) return;
    const QByteArray bytes = log.readAll();
    const qsizetype end = bytes.lastIndexOf('\n');
    if (end < 0) return;   // no complete line yet
    m_logOffsets[rank] += end + 1;
    for (const QByteArray& line : bytes.left(end).split('\n')) {
        RankProgress p;
        if (parseProgressLine(QString::fromUtf8(line), &p)) m_ranks[rank] = p;
    }
}

void TrainingProcesses::poll() {
    readLauncher();
    if (!m_logFolder.isEmpty())
        for (size_t r = 1; r < m_ranks.size(); ++r) readRankLog(r);
    const QString path = QDir(m_runFolder).filePath("metrics.jsonl");
    if (!QFileInfo::exists(path)) return;
    try {
        std::vector<soul::TrainMetrics> all = soul::read_metrics(path.toStdString());
        for (size_t i = m_metricsSeen; i < all.size(); ++i) m_metrics.push_back(std::move(all[i]));
        m_metricsSeen = std::max(m_metricsSeen, all.size());
    } catch (const std::exception&) {
        // A block being written: its last line is not complete yet; read again on the next call.
    }
}

std::vector<soul::TrainMetrics> TrainingProcesses::takeMetrics() {
    std::vector<soul::TrainMetrics> out;
    out.swap(m_metrics);
    return out;
}

}  // namespace soului
