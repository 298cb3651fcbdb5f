// EvaluationPanel: `souldiffuser evaluate` from the studio. Runs the engine's
// evaluate_reconstructions on a run folder off the GUI thread (EngineJobs), with the standard
// table's metric networks from a folder the user chooses (the CLI's --metric-nets; remembered in
// the studio's settings), shows progress, cancels on request, and renders the report (report.md:
// the score tables, the field's standard table beside the published rows, the dissociation). A run
// that already has a report shows it when the panel is given the run.
#pragma once

#include "EngineJobs.h"

#include <QWidget>

class QLineEdit;
class QProgressBar;
class QPushButton;
class QLabel;
class QSpinBox;
class QTextBrowser;

namespace soului {

class EvaluationPanel : public QWidget {
    Q_OBJECT
public:
    static constexpr const char* kMetricNetsSetting = "metricNets";   // QSettings key of the networks folder

    explicit EvaluationPanel(QWidget* parent = nullptr);
    ~EvaluationPanel() override;   // cancels a running evaluation and waits

    // The run to evaluate and its prepared dataset (the workbench's session; empty data: the one
    // the run names); the run's existing report is shown.
    void setRun(const QString& run, const QString& data);
    // Starts with the fields' values; false (and the status says why) when one is running or a
    // field is missing.
    bool start();
    void cancel();
    bool running() const { return m_running; }
    // Shows `folder`/report.md; false (and the status says why) when there is none.
    bool showReport(const QString& folder);
    QString reportMarkdown() const { return m_markdown; }
    // Where the report goes: the output field, else RUN/evaluation-reconstruction.
    QString outputFolder() const;

Q_SIGNALS:
    // ok: the report was written to `folder`; cancelled: stopped by the user; else message says why.
    void evaluationEnded(bool ok, bool cancelled, const QString& message, const QString& folder);

private:
    QLineEdit *m_run, *m_data, *m_out, *m_metricNets;
    QSpinBox* m_limit;
    QPushButton *m_start, *m_cancel, *m_browse;
    QProgressBar* m_progress;
    QLabel* m_status;
    QTextBrowser* m_report;
    QString m_markdown;
    QString m_folder;   // the running evaluation's output folder
    EngineJobs m_jobs;
    bool m_running = false;
};

}  // namespace soului
