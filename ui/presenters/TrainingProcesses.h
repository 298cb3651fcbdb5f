// TrainingProcesses: a data-parallel training run started from the studio. It runs the command
// line's launcher, `souldiffuser train --nproc N` (docs/distributed.md), in a process group of its
// own, and reads every rank's progress from what the ranks print: rank 0 on the launcher's stderr,
// the others in the rank<R>.log files the launcher names. The loss curves come from the run's
// metrics.jsonl, which rank 0 writes. Stopping sends the ranks Ctrl-C's signal: they agree on it
// within a step and rank 0 writes the checkpoint, as on a terminal.
#pragma once

#include "soul/train.h"

#include <QObject>
#include <QString>

#include <cstdint>
#include <vector>

class QProcess;

namespace soului {

class TrainingProcesses : public QObject {
    Q_OBJECT
public:
    struct RankProgress {
        int64_t step = 0, steps = 0;
        QString message;
    };

    explicit TrainingProcesses(QObject* parent = nullptr);
    ~TrainingProcesses() override;   // stops a running run and waits for it

    // The command line program: `souldiffuser` beside this executable unless set.
    void setProgram(const QString& program);
    // Starts `train` with these options on `processes` ranks. False, with the reason in `error`,
    // when a run is going or the program is missing.
    bool start(const soul::TrainOptions& options, int processes, QString* error);
    void stop();
    bool running() const;
    int processes() const { return static_cast<int>(m_ranks.size()); }
    // Reads what the ranks printed and rank 0 logged since the last call (the panel's timer).
    void poll();
    const std::vector<RankProgress>& ranks() const { return m_ranks; }
    // The metrics records logged since the last call, in order.
    std::vector<soul::TrainMetrics> takeMetrics();

    // One progress line of the command line when its stderr is not a terminal,
    // "[STEP/STEPS   SECONDSs] message"; false for any other line.
    static bool parseProgressLine(const QString& line, RankProgress* progress);

Q_SIGNALS:
    // ok: every rank finished; cancelled: stopped (resumable); else message says which rank
    // failed and why.
    void ended(bool ok, bool cancelled, const QString& message);

private:
    void readLauncher();
    void readRankLog(size_t rank);

    QString m_program;
    QProcess* m_process = nullptr;
    QString m_runFolder, m_logFolder, m_launcherText;
    std::vector<RankProgress> m_ranks;
    std::vector<qint64> m_logOffsets;
    std::vector<soul::TrainMetrics> m_metrics;
    size_t m_metricsSeen = 0;
};

}  // namespace soului
