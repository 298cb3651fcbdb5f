#include "WorkbenchPanel.h"

#include "ReconstructionRunner.h"
#include "TrialCatalog.h"
#include "soul/error.h"
#include "soul/figure.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>

#include <functional>

#include <qcustomplot.h>

namespace soului {

namespace {

constexpr int kImageSide = 128;      // on-screen size of the 64×64 images
constexpr int kThumbnailSide = 40;
constexpr int kRerunDelayMs = 250;   // settings changes within this are one re-run
constexpr int kPlayIntervalMs = 120;
// The teaching toggles: the pathways a class switches off (design.md §4.1 streams).
const char* const kToggleGroups[] = {"early", "ventral-all", "lateral-all", "dorsal"};

QLabel* imageLabel(const QString& name, QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setObjectName(name);
    label->setFixedSize(kImageSide, kImageSide);
    label->setAlignment(Qt::AlignCenter);
    label->setStyleSheet("background: #202020;");
    return label;
}

QWidget* captioned(QLabel* image, const QString& caption, QWidget* parent) {
    auto* box = new QWidget(parent);
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(image);
    layout->addWidget(new QLabel(caption, box), 0, Qt::AlignHCenter);
    return box;
}

}  // namespace

WorkbenchPanel::WorkbenchPanel(QWidget* parent) : QWidget(parent), m_runner(new ReconstructionRunner(this)) {
    setObjectName("workbench");
    auto* layout = new QHBoxLayout(this);

    // The trial browser.
    auto* browser = new QVBoxLayout;
    m_search = new QLineEdit(this);
    m_search->setObjectName("trialSearch");
    m_search->setPlaceholderText(tr("caption words, e.g. red dress"));
    m_split = new QComboBox(this);
    m_split->setObjectName("trialSplit");
    m_split->addItems({tr("test trials"), tr("training trials"), tr("all")});
    m_list = new QListWidget(this);
    m_list->setObjectName("trialList");
    m_list->setIconSize(QSize(kThumbnailSide, kThumbnailSide));
    m_list->setMinimumWidth(260);
    browser->addWidget(m_search);
    browser->addWidget(m_split);
    browser->addWidget(m_list, 1);
    layout->addLayout(browser);

    // Stimulus | reconstruction and what the encoders read.
    auto* right = new QVBoxLayout;
    auto* images = new QHBoxLayout;
    m_stimulusLabel = imageLabel("stimulusImage", this);
    m_reconstructionLabel = imageLabel("reconstructionImage", this);
    m_lowLevelLabel = imageLabel("lowLevelImage", this);
    m_paletteLabel = imageLabel("paletteImage", this);
    m_edgesLabel = imageLabel("edgesImage", this);
    images->addWidget(captioned(m_stimulusLabel, tr("stimulus"), this));
    images->addWidget(captioned(m_reconstructionLabel, tr("reconstruction"), this));
    images->addWidget(captioned(m_lowLevelLabel, tr("low-level (SSMNet)"), this));
    images->addWidget(captioned(m_paletteLabel, tr("palette (EdgeColorNet)"), this));
    images->addWidget(captioned(m_edgesLabel, tr("edges (EdgeColorNet)"), this));
    right->addLayout(images);
    m_caption = new QLabel(this);
    m_caption->setObjectName("captionLabel");
    m_caption->setWordWrap(true);
    right->addWidget(m_caption);

    // The denoising timeline.
    auto* timeline = new QGroupBox(tr("Denoising step by step"), this);
    auto* timelineLayout = new QHBoxLayout(timeline);
    m_noisyLabel = imageLabel("noisyImage", timeline);
    m_predictedLabel = imageLabel("predictedImage", timeline);
    timelineLayout->addWidget(captioned(m_noisyLabel, tr("noisy latent, decoded"), timeline));
    timelineLayout->addWidget(captioned(m_predictedLabel, tr("predicted clean image"), timeline));
    auto* controls = new QVBoxLayout;
    m_timeline = new QSlider(Qt::Horizontal, timeline);
    m_timeline->setObjectName("timelineSlider");
    m_timeline->setRange(0, 0);
    m_play = new QPushButton(tr("Play"), timeline);
    m_play->setObjectName("timelinePlay");
    m_stepLabel = new QLabel(timeline);
    m_stepLabel->setObjectName("timelineStep");
    controls->addWidget(m_timeline);
    controls->addWidget(m_play);
    controls->addWidget(m_stepLabel);
    controls->addStretch();
    timelineLayout->addLayout(controls, 1);
    right->addWidget(timeline);

    // Settings and the teaching toggles.
    auto* settingsRow = new QHBoxLayout;
    auto* sampler = new QGroupBox(tr("Sampler"), this);
    auto* form = new QFormLayout(sampler);
    auto spin = [&](const QString& name, int low, int high, int value) {
        auto* s = new QSpinBox(sampler);
        s->setObjectName(name);
        s->setRange(low, high);
        s->setValue(value);
        return s;
    };
    auto dspin = [&](const QString& name, double low, double high, double value, double step) {
        auto* s = new QDoubleSpinBox(sampler);
        s->setObjectName(name);
        s->setRange(low, high);
        s->setSingleStep(step);
        s->setValue(value);
        return s;
    };
    const soul::ReconstructionSettings defaults;
    m_steps = spin("stepsSpin", 1, 200, static_cast<int>(defaults.steps));
    m_cfg = dspin("cfgSpin", 0, 15, defaults.cfg, 0.5);
    m_strength = dspin("strengthSpin", 0, 1, defaults.strength, 0.05);
    m_colorWeight = dspin("colorWeightSpin", 0, 3, defaults.w_color, 0.1);
    m_edgeWeight = dspin("edgeWeightSpin", 0, 3, defaults.w_edge, 0.1);
    m_seed = spin("seedSpin", 0, 1000000, static_cast<int>(defaults.seed));
    form->addRow(tr("steps"), m_steps);
    form->addRow(tr("guidance"), m_cfg);
    form->addRow(tr("strength (img2img)"), m_strength);
    form->addRow(tr("ω1 colour"), m_colorWeight);
    form->addRow(tr("ω2 edges"), m_edgeWeight);
    form->addRow(tr("seed"), m_seed);
    settingsRow->addWidget(sampler);
    auto* teaching = new QGroupBox(tr("Streams (teaching: switch one off)"), this);
    auto* teachingLayout = new QVBoxLayout(teaching);
    for (const char* group : kToggleGroups) {
        auto* box = new QCheckBox(QString::fromLatin1(group), teaching);
        box->setObjectName(QString("streamToggle-") + group);
        box->setChecked(true);
        box->setEnabled(false);
        teachingLayout->addWidget(box);
        m_streamToggles.emplace_back(group, box);
        connect(box, &QCheckBox::toggled, this, [this] { m_rerunTimer->start(); });
    }
    teachingLayout->addStretch();
    settingsRow->addWidget(teaching);
    auto* contributions = new QGroupBox(tr("Stream contributions"), this);
    auto* contributionsLayout = new QVBoxLayout(contributions);
    auto* contributionsControls = new QHBoxLayout;
    m_contributionsButton = new QPushButton(tr("Compute"), contributions);
    m_contributionsButton->setObjectName("contributionsButton");
    m_contributionsButton->setEnabled(false);
    m_output = new QComboBox(contributions);
    m_output->setObjectName("contributionOutput");
    contributionsControls->addWidget(m_contributionsButton);
    contributionsControls->addWidget(m_output, 1);
    contributionsLayout->addLayout(contributionsControls);
    auto chart = [&](const QString& name, const QString& label) {
        auto* plot = new QCustomPlot(contributions);
        plot->setObjectName(name);
        plot->setMinimumSize(260, 150);
        plot->yAxis->setLabel(label);
        QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
        for (int i = 0; i < static_cast<int>(std::size(kToggleGroups)); ++i) ticker->addTick(i, QString::fromLatin1(kToggleGroups[i]));
        plot->xAxis->setTicker(ticker);
        plot->xAxis->setRange(-0.6, std::size(kToggleGroups) - 0.4);
        new QCPBars(plot->xAxis, plot->yAxis);
        contributionsLayout->addWidget(plot);
        return plot;
    };
    m_shareChart = chart("contributionChart", tr("share of attribution"));
    m_ablationChart = chart("ablationChart", tr("ablation effect"));
    settingsRow->addWidget(contributions, 1);
    right->addLayout(settingsRow);
    m_status = new QLabel(tr("Opening the model ..."), this);
    m_status->setObjectName("workbenchStatus");
    right->addWidget(m_status);
    right->addStretch();
    layout->addLayout(right, 1);

    m_rerunTimer = new QTimer(this);
    m_rerunTimer->setSingleShot(true);
    m_rerunTimer->setInterval(kRerunDelayMs);
    connect(m_rerunTimer, &QTimer::timeout, this, &WorkbenchPanel::rerun);
    for (QSpinBox* s : {m_steps, m_seed}) connect(s, &QSpinBox::valueChanged, m_rerunTimer, qOverload<>(&QTimer::start));
    for (QDoubleSpinBox* s : {m_cfg, m_strength, m_colorWeight, m_edgeWeight})
        connect(s, &QDoubleSpinBox::valueChanged, m_rerunTimer, qOverload<>(&QTimer::start));
    m_playTimer = new QTimer(this);
    m_playTimer->setInterval(kPlayIntervalMs);
    connect(m_playTimer, &QTimer::timeout, this, [this] {
        if (m_timeline->value() >= m_timeline->maximum()) {
            m_playTimer->stop();
            m_play->setText(tr("Play"));
            return;
        }
        m_timeline->setValue(m_timeline->value() + 1);
    });
    connect(m_play, &QPushButton::clicked, this, [this] {
        if (m_playTimer->isActive()) {
            m_playTimer->stop();
            m_play->setText(tr("Play"));
            return;
        }
        if (m_timeline->value() >= m_timeline->maximum()) m_timeline->setValue(0);
        m_playTimer->start();
        m_play->setText(tr("Pause"));
    });
    connect(m_timeline, &QSlider::valueChanged, this, &WorkbenchPanel::showFrame);
    connect(m_search, &QLineEdit::textChanged, this, &WorkbenchPanel::refilter);
    connect(m_split, &QComboBox::currentIndexChanged, this, &WorkbenchPanel::refilter);
    connect(m_list, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row < static_cast<int>(m_shown.size())) selectTrial(static_cast<int>(m_shown[static_cast<size_t>(row)]));
    });

    connect(m_runner, &ReconstructionRunner::opened, this, [this](bool ok, const QString& message) {
        if (!ok) {
            m_status->setText(message);
            Q_EMIT sessionReady(false, message);
            return;
        }
        const soul::PreparedDataset& dataset = m_runner->engine()->dataset();
        constexpr int64_t kTrainingEvery = 10;   // a browsable sample of the training rows
        m_catalog = std::make_unique<TrialCatalog>(dataset, kTrainingEvery);
        const auto groups = m_runner->engine()->stream_groups();
        for (auto& [group, box] : m_streamToggles) box->setEnabled(std::find(groups.begin(), groups.end(), group) != groups.end());
        m_status->setText(tr("%1 trials; device %2").arg(m_catalog->entries().size()).arg(QString::fromStdString(m_runner->engine()->device())));
        refilter();
        Q_EMIT sessionReady(true, QString());
    });
    connect(m_runner, &ReconstructionRunner::stepPreview, this, [this](int request, int step, int steps, const QImage& noisy, const QImage& predicted) {
        if (request != m_runner->latestRequest()) return;
        if (step == 0) m_frames.clear();
        m_frames.emplace_back(noisy, predicted);
        m_timeline->setRange(0, static_cast<int>(m_frames.size()) - 1);
        m_timeline->setValue(static_cast<int>(m_frames.size()) - 1);   // follow the engine live
        m_status->setText(tr("denoising: step %1 of %2").arg(step + 1).arg(steps));
    });
    connect(m_runner, &ReconstructionRunner::finished, this, &WorkbenchPanel::showResult);
    connect(m_contributionsButton, &QPushButton::clicked, this, &WorkbenchPanel::requestContributions);
    connect(m_output, &QComboBox::currentIndexChanged, this, &WorkbenchPanel::showContributions);
    connect(m_runner, &ReconstructionRunner::contributionsReady, this, [this](int request) {
        if (request != m_contributionsRequest) return;
        m_contributions = m_runner->contributions(request);
        const QString current = m_output->currentText();
        m_output->blockSignals(true);
        m_output->clear();
        for (const auto& [output, shares] : m_contributions.attribution) m_output->addItem(QString::fromStdString(output));
        const int keep = m_output->findText(current);
        m_output->setCurrentIndex(keep >= 0 ? keep : 0);
        m_output->blockSignals(false);
        m_status->setText(tr("stream contributions of this trial: ablations and integrated gradients"));
        showContributions();
        Q_EMIT contributionsShown();
    });
    connect(m_runner, &ReconstructionRunner::failed, this, [this](int, const QString& message) { m_status->setText(message); });
}

