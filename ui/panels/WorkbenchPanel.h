// WorkbenchPanel: single trials, from brain to image. A searchable trial browser with thumbnails
// (caption words, split, repeat count); for the selected trial, side by side: the stimulus | the
// reconstruction (several samples) | the same with the chosen streams switched off (set to their
// training mean) | another decoder (the run's baseline by default; ridge, the MLP or a decoder
// plugin on request) feeding the same generator, each with its caption, low-level image, palette
// and edge map. Tabs: the denoising timeline (slider and play) filled in live while the engine
// runs; the stream contributions (charts, the attribution in the brain views and, on the phantom,
// beside its ground-truth tuning); the guided tour for a class. Every change re-runs in the
// background; the GUI thread never waits on the engine. The state is WorkbenchModel's (Qt-free);
// this panel couples its widgets to it and to the ReconstructionRunner.
#pragma once

#include "WorkbenchModel.h"

#include "soul/reconstruct.h"

#include <nlohmann/json.hpp>

#include <QImage>
#include <QWidget>

#include <memory>
#include <vector>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QTabWidget;
class QTextBrowser;
class QTimer;

namespace soului {

class ReconstructionRunner;
class TrialCatalog;
class TuningMaps;

class WorkbenchPanel : public QWidget {
    Q_OBJECT
public:
    explicit WorkbenchPanel(QWidget* parent = nullptr);
    ~WorkbenchPanel() override;

    // Opens a run and a prepared dataset in the background; sessionReady() follows.
    void openSession(const QString& run, const QString& data);
    // Reads an evaluation's report.json (evaluation-reconstruction of the run in view), which the
    // guided tour quotes; none (or an unreadable one) leaves the tour saying there is none.
    void loadEvaluation(const QString& folder);
    ReconstructionRunner* runner() const { return m_runner; }
    const TrialCatalog* catalog() const { return m_catalog.get(); }
    // The phantom's ground truth, when the session's dataset was prepared from a phantom.
    const TuningMaps* tuningMaps() const { return m_tuning.get(); }
    bool selectTrial(int entry);
    // The catalogue's entry for a trial; false when the session has no such trial.
    bool selectTrial(const soul::TrialRef& trial);
    // Draws with the user's Stable Diffusion from now on (`options.path` empty: the run's own
    // generator again), loaded in the background; generatorChanged() follows, then the trial in
    // view is reconstructed again. The Generator box's menu calls this after its file dialogs.
    void useGenerator(const soul::StableDiffusionOptions& options);
    QString generatorTitle() const;
    // Sets the sampler's controls and the streams switched off (a session being reopened).
    void setSettings(const soul::SamplerSettings& sampler, const std::vector<std::string>& streamsOff);
    // The reconstruction's settings (all streams on) and the streams switched off for the
    // comparison column.
    soul::ReconstructionSettings settings() const;
    std::vector<std::string> streamsOff() const;
    // The denoising frames of the latest reconstruction (sample 0), in step order.
    const std::vector<soul::DenoisePreview>& frames() const { return m_model.frames(); }
    // What the panel shows, without widgets (tests read it directly).
    const WorkbenchModel& model() const { return m_model; }
    // Ablations and attributions of the selected trial, in the background; contributionsShown()
    // follows with the charts drawn and the chosen output's attribution volume sent to the views.
    void requestContributions();
    const soul::StreamContributions& contributions() const { return m_contributions; }
    // The guided tour: shows step `index`, switching the streams and the tab it names.
    void showTourStep(int index);
    int tourStep() const { return m_tourStep; }

