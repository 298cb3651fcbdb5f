// WorkbenchPanel: single trials, from brain to image. A searchable trial browser with thumbnails;
// for the selected trial its stimulus beside the reconstruction, the predicted caption, palette,
// edge map and low-level image; the denoising timeline (slider and play) filled in live while the
// engine runs; the sampler's settings and the teaching toggles (a stream switched off is set to
// its training mean), each change re-running the reconstruction in the background.
#pragma once

#include "soul/reconstruct.h"

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
class QPushButton;
class QSlider;
class QSpinBox;
class QTimer;

namespace soului {

class ReconstructionRunner;
class TrialCatalog;

class WorkbenchPanel : public QWidget {
    Q_OBJECT
public:
    explicit WorkbenchPanel(QWidget* parent = nullptr);
    ~WorkbenchPanel() override;

    // Opens a run and a prepared dataset in the background; sessionReady() follows.
    void openSession(const QString& run, const QString& data);
    ReconstructionRunner* runner() const { return m_runner; }
    const TrialCatalog* catalog() const { return m_catalog.get(); }
    bool selectTrial(int entry);
    soul::ReconstructionSettings settings() const;
    // The denoising frames of the latest reconstruction (sample 0), in step order.
    const std::vector<std::pair<QImage, QImage>>& frames() const { return m_frames; }
    // Ablations and attributions of the selected trial, in the background; contributionsShown()
    // follows with the charts drawn and the chosen output's attribution volume sent to the views.
    void requestContributions();
    const soul::StreamContributions& contributions() const { return m_contributions; }

    // Figures of what is on screen: "comparison" (stimulus | reconstruction | low-level | palette |
    // edges) and "denoising" (the strip of steps) as PNG at 1–4×, with a view description beside
    // it (<file>.view.json) from which `souldiffuser export` makes the same figure headless;
    // "chart" (the attribution-share chart) as PDF, or PNG at 1–4×. False, with `error`, on failure.
    bool exportFigure(const QString& kind, const QString& file, int scale, QString* error = nullptr);
    QImage stimulusImage() const { return m_stimulus; }
    QImage reconstructionImage() const { return m_reconstruction; }

Q_SIGNALS:
    void sessionReady(bool ok, const QString& message);
    // The selected trial's betas scattered into the subject's grid (for the brain views).
    void trialSelected(const soul::TrialRef& trial);
    void reconstructionShown(double seconds);
    void contributionsShown();
    // An output's attribution volume, in the subject's grid, for the brain views.
    void attributionVolume(const soul::Volume& volume, const QString& output);

private:
    void refilter();
    void rerun();
    void showFrame(int index);
    void showResult(int request, double seconds);
    void setImage(QLabel* label, const QImage& image);
    void showContributions();

    ReconstructionRunner* m_runner;
    std::unique_ptr<TrialCatalog> m_catalog;
    std::vector<size_t> m_shown;                     // catalog entries in the list, in order
    soul::TrialRef m_trial;
    bool m_hasTrial = false;
    QString m_run, m_data;
    soul::Reconstruction m_onScreen;                    // the reconstruction on screen
    soul::ReconstructionSettings m_onScreenSettings;    // and the settings that made it
    std::vector<std::pair<QImage, QImage>> m_frames; // (noisy, predicted) per step
    QImage m_stimulus, m_reconstruction;

    QLineEdit* m_search;
    QComboBox* m_split;
    QListWidget* m_list;
    QLabel *m_stimulusLabel, *m_reconstructionLabel, *m_lowLevelLabel, *m_paletteLabel, *m_edgesLabel;
    QLabel *m_caption, *m_status;
    QSlider* m_timeline;
    QPushButton* m_play;
    QLabel *m_noisyLabel, *m_predictedLabel, *m_stepLabel;
    QTimer *m_playTimer, *m_rerunTimer;
    QSpinBox *m_steps, *m_seed;
    QDoubleSpinBox *m_cfg, *m_strength, *m_colorWeight, *m_edgeWeight;
    std::vector<std::pair<std::string, QCheckBox*>> m_streamToggles;
    QPushButton* m_contributionsButton;
    QComboBox* m_output;
    QCustomPlot *m_shareChart, *m_ablationChart;
    soul::StreamContributions m_contributions;
    int m_contributionsRequest = 0;
};

}  // namespace soului