WorkbenchPanel::~WorkbenchPanel() = default;

void WorkbenchPanel::openSession(const QString& run, const QString& data) {
    m_run = run;
    m_data = data;
    m_status->setText(tr("Opening %1 ...").arg(run));
    m_runner->open(run, data);
}

void WorkbenchPanel::refilter() {
    if (!m_catalog) return;
    const int split = m_split->currentIndex();
    m_shown = m_catalog->filter(m_search->text().toStdString(), split < 2, split == 1 ? soul::Split::Train : soul::Split::Test);
    const soul::PreparedDataset& dataset = m_runner->engine()->dataset();
    const int side = static_cast<int>(dataset.manifest().image_size);
    m_list->blockSignals(true);
    m_list->clear();
    for (size_t i : m_shown) {
        const TrialEntry& e = m_catalog->entries()[i];
        const QImage thumbnail(dataset.image(e.image), side, side, side * 3, QImage::Format_RGB888);
        auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(thumbnail.scaled(kThumbnailSide, kThumbnailSide))), QString::fromStdString(e.title));
        m_list->addItem(item);
    }
    m_list->blockSignals(false);
}

bool WorkbenchPanel::selectTrial(int entry) {
    if (!m_catalog || entry < 0 || entry >= static_cast<int>(m_catalog->entries().size())) return false;
    const TrialEntry& e = m_catalog->entries()[static_cast<size_t>(entry)];
    m_trial = {e.split, e.row};
    m_hasTrial = true;
    m_contributionsButton->setEnabled(true);
    m_contributions = {};
    m_output->clear();
    const soul::PreparedDataset& dataset = m_runner->engine()->dataset();
    const int side = static_cast<int>(dataset.manifest().image_size);
    m_stimulus = QImage(dataset.image(e.image), side, side, side * 3, QImage::Format_RGB888).copy();
    setImage(m_stimulusLabel, m_stimulus);
    Q_EMIT trialSelected(m_trial);
    rerun();
    return true;
}

