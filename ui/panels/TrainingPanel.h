// TrainingPanel: the training monitor. Starts `train` (the engine's train_encoders) on a chosen
// prepared dataset and config off the GUI thread, plots each stage's loss live (QCustomPlot, from
// the engine's per-step metrics — the same numbers metrics.jsonl gets), shows progress and ETA,
// stops on request after writing a checkpoint, and resumes from it. With more than one process it
// starts a data-parallel run through the command line (TrainingProcesses) and shows every rank's
// progress.
#pragma once

#include "EngineJobs.h"
#include "TrainingProcesses.h"

#include "soul/progress.h"
#include "soul/train.h"

#include <QWidget>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

class QCheckBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QVBoxLayout;
class QTimer;

namespace soului {

class TrainingPanel : public QWidget {
    Q_OBJECT
public:
    explicit TrainingPanel(QWidget* parent = nullptr);
    ~TrainingPanel() override;   // stops a running training (it checkpoints) and waits

    void setDefaults(const QString& data, const QString& config, const QString& out);
    // Starts with the fields' values; false (and the status says why) when one is running.
    bool start();
    void stop();   // the engine checkpoints and stops at its next step
    bool running() const;
    // Plots the loss curves of a run folder's metrics.jsonl; false (and the status says why) when
    // it cannot be read or a line is not a metrics record.
    bool showRun(const QString& folder);
    int plottedPoints() const;
    // The data-parallel runs' launcher (its program can be set: tests, installs elsewhere).
    TrainingProcesses& processes() { return m_processes; }

Q_SIGNALS:
    // ok: finished every stage; cancelled: stopped by the user (resumable); else message says why.
    void trainingEnded(bool ok, bool cancelled, const QString& message);

private:
    void drainMetrics();
    void ended(bool cancelled, const QString& error);
    void showRanks(int count);

    QLineEdit *m_data, *m_config, *m_out, *m_stages, *m_captionEncoder;
    QCheckBox* m_resume;
    QSpinBox* m_processCount;
    QVBoxLayout* m_rankRows;
    std::vector<QProgressBar*> m_rankBars;
    QPushButton *m_start, *m_stop, *m_showRun;
    QProgressBar* m_progress;
    QLabel* m_status;
    QCustomPlot* m_plot;
    QTimer* m_refresh;
    EngineJobs m_jobs;                               // the training runs on the studio's engine job worker
    TrainingProcesses m_processes;                   // ... or, with several processes, as a launched run
    bool m_running = false;

    std::mutex m_mutex;                              // guards what the training thread hands over
    std::vector<soul::TrainMetrics> m_pending;
    int64_t m_step = 0, m_steps = 0;
    std::string m_message;
    std::map<std::string, int> m_graphOfStage;
    double m_x = 0;                                  // steps plotted so far, over all stages
};

}  // namespace soului