    // Figures of what is on screen: "comparison" (stimulus | reconstruction samples | low-level |
    // palette | edges), "denoising" (the strip of steps) and "dissociation" (the trial with each
    // pathway off, made by the engine on a worker behind a progress dialog) as PNG at 1–4×, with a view description
    // beside it (<file>.view.json) from which `souldiffuser export` makes the same figure headless;
    // "chart" (the attribution-share chart) as PDF, or PNG at 1–4×. False, with `error`, on failure.
    bool exportFigure(const QString& kind, const QString& file, int scale, QString* error = nullptr);
    QImage stimulusImage() const { return m_stimulus; }
    QImage reconstructionImage() const { return firstSample(m_model.result()); }
    QImage ablationImage() const { return firstSample(m_model.ablation()); }
    QImage baselineImage() const { return firstSample(m_model.comparison()); }
    std::vector<QImage> sampleImages() const;

Q_SIGNALS:
    void sessionReady(bool ok, const QString& message);
    // The generator in use changed (its title), or could not be loaded (false, the error).
    void generatorChanged(bool ok, const QString& titleOrError);
    // The selected trial's betas scattered into the subject's grid (for the brain views).
    void trialSelected(const soul::TrialRef& trial);
    void reconstructionShown(double seconds);
    // A reconstruction or contributions request failed (the message names what and why).
    void reconstructionFailed(const QString& message);
    // The streams-off and comparison columns of the latest reconstruction are filled in too.
    void comparisonShown();
    void contributionsShown();
    // An output's attribution volume, in the subject's grid, for the brain views.
    void attributionVolume(const soul::Volume& volume, const QString& output);
    // The phantom's voxels tuned to what `output` carries (1, else 0), on the attribution's grid.
    void groundTruthVolume(const soul::Volume& volume, const QString& output);

private:
    void showContributionsRunning(bool running);
    // One reconstruction column: its image and what its decoder read from the betas.
    struct Column {
        QLabel *title, *image, *caption, *lowLevel, *palette, *edges;
    };
    Column makeColumn(const QString& name, const QString& title);
    void showColumn(const Column& column, const soul::Reconstruction& r);
    void clearColumn(const Column& column, const QString& title);
    QWidget* buildBrowser();
    QWidget* buildComparison();
    QWidget* buildSettings();
    QWidget* buildGenerator(QWidget* parent);
    void chooseStableDiffusion(bool singleFile);
    QWidget* buildTimeline();
    QWidget* buildContributions();
    QWidget* buildTour();
    void showTourText();   // the tour page in view, with what the evaluation measured

    void refilter();
    void rerun();
    void showFrame(int index);
    void showResult(int request, const soul::Reconstruction& result);
    void showVariant(int request, int index, const soul::Reconstruction& result);
    // The widgets' values into the model, at once; the re-run follows after a short delay.
    void syncModel();
    void settingsChanged();
    void setImage(QLabel* label, const QImage& image, int side);
    void showContributions();
    void showGroundTruth(const std::string& output);

    ReconstructionRunner* m_runner;
    std::unique_ptr<TrialCatalog> m_catalog;
    std::unique_ptr<TuningMaps> m_tuning;
    std::vector<size_t> m_shown;                     // catalog entries in the list, in order
    static QImage firstSample(const soul::Reconstruction& r);

    WorkbenchModel m_model;
    nlohmann::json m_evaluation;   // the run's evaluation-reconstruction/report.json (null without one)
    QImage m_stimulus;

    QLineEdit* m_search;
    QComboBox* m_split;
    QComboBox* m_compareWith = nullptr;   // the third column's decoder: the baseline, ridge, a plugin (data: its name)
    QSpinBox* m_minRepeats;
    QListWidget* m_list;
    QLabel *m_stimulusLabel, *m_trueCaption, *m_status;
    Column m_main, m_ablated, m_baselineColumn;
    QWidget* m_samplesRow;
    std::vector<QLabel*> m_sampleLabels;
    QTabWidget* m_tabs;
    QSlider* m_timeline;
    QPushButton* m_play;
    QLabel *m_noisyLabel, *m_predictedLabel, *m_stepLabel;
    QTimer *m_playTimer, *m_rerunTimer;
    QSpinBox *m_steps, *m_seed, *m_sampleCount;
    QLabel* m_generatorTitle = nullptr;   // the generator drawing the reconstructions
    QSpinBox* m_sdSize = nullptr;         // the side Stable Diffusion draws at
    QDoubleSpinBox *m_cfg, *m_strength, *m_colorWeight, *m_edgeWeight;
    std::vector<std::pair<std::string, QCheckBox*>> m_streamToggles;
    QPushButton* m_contributionsButton;
    QProgressBar* m_contributionsProgress;
    QPushButton* m_contributionsCancel;
    QPushButton* m_truthOverlay;
    QComboBox* m_output;
    QCustomPlot *m_shareChart, *m_ablationChart;
    QLabel *m_attributionMap, *m_truthMap, *m_truthShare;
    soul::StreamContributions m_contributions;
    int m_contributionsRequest = 0;
    std::string m_preferredOutput;                   // the output the tour asked to chart
    QTextBrowser* m_tourText;
    QPushButton *m_tourBack, *m_tourNext;
    QLabel* m_tourStepLabel;
    int m_tourStep = 0;
};

}  // namespace soului