soul::ReconstructionSettings WorkbenchPanel::settings() const {
    soul::ReconstructionSettings s;
    s.steps = m_steps->value();
    s.cfg = m_cfg->value();
    s.strength = m_strength->value();
    s.w_color = m_colorWeight->value();
    s.w_edge = m_edgeWeight->value();
    s.seed = static_cast<uint64_t>(m_seed->value());
    for (const auto& [group, box] : m_streamToggles)
        if (box->isEnabled() && !box->isChecked()) s.ablate.push_back(group);
    return s;
}

void WorkbenchPanel::rerun() {
    m_rerunTimer->stop();
    if (!m_hasTrial || !m_runner->isOpen()) return;
    m_frames.clear();
    m_status->setText(tr("reconstructing ..."));
    m_onScreenSettings = settings();
    m_runner->request(m_trial, m_onScreenSettings);
}

void WorkbenchPanel::showFrame(int index) {
    if (index < 0 || index >= static_cast<int>(m_frames.size())) return;
    setImage(m_noisyLabel, m_frames[static_cast<size_t>(index)].first);
    setImage(m_predictedLabel, m_frames[static_cast<size_t>(index)].second);
    m_stepLabel->setText(tr("step %1 of %2").arg(index + 1).arg(m_frames.size()));
}

void WorkbenchPanel::showResult(int request, double seconds) {
    if (request != m_runner->latestRequest()) return;
    const soul::Reconstruction r = m_runner->result(request);
    if (r.samples.empty()) return;
    m_onScreen = r;
    m_reconstruction = toQImage(r.samples.front());
    setImage(m_reconstructionLabel, m_reconstruction);
    setImage(m_lowLevelLabel, toQImage(r.low_level));
    setImage(m_paletteLabel, toQImage(r.palette));
    setImage(m_edgesLabel, toQImage(r.edges));
    m_caption->setText(tr("<b>predicted caption:</b> %1<br><b>true caption:</b> %2")
                           .arg(QString::fromStdString(r.caption).toHtmlEscaped(),
                                QString::fromStdString(r.true_captions.empty() ? std::string("–") : r.true_captions.front()).toHtmlEscaped()));
    m_status->setText(tr("reconstructed in %1 s").arg(seconds, 0, 'f', 2));
    Q_EMIT reconstructionShown(seconds);
}

void WorkbenchPanel::requestContributions() {
    if (!m_hasTrial || !m_runner->isOpen()) return;
    m_status->setText(tr("computing stream contributions (ablations, integrated gradients) ..."));
    m_contributionsRequest = m_runner->requestContributions(m_trial, settings());
}

void WorkbenchPanel::showContributions() {
    const std::string output = m_output->currentText().toStdString();
    const auto shares = m_contributions.attribution.find(output);
    if (shares == m_contributions.attribution.end()) return;
    auto draw = [&](QCustomPlot* plot, const std::function<double(const std::string&)>& value) {
        auto* bars = qobject_cast<QCPBars*>(plot->plottable(0));
        QVector<double> keys, values;
        double top = 0;
        for (int i = 0; i < static_cast<int>(std::size(kToggleGroups)); ++i) {
            keys << i;
            values << value(kToggleGroups[i]);
            top = std::max(top, values.back());
        }
        bars->setData(keys, values);
        plot->yAxis->setRange(0, top > 0 ? top * 1.1 : 1);
        plot->replot();
    };
    draw(m_shareChart, [&](const std::string& group) {
        const auto it = shares->second.find(group);
        return it == shares->second.end() ? 0.0 : it->second;
    });
    draw(m_ablationChart, [&](const std::string& group) {
        const auto per_stream = m_contributions.ablation.find(group);
        if (per_stream == m_contributions.ablation.end()) return 0.0;
        const auto it = per_stream->second.find(output);
        return it == per_stream->second.end() ? 0.0 : std::max(0.0, it->second);
    });
    const auto volume = m_contributions.volumes.find(output);
    if (volume != m_contributions.volumes.end()) Q_EMIT attributionVolume(volume->second, QString::fromStdString(output));
}

bool WorkbenchPanel::exportFigure(const QString& kind, const QString& file, int scale, QString* error) {
    auto fail = [&](const QString& message) {
        if (error) *error = message;
        return false;
    };
    if (scale < 1 || scale > 4) return fail(tr("the scale must be 1 to 4"));
    try {
        if (kind == "chart") {
            if (m_contributions.attribution.empty()) return fail(tr("compute the stream contributions first"));
            // The attribution-share chart of the chosen output: vector in PDF.
            const bool ok = file.endsWith(".pdf", Qt::CaseInsensitive) ? m_shareChart->savePdf(file) : m_shareChart->savePng(file, 0, 0, scale);
            return ok ? true : fail(file + tr(": cannot be written"));
        }
        if (m_onScreen.samples.empty()) return fail(tr("select a trial and wait for its reconstruction first"));
        soul::RgbImage figure;
        if (kind == "comparison") {
            figure = soul::compose_comparison({m_onScreen}, scale);
        } else if (kind == "denoising") {
            std::vector<soul::DenoisePreview> frames;
            for (size_t i = 0; i < m_frames.size(); ++i)
                frames.push_back({0, static_cast<int64_t>(i), static_cast<int64_t>(m_frames.size()), toRgbImage(m_frames[i].first), toRgbImage(m_frames[i].second)});
            figure = soul::compose_denoising(frames, scale);
        } else {
            return fail(tr("unknown figure '%1' (comparison, denoising, chart)").arg(kind));
        }
        soul::write_png(file.toStdString(), figure);
        soul::ViewDescription view;
        view.run = m_run.toStdString();
        view.data = m_data.toStdString();
        view.kind = kind.toStdString();
        view.trials = {m_onScreen.trial};
        view.settings = m_onScreenSettings;
        view.scale = scale;
        soul::write_view_description(view, (file + ".view.json").toStdString());
        return true;
    } catch (const soul::Error& e) {
        return fail(QString::fromStdString(e.what()));
    }
}

void WorkbenchPanel::setImage(QLabel* label, const QImage& image) {
    label->setPixmap(QPixmap::fromImage(image.scaled(kImageSide, kImageSide, Qt::IgnoreAspectRatio, Qt::FastTransformation)));
}

}  // namespace soului
