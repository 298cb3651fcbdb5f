#include "WorkbenchPanel.h"

#include "ErrorMessage.h"
#include "GuidedTour.h"
#include "ProgressJob.h"
#include "ReconstructionRunner.h"
#include "TrialCatalog.h"
#include "TuningMaps.h"
#include "soul/error.h"
#include "soul/figure.h"
#include "soul/nsd_layout.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QTabWidget>
#include <QTextBrowser>
#include <QTimer>
#include <QVBoxLayout>

#include <fstream>
#include <functional>

#include <qcustomplot.h>

namespace soului {

namespace {

constexpr int kImageSide = 128;      // on-screen size of the 64×64 images
constexpr int kPartSide = 40;        // low-level, palette and edges under each column
constexpr int kSampleSide = 64;
constexpr int kSamplesPerRow = 8;    // samples per trial shown side by side, then another row
constexpr int kMapScale = 3;         // ground-truth and attribution projections, px per voxel
constexpr int kThumbnailSide = 40;
constexpr int kRerunDelayMs = 250;   // settings changes within this are one re-run
constexpr int kPlayIntervalMs = 120;
constexpr int kColumnWidth = 3 * kPartSide + 16;

QLabel* imageLabel(const QString& name, int side, QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setObjectName(name);
    label->setFixedSize(side, side);
    label->setAlignment(Qt::AlignCenter);
    label->setStyleSheet("background: #202020; color: #a0a0a0;");
    return label;
}

QLabel* textLabel(const QString& name, QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setObjectName(name);
    label->setWordWrap(true);
    label->setFixedWidth(kColumnWidth);
    label->setAlignment(Qt::AlignTop | Qt::AlignHCenter);
    return label;
}

QString joined(const std::vector<std::string>& items) {
    QStringList out;
    for (const auto& item : items) out << QString::fromStdString(item);
    return out.join(", ");
}

}  // namespace

WorkbenchPanel::WorkbenchPanel(QWidget* parent) : QWidget(parent), m_runner(new ReconstructionRunner(this)) {
    setObjectName("workbench");
    m_rerunTimer = new QTimer(this);
    m_rerunTimer->setSingleShot(true);
    m_rerunTimer->setInterval(kRerunDelayMs);
    connect(m_rerunTimer, &QTimer::timeout, this, &WorkbenchPanel::rerun);

    auto* layout = new QHBoxLayout(this);
    layout->addWidget(buildBrowser());
    auto* middle = new QVBoxLayout;
    middle->addWidget(buildComparison());
    middle->addWidget(buildSettings());
    m_status = new QLabel(tr("Opening the model ..."), this);
    m_status->setObjectName("workbenchStatus");
    m_status->setWordWrap(true);
    middle->addWidget(m_status);
    middle->addStretch();
    layout->addLayout(middle);
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName("workbenchTabs");
    m_tabs->addTab(buildTimeline(), tr("Denoising"));
    m_tabs->addTab(buildContributions(), tr("Stream contributions"));
    m_tabs->addTab(buildTour(), tr("Guided tour"));
    layout->addWidget(m_tabs, 1);

    connect(m_runner, &ReconstructionRunner::opened, this, [this](bool ok, const QString& message) {
        if (!ok) {
            m_status->setText(message);
            Q_EMIT sessionReady(false, message);
            return;
        }
        const soul::PreparedDataset& dataset = m_runner->engine()->dataset();
        constexpr int64_t kTrainingEvery = 10;   // a browsable sample of the training rows
        m_catalog = std::make_unique<TrialCatalog>(dataset, kTrainingEvery);
        int32_t mostRepeats = 1;
        for (const TrialEntry& e : m_catalog->entries()) mostRepeats = std::max(mostRepeats, e.repeats);
        m_minRepeats->setMaximum(mostRepeats);
        const auto groups = m_runner->engine()->stream_groups();
        m_model.openSession(m_model.run(), m_model.data(), groups);
        for (auto& [group, box] : m_streamToggles) box->setEnabled(std::find(groups.begin(), groups.end(), group) != groups.end());
        m_baselineColumn.title->setText(tr("baseline: %1").arg(QString::fromStdString(m_runner->engine()->baseline_name())));
        m_generatorTitle->setText(QString::fromStdString(m_runner->engine()->generator_title()));
        // Every decoder that can read this run's betas, built in or a plugin (docs/decoder-plugins.md).
        {
            const QSignalBlocker quiet(m_compareWith);
            m_compareWith->clear();
            m_compareWith->addItem(tr("baseline (%1)").arg(QString::fromStdString(m_runner->engine()->baseline_name())), QStringLiteral("baseline"));
            for (const soul::DecoderInfo& d : m_runner->engine()->decoders())
                if (!d.name.empty() && d.problem.empty() && d.name != "souldiffuser")
                    m_compareWith->addItem(QString::fromStdString(d.origin == "built in" ? d.title : d.title + " — plugin " + d.name),
                                           QString::fromStdString(d.name));
        }
        syncModel();
        m_tuning.reset();
        QString truth;
        const std::string root = dataset.manifest().source_root;
        if (TuningMaps::available(root)) {
            try {
                m_tuning = std::make_unique<TuningMaps>(root);
            } catch (...) {
                truth = tr("; the phantom's ground truth is unreadable: %1").arg(currentErrorMessage());
            }
        }
        m_status->setText(tr("%1 trials; device %2%3")
                              .arg(m_catalog->entries().size())
                              .arg(QString::fromStdString(m_runner->engine()->device()), truth));
        refilter();
        Q_EMIT sessionReady(true, QString());
    });
    connect(m_runner, &ReconstructionRunner::stepPreview, this, [this](int request, const soul::DenoisePreview& preview) {
        if (!m_model.acceptPreview(request, preview)) return;
        const int shown = static_cast<int>(m_model.frames().size());
        m_timeline->setRange(0, shown - 1);
        m_timeline->setValue(shown - 1);   // follow the engine live
        m_status->setText(tr("denoising: step %1 of %2").arg(preview.step + 1).arg(preview.steps));
    });
    connect(m_runner, &ReconstructionRunner::finished, this, &WorkbenchPanel::showResult);
    connect(m_runner, &ReconstructionRunner::variantFinished, this, &WorkbenchPanel::showVariant);
    connect(m_runner, &ReconstructionRunner::contributionsProgress, this, [this](int request, int step, int steps, const QString& message) {
        if (request != m_contributionsRequest || m_contributionsProgress->isHidden()) return;
        m_contributionsProgress->setRange(0, std::max(1, steps));
        m_contributionsProgress->setValue(step);
        m_contributionsProgress->setFormat(message + "  %p%");
    });
    connect(m_runner, &ReconstructionRunner::cancelled, this, [this](int request) {
        if (request != m_contributionsRequest || m_contributionsProgress->isHidden()) return;
        showContributionsRunning(false);
        m_status->setText(tr("stream contributions cancelled; Compute starts them again"));
    });
    connect(m_runner, &ReconstructionRunner::contributionsReady, this, [this](int request, const soul::StreamContributions& contributions) {
        if (request != m_contributionsRequest) return;
        showContributionsRunning(false);
        m_contributions = contributions;
        const QString current = m_preferredOutput.empty() ? m_output->currentText() : QString::fromStdString(m_preferredOutput);
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
    connect(m_runner, &ReconstructionRunner::failed, this, [this](int request, const QString& message) {
        if (request == m_contributionsRequest) showContributionsRunning(false);
        m_status->setText(message);
        Q_EMIT reconstructionFailed(message);
    });
}

WorkbenchPanel::~WorkbenchPanel() = default;

QWidget* WorkbenchPanel::buildBrowser() {
    auto* box = new QWidget(this);
    auto* browser = new QVBoxLayout(box);
    browser->setContentsMargins(0, 0, 0, 0);
    m_search = new QLineEdit(box);
    m_search->setObjectName("trialSearch");
    m_search->setPlaceholderText(tr("caption words, e.g. red dress"));
    m_split = new QComboBox(box);
    m_split->setObjectName("trialSplit");
    m_split->addItems({tr("test trials"), tr("training trials"), tr("all")});
    m_minRepeats = new QSpinBox(box);
    m_minRepeats->setObjectName("trialRepeats");
    m_minRepeats->setRange(0, 1);
    m_minRepeats->setPrefix(tr("repeats ≥ "));
    m_minRepeats->setSpecialValueText(tr("any repeat count"));
    m_minRepeats->setToolTip(tr("Test trials average the presentations of their image; more repeats, less noise."));
    m_list = new QListWidget(box);
    m_list->setObjectName("trialList");
    m_list->setIconSize(QSize(kThumbnailSide, kThumbnailSide));
    m_list->setMinimumWidth(240);
    auto* filters = new QHBoxLayout;
    filters->addWidget(m_split, 1);
    filters->addWidget(m_minRepeats, 1);
    browser->addWidget(m_search);
    browser->addLayout(filters);
    browser->addWidget(m_list, 1);
    connect(m_search, &QLineEdit::textChanged, this, &WorkbenchPanel::refilter);
    connect(m_split, &QComboBox::currentIndexChanged, this, &WorkbenchPanel::refilter);
    connect(m_minRepeats, &QSpinBox::valueChanged, this, &WorkbenchPanel::refilter);
    connect(m_list, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row < static_cast<int>(m_shown.size())) selectTrial(static_cast<int>(m_shown[static_cast<size_t>(row)]));
    });
    return box;
}

WorkbenchPanel::Column WorkbenchPanel::makeColumn(const QString& name, const QString& title) {
    Column c;
    c.title = textLabel(name + "Title", this);
    c.title->setText(title);
    c.image = imageLabel(name + "Image", kImageSide, this);
    c.caption = textLabel(name == "reconstruction" ? QString("captionLabel") : name + "Caption", this);
    // The reconstruction column keeps the short names the first workbench gave its parts.
    const QString prefix = name == "reconstruction" ? QString() : name;
    auto part = [&](const QString& what) {
        return imageLabel(prefix.isEmpty() ? what.at(0).toLower() + what.mid(1) + "Image" : prefix + what, kPartSide, this);
    };
    c.lowLevel = part("LowLevel");
    c.palette = part("Palette");
    c.edges = part("Edges");
    c.lowLevel->setToolTip(tr("low-level image (SSMNet): the img2img start"));
    c.palette->setToolTip(tr("palette (EdgeColorNet or the baseline)"));
    c.edges->setToolTip(tr("edge map (EdgeColorNet or the baseline)"));
    return c;
}

QWidget* WorkbenchPanel::buildComparison() {
    auto* box = new QGroupBox(tr("Side by side"), this);
    auto* grid = new QGridLayout(box);
    m_stimulusLabel = imageLabel("stimulusImage", kImageSide, box);
    auto* stimulusTitle = textLabel("stimulusTitle", box);
    stimulusTitle->setText(tr("<b>stimulus</b>"));
    m_trueCaption = textLabel("trueCaptionLabel", box);
    m_main = makeColumn("reconstruction", tr("<b>SoulDiffuser</b>"));
    m_ablated = makeColumn("ablation", QString());
    m_baselineColumn = makeColumn("baseline", tr("<b>baseline</b>"));
    grid->addWidget(stimulusTitle, 0, 0);
    grid->addWidget(m_stimulusLabel, 1, 0, Qt::AlignHCenter);
    grid->addWidget(m_trueCaption, 3, 0);
    int column = 1;
    for (Column* c : {&m_main, &m_ablated, &m_baselineColumn}) {
        grid->addWidget(c->title, 0, column);
        grid->addWidget(c->image, 1, column, Qt::AlignHCenter);
        auto* parts = new QHBoxLayout;
        parts->addWidget(c->lowLevel);
        parts->addWidget(c->palette);
        parts->addWidget(c->edges);
        grid->addLayout(parts, 2, column, Qt::AlignHCenter);
        grid->addWidget(c->caption, 3, column);
        ++column;
    }
    clearColumn(m_ablated, tr("<b>streams off:</b> none (switch one off below)"));
    m_samplesRow = new QWidget(box);
    auto* samples = new QGridLayout(m_samplesRow);
    samples->setContentsMargins(0, 0, 0, 0);
    samples->addWidget(new QLabel(tr("samples:"), m_samplesRow), 0, 0, Qt::AlignTop);
    for (int k = 0; k < static_cast<int>(soul::sampler_bounds::kMaxSamples); ++k) {
        QLabel* label = imageLabel(QString("sampleImage-%1").arg(k), kSampleSide, m_samplesRow);
        label->setToolTip(tr("sample %1: the same trial from another start noise").arg(k + 1));
        m_sampleLabels.push_back(label);
        samples->addWidget(label, k / kSamplesPerRow, 1 + k % kSamplesPerRow);
    }
    samples->setColumnStretch(kSamplesPerRow + 1, 1);
    m_samplesRow->hide();
    grid->addWidget(m_samplesRow, 4, 0, 1, 4);
    return box;
}

QWidget* WorkbenchPanel::buildSettings() {
    auto* row = new QWidget(this);
    auto* settingsRow = new QHBoxLayout(row);
    settingsRow->setContentsMargins(0, 0, 0, 0);
    auto* sampler = new QGroupBox(tr("Sampler"), row);
    auto* form = new QGridLayout(sampler);
    auto spin = [&](const QString& name, int low, int high, int value) {
        auto* s = new QSpinBox(sampler);
        s->setObjectName(name);
        s->setRange(low, high);
        s->setValue(value);
        connect(s, &QSpinBox::valueChanged, this, &WorkbenchPanel::settingsChanged);
        return s;
    };
    auto dspin = [&](const QString& name, double low, double high, double value, double step) {
        auto* s = new QDoubleSpinBox(sampler);
        s->setObjectName(name);
        s->setRange(low, high);
        s->setSingleStep(step);
        s->setValue(value);
        connect(s, &QDoubleSpinBox::valueChanged, this, &WorkbenchPanel::settingsChanged);
        return s;
    };
    // The engine's one set of bounds (soul/sampler.h).
    namespace bounds = soul::sampler_bounds;
    const soul::SamplerSettings defaults;
    m_steps = spin("stepsSpin", 1, static_cast<int>(bounds::kMaxSteps), static_cast<int>(defaults.steps));
    m_cfg = dspin("cfgSpin", 0, bounds::kMaxGuidance, defaults.cfg, 0.5);
    m_strength = dspin("strengthSpin", 0, 1, defaults.strength, 0.05);
    m_colorWeight = dspin("colorWeightSpin", 0, bounds::kMaxAdapterWeight, defaults.w_color, 0.1);
    m_edgeWeight = dspin("edgeWeightSpin", 0, bounds::kMaxAdapterWeight, defaults.w_edge, 0.1);
    m_seed = spin("seedSpin", 0, static_cast<int>(bounds::kMaxSeed), static_cast<int>(defaults.seed));
    m_sampleCount = spin("samplesSpin", 1, static_cast<int>(bounds::kMaxSamples), static_cast<int>(defaults.samples));
    // Two columns of label and field: the dock is wider than it is tall.
    const std::pair<QString, QWidget*> fields[] = {{tr("steps"), m_steps},          {tr("ω1 colour"), m_colorWeight},
                                                   {tr("guidance"), m_cfg},         {tr("ω2 edges"), m_edgeWeight},
                                                   {tr("strength"), m_strength},    {tr("seed"), m_seed},
                                                   {QString(), nullptr},            {tr("samples"), m_sampleCount}};
    for (int i = 0; i < static_cast<int>(std::size(fields)); ++i) {
        if (!fields[i].second) continue;
        form->addWidget(new QLabel(fields[i].first, sampler), i / 2, (i % 2) * 2);
        form->addWidget(fields[i].second, i / 2, (i % 2) * 2 + 1);
    }
    m_strength->setToolTip(tr("img2img strength: the share of the denoising run from SSMNet's low-level image"));
    auto* samplerColumn = new QVBoxLayout;
    samplerColumn->addWidget(sampler);
    samplerColumn->addWidget(buildGenerator(row));
    settingsRow->addLayout(samplerColumn);
    auto* teaching = new QGroupBox(tr("Streams on / off"), row);
    auto* teachingLayout = new QVBoxLayout(teaching);
    teaching->setToolTip(tr("Switch a pathway off: its voxels are set to their training mean, and the streams-off column shows what is lost."));
    for (const char* group : soul::nsd::kStreamGroups) {
        auto* box = new QCheckBox(QString::fromLatin1(group), teaching);
        box->setObjectName(QString("streamToggle-") + group);
        box->setChecked(true);
        box->setEnabled(false);
        teachingLayout->addWidget(box);
        m_streamToggles.emplace_back(group, box);
        connect(box, &QCheckBox::toggled, this, &WorkbenchPanel::settingsChanged);
    }
    teachingLayout->addStretch();
    auto* compare = new QWidget(teaching);
    auto* compareLayout = new QHBoxLayout(compare);
    compareLayout->setContentsMargins(0, 0, 0, 0);
    compareLayout->addWidget(new QLabel(tr("third column:"), compare));
    m_compareWith = new QComboBox(compare);
    m_compareWith->setObjectName("compareDecoder");
    m_compareWith->setToolTip(tr("The decoder beside SoulDiffuser: the run's baseline, ridge regression, the flattened MLP or a decoder plugin"));
    compareLayout->addWidget(m_compareWith, 1);
    teachingLayout->addWidget(compare);
    connect(m_compareWith, &QComboBox::currentIndexChanged, this, &WorkbenchPanel::settingsChanged);
    settingsRow->addWidget(teaching);
    return row;
}

QWidget* WorkbenchPanel::buildGenerator(QWidget* parent) {
    auto* box = new QGroupBox(tr("Generator"), parent);
    auto* layout = new QGridLayout(box);
    m_generatorTitle = new QLabel(tr("the run's own"), box);
    m_generatorTitle->setObjectName("generatorTitle");
    m_generatorTitle->setWordWrap(true);
    layout->addWidget(m_generatorTitle, 0, 0, 1, 3);
    auto* choose = new QPushButton(tr("Stable Diffusion ..."), box);
    choose->setObjectName("chooseGenerator");
    choose->setToolTip(tr("Draw with your own Stable Diffusion 1.x/2.x (docs/pretrained.md): SemBERT's caption and SSMNet's image "
                          "start it; the palette and edges steer it when the run has adapters for it (train --stages sd_adapters)"));
    auto* menu = new QMenu(choose);
    menu->addAction(tr("Diffusers folder ..."), this, [this] { chooseStableDiffusion(false); });
    menu->addAction(tr("Single file (.safetensors, .ckpt) ..."), this, [this] { chooseStableDiffusion(true); });
    menu->addSeparator();
    menu->addAction(tr("The run's own generator"), this, [this] { useGenerator({}); });
    choose->setMenu(menu);
    layout->addWidget(choose, 1, 0);
    layout->addWidget(new QLabel(tr("size"), box), 1, 1, Qt::AlignRight);
    m_sdSize = new QSpinBox(box);
    m_sdSize->setObjectName("stableDiffusionSize");
    constexpr int kSideStep = 64;        // a multiple of SD's downscale 8 and of its UNet's 8
    constexpr int kDefaultSide = 256;    // about 80 s an image on two CPU cores (bench/RESULTS.md); 512 is the model's own
    m_sdSize->setRange(kSideStep, 1024);
    m_sdSize->setSingleStep(kSideStep);
    m_sdSize->setValue(kDefaultSide);
    m_sdSize->setSuffix(tr(" px"));
    m_sdSize->setToolTip(tr("The side Stable Diffusion draws at (read when it is loaded)"));
    layout->addWidget(m_sdSize, 1, 2);
    connect(m_runner, &ReconstructionRunner::generatorChanged, this, [this](bool ok, const QString& titleOrError) {
        if (ok) {
            m_generatorTitle->setText(titleOrError);
            m_status->setText(tr("drawing with %1").arg(titleOrError));
            rerun();
        } else {
            m_status->setText(titleOrError);
        }
        Q_EMIT generatorChanged(ok, titleOrError);
    });
    return box;
}

void WorkbenchPanel::chooseStableDiffusion(bool singleFile) {
    soul::StableDiffusionOptions options;
    options.size = m_sdSize->value();
    if (singleFile) {
        options.path = QFileDialog::getOpenFileName(this, tr("Stable Diffusion checkpoint"), QString(), tr("Checkpoints (*.safetensors *.ckpt)")).toStdString();
        if (options.path.empty()) return;
        // A single file has no tokenizer: CLIP's (and, for 2.x, its text encoder) come from a folder.
        options.text_encoder = QFileDialog::getExistingDirectory(this, tr("CLIP text encoder folder (vocab.json, merges.txt)")).toStdString();
        if (options.text_encoder.empty()) return;
    } else {
        options.path = QFileDialog::getExistingDirectory(this, tr("Stable Diffusion diffusers folder (model_index.json)")).toStdString();
        if (options.path.empty()) return;
    }
    useGenerator(options);
}

void WorkbenchPanel::useGenerator(const soul::StableDiffusionOptions& options) {
    if (!m_runner->isOpen()) return;
    m_status->setText(options.used() ? tr("loading Stable Diffusion from %1 ...").arg(QString::fromStdString(options.path))
                                     : tr("back to the run's own generator ..."));
    m_runner->useGenerator(options);
}

QString WorkbenchPanel::generatorTitle() const { return m_generatorTitle->text(); }

QWidget* WorkbenchPanel::buildTimeline() {
    auto* timeline = new QWidget(this);
    auto* layout = new QVBoxLayout(timeline);
    auto* images = new QHBoxLayout;
    m_noisyLabel = imageLabel("noisyImage", kImageSide, timeline);
    m_predictedLabel = imageLabel("predictedImage", kImageSide, timeline);
    for (auto [label, caption] : {std::pair{m_noisyLabel, tr("noisy latent, decoded")}, std::pair{m_predictedLabel, tr("predicted clean image")}}) {
        auto* column = new QVBoxLayout;
        column->addWidget(label);
        column->addWidget(new QLabel(caption, timeline), 0, Qt::AlignHCenter);
        images->addLayout(column);
    }
    images->addStretch();
    layout->addLayout(images);
    m_timeline = new QSlider(Qt::Horizontal, timeline);
    m_timeline->setObjectName("timelineSlider");
    m_timeline->setRange(0, 0);
    m_play = new QPushButton(tr("Play"), timeline);
    m_play->setObjectName("timelinePlay");
    m_stepLabel = new QLabel(timeline);
    m_stepLabel->setObjectName("timelineStep");
    layout->addWidget(m_timeline);
    layout->addWidget(m_play);
    layout->addWidget(m_stepLabel);
    layout->addStretch();

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
    return timeline;
}

QWidget* WorkbenchPanel::buildContributions() {
    auto* contributions = new QWidget(this);
    auto* layout = new QVBoxLayout(contributions);
    auto* controls = new QHBoxLayout;
    m_contributionsButton = new QPushButton(tr("Compute"), contributions);
    m_contributionsButton->setObjectName("contributionsButton");
    m_contributionsButton->setEnabled(false);
    m_output = new QComboBox(contributions);
    m_output->setObjectName("contributionOutput");
    controls->addWidget(m_contributionsButton);
    controls->addWidget(new QLabel(tr("output:"), contributions));
    controls->addWidget(m_output, 1);
    layout->addLayout(controls);
    // While they are computed: how far, and Cancel (the engine stops at its next step).
    auto* running = new QHBoxLayout;
    m_contributionsProgress = new QProgressBar(contributions);
    m_contributionsProgress->setObjectName("contributionsProgress");
    m_contributionsProgress->setTextVisible(true);
    m_contributionsCancel = new QPushButton(tr("Cancel"), contributions);
    m_contributionsCancel->setObjectName("contributionsCancel");
    running->addWidget(m_contributionsProgress, 1);
    running->addWidget(m_contributionsCancel);
    layout->addLayout(running);
    m_contributionsProgress->hide();
    m_contributionsCancel->hide();
    auto chart = [&](const QString& name, const QString& label) {
        auto* plot = new QCustomPlot(contributions);
        plot->setObjectName(name);
        plot->setMinimumSize(260, 130);
        plot->yAxis->setLabel(label);
        QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
        for (int i = 0; i < static_cast<int>(std::size(soul::nsd::kStreamGroups)); ++i) ticker->addTick(i, QString::fromLatin1(soul::nsd::kStreamGroups[i]));
        plot->xAxis->setTicker(ticker);
        plot->xAxis->setRange(-0.6, std::size(soul::nsd::kStreamGroups) - 0.4);
        new QCPBars(plot->xAxis, plot->yAxis);
        layout->addWidget(plot, 1);
        return plot;
    };
    m_shareChart = chart("contributionChart", tr("share of attribution"));
    m_ablationChart = chart("ablationChart", tr("ablation effect"));
    auto* truth = new QGroupBox(tr("Learned attribution | the phantom's ground truth (seen from above)"), contributions);
    truth->setObjectName("groundTruthBox");
    auto* truthLayout = new QGridLayout(truth);
    m_attributionMap = new QLabel(truth);
    m_attributionMap->setObjectName("attributionMap");
    m_truthMap = new QLabel(truth);
    m_truthMap->setObjectName("truthMap");
    m_truthShare = new QLabel(tr("Compute the contributions of a trial of the phantom subject to compare them with its known tuning."), truth);
    m_truthShare->setObjectName("truthShare");
    m_truthShare->setWordWrap(true);
    truthLayout->addWidget(m_attributionMap, 0, 0, Qt::AlignHCenter);
    truthLayout->addWidget(m_truthMap, 0, 1, Qt::AlignHCenter);
    truthLayout->addWidget(m_truthShare, 1, 0, 1, 2);
    m_truthOverlay = new QPushButton(tr("Show the ground truth as an overlay"), truth);
    m_truthOverlay->setObjectName("truthOverlayButton");
    m_truthOverlay->setToolTip(tr("Adds the voxels tuned to this output (1) as an overlay over the trial, to compare with its attribution"));
    m_truthOverlay->setEnabled(false);
    truthLayout->addWidget(m_truthOverlay, 2, 0, 1, 2, Qt::AlignLeft);
    connect(m_truthOverlay, &QPushButton::clicked, this, [this] {
        const std::string output = m_output->currentText().toStdString();
        const auto volume = m_contributions.volumes.find(output);
        if (!m_tuning || volume == m_contributions.volumes.end()) return;
        try {
            Q_EMIT groundTruthVolume(m_tuning->truthVolume(output, volume->second), QString::fromStdString(output));
        } catch (...) {
            m_truthShare->setText(currentErrorMessage());
        }
    });
    layout->addWidget(truth);
    connect(m_contributionsButton, &QPushButton::clicked, this, &WorkbenchPanel::requestContributions);
    connect(m_contributionsCancel, &QPushButton::clicked, this, [this] {
        if (!m_contributionsProgress->isHidden()) m_runner->cancel();
    });
    connect(m_output, &QComboBox::currentIndexChanged, this, &WorkbenchPanel::showContributions);
    return contributions;
}

QWidget* WorkbenchPanel::buildTour() {
    auto* tour = new QWidget(this);
    auto* layout = new QVBoxLayout(tour);
    m_tourText = new QTextBrowser(tour);
    m_tourText->setObjectName("tourText");
    m_tourText->setOpenLinks(false);
    layout->addWidget(m_tourText, 1);
    auto* buttons = new QHBoxLayout;
    m_tourBack = new QPushButton(tr("Back"), tour);
    m_tourBack->setObjectName("tourBack");
    m_tourNext = new QPushButton(tr("Next"), tour);
    m_tourNext->setObjectName("tourNext");
    m_tourStepLabel = new QLabel(tour);
    m_tourStepLabel->setObjectName("tourStep");
    buttons->addWidget(m_tourBack);
    buttons->addWidget(m_tourStepLabel, 1, Qt::AlignHCenter);
    buttons->addWidget(m_tourNext);
    layout->addLayout(buttons);
    connect(m_tourBack, &QPushButton::clicked, this, [this] { showTourStep(m_tourStep - 1); });
    connect(m_tourNext, &QPushButton::clicked, this, [this] { showTourStep(m_tourStep + 1); });
    // The first page only reads; switching streams starts when the class presses Next.
    const TourStep& first = guidedTour().front();
    m_tourText->setHtml(QString("<h3>%1</h3>%2").arg(QString::fromStdString(first.title), QString::fromStdString(first.text)));
    m_tourStepLabel->setText(tr("step 1 of %1").arg(guidedTour().size()));
    m_tourBack->setEnabled(false);
    return tour;
}

void WorkbenchPanel::showTourText() {
    const TourStep& step = guidedTour()[static_cast<size_t>(m_tourStep)];
    m_tourText->setHtml(QString("<h3>%1</h3>%2%3")
                            .arg(QString::fromStdString(step.title), QString::fromStdString(step.text),
                                 QString::fromStdString(measuredDissociation(m_evaluation, step.streamsOff))));
}

void WorkbenchPanel::showTourStep(int index) {
    const auto& steps = guidedTour();
    if (index < 0 || index >= static_cast<int>(steps.size())) return;
    m_tourStep = index;
    const TourStep& step = steps[static_cast<size_t>(index)];
    showTourText();
    m_tourStepLabel->setText(tr("step %1 of %2").arg(index + 1).arg(steps.size()));
    m_tourBack->setEnabled(index > 0);
    m_tourNext->setEnabled(index + 1 < static_cast<int>(steps.size()));
    for (auto& [group, box] : m_streamToggles)
        box->setChecked(std::find(step.streamsOff.begin(), step.streamsOff.end(), group) == step.streamsOff.end());
    m_preferredOutput = step.output;
    if (!step.output.empty() && m_output->findText(QString::fromStdString(step.output)) >= 0)
        m_output->setCurrentIndex(m_output->findText(QString::fromStdString(step.output)));
    if (step.tab == "denoising") m_tabs->setCurrentIndex(0);
    if (step.tab == "contributions") m_tabs->setCurrentIndex(1);
}

void WorkbenchPanel::openSession(const QString& run, const QString& data) {
    m_model.openSession(run.toStdString(), data.toStdString(), {});
    // The run's evaluation, when `souldiffuser evaluate` has made one: the tour quotes it.
    loadEvaluation(QDir(run).filePath("evaluation-reconstruction"));
    m_status->setText(tr("Opening %1 ...").arg(run));
    m_runner->open(run, data);
}

void WorkbenchPanel::loadEvaluation(const QString& folder) {
    std::ifstream report(QDir(folder).filePath("report.json").toStdString());
    m_evaluation = report ? nlohmann::json::parse(report, nullptr, false) : nlohmann::json();
    showTourText();   // the page in view quotes the new table
}

void WorkbenchPanel::refilter() {
    if (!m_catalog) return;
    const int split = m_split->currentIndex();
    m_shown = m_catalog->filter(m_search->text().toStdString(), split < 2, split == 1 ? soul::Split::Train : soul::Split::Test,
                                m_minRepeats->value());
    const soul::PreparedDataset& dataset = m_runner->engine()->dataset();
    const int side = static_cast<int>(dataset.manifest().image_size);
    m_list->blockSignals(true);
    m_list->clear();
    for (size_t i : m_shown) {
        const TrialEntry& e = m_catalog->entries()[i];
        const QImage thumbnail(dataset.image(e.image), side, side, side * 3, QImage::Format_RGB888);
        const QString repeats = e.split == soul::Split::Test ? tr(" · %1×").arg(e.repeats) : QString();
        m_list->addItem(new QListWidgetItem(QIcon(QPixmap::fromImage(thumbnail.scaled(kThumbnailSide, kThumbnailSide))),
                                            QString::fromStdString(e.title) + repeats));
    }
    m_list->blockSignals(false);
}

bool WorkbenchPanel::selectTrial(int entry) {
    if (!m_catalog || entry < 0 || entry >= static_cast<int>(m_catalog->entries().size())) return false;
    const TrialEntry& e = m_catalog->entries()[static_cast<size_t>(entry)];
    m_model.setTrial({e.split, e.row});
    m_contributionsButton->setEnabled(true);
    m_contributions = {};
    m_output->clear();
    m_attributionMap->clear();
    m_truthMap->clear();
    const soul::PreparedDataset& dataset = m_runner->engine()->dataset();
    const int side = static_cast<int>(dataset.manifest().image_size);
    m_stimulus = QImage(dataset.image(e.image), side, side, side * 3, QImage::Format_RGB888).copy();
    setImage(m_stimulusLabel, m_stimulus, kImageSide);
    const auto& captions = dataset.captions(e.image);
    m_trueCaption->setText(tr("<i>%1</i>").arg(QString::fromStdString(captions.empty() ? std::string("–") : captions.front()).toHtmlEscaped()));
    Q_EMIT trialSelected(m_model.trial());
    rerun();
    return true;
}

bool WorkbenchPanel::selectTrial(const soul::TrialRef& trial) {
    if (!m_catalog) return false;
    const auto& entries = m_catalog->entries();
    for (size_t i = 0; i < entries.size(); ++i)
        if (entries[i].split == trial.split && entries[i].row == trial.row) return selectTrial(static_cast<int>(i));
    return false;
}

void WorkbenchPanel::setSettings(const soul::SamplerSettings& sampler, const std::vector<std::string>& streamsOff) {
    m_steps->setValue(static_cast<int>(sampler.steps));
    m_cfg->setValue(sampler.cfg);
    m_strength->setValue(sampler.strength);
    m_colorWeight->setValue(sampler.w_color);
    m_edgeWeight->setValue(sampler.w_edge);
    m_seed->setValue(static_cast<int>(sampler.seed));
    m_sampleCount->setValue(static_cast<int>(sampler.samples));
    for (const auto& [group, box] : m_streamToggles)
        box->setChecked(std::find(streamsOff.begin(), streamsOff.end(), group) == streamsOff.end());
    syncModel();
}

soul::ReconstructionSettings WorkbenchPanel::settings() const { return m_model.settings(); }

std::vector<std::string> WorkbenchPanel::streamsOff() const { return m_model.streamsOff(); }

void WorkbenchPanel::syncModel() {
    if (!m_compareWith) return;   // still being built
    soul::SamplerSettings sampler;
    sampler.steps = m_steps->value();
    sampler.cfg = m_cfg->value();
    sampler.strength = m_strength->value();
    sampler.w_color = m_colorWeight->value();
    sampler.w_edge = m_edgeWeight->value();
    sampler.seed = static_cast<uint64_t>(m_seed->value());
    sampler.samples = m_sampleCount->value();
    m_model.setSampler(sampler);   // the spin boxes hold soul::sampler_bounds
    for (const auto& [group, box] : m_streamToggles) m_model.setStreamOff(group, !box->isChecked());
    if (m_compareWith->count()) m_model.setComparisonDecoder(m_compareWith->currentData().toString().toStdString());
}

void WorkbenchPanel::settingsChanged() {
    syncModel();
    m_rerunTimer->start();
}

void WorkbenchPanel::rerun() {
    m_rerunTimer->stop();
    if (!m_runner->isOpen()) return;
    const auto request = m_model.nextRequest();
    if (!request) return;
    m_status->setText(tr("reconstructing ..."));
    m_model.started(m_runner->request(request->trial, request->settings, request->variants), *request);
}

void WorkbenchPanel::showFrame(int index) {
    const auto& frames = m_model.frames();
    if (index < 0 || index >= static_cast<int>(frames.size())) return;
    setImage(m_noisyLabel, toQImage(frames[static_cast<size_t>(index)].noisy), kImageSide);
    setImage(m_predictedLabel, toQImage(frames[static_cast<size_t>(index)].predicted), kImageSide);
    m_stepLabel->setText(tr("step %1 of %2").arg(index + 1).arg(frames.size()));
}

void WorkbenchPanel::showColumn(const Column& column, const soul::Reconstruction& r) {
    setImage(column.image, toQImage(r.samples.front()), kImageSide);
    setImage(column.lowLevel, toQImage(r.low_level), kPartSide);
    setImage(column.palette, toQImage(r.palette), kPartSide);
    setImage(column.edges, toQImage(r.edges), kPartSide);
    column.caption->setText(QString::fromStdString(r.caption).toHtmlEscaped());
}

void WorkbenchPanel::clearColumn(const Column& column, const QString& title) {
    column.title->setText(title);
    for (QLabel* label : {column.image, column.lowLevel, column.palette, column.edges}) label->clear();
    column.caption->clear();
}

QImage WorkbenchPanel::firstSample(const soul::Reconstruction& r) { return r.samples.empty() ? QImage() : toQImage(r.samples.front()); }

std::vector<QImage> WorkbenchPanel::sampleImages() const {
    std::vector<QImage> images;
    const auto& samples = m_model.result().samples;
    if (samples.size() > 1)
        for (const auto& sample : samples) images.push_back(toQImage(sample));
    return images;
}

void WorkbenchPanel::showResult(int request, const soul::Reconstruction& r) {
    const bool firstComparison = m_model.comparison().samples.empty();
    if (!m_model.acceptResult(request, r)) return;
    showColumn(m_main, r);
    m_samplesRow->setVisible(r.samples.size() > 1);
    for (size_t k = 0; k < m_sampleLabels.size(); ++k) {
        const bool shown = r.samples.size() > 1 && k < r.samples.size();
        m_sampleLabels[k]->setVisible(shown);
        if (shown) setImage(m_sampleLabels[k], toQImage(r.samples[k]), kSampleSide);
    }
    if (m_model.ablation().samples.empty()) clearColumn(m_ablated, tr("<b>streams off:</b> none (switch one off below)"));
    const bool fitting = firstComparison && m_model.comparisonDecoder() == "baseline" && m_runner->engine()->baseline_name() == "ridge regression";
    m_status->setText(tr("reconstructed in %1 s%2")
                          .arg(r.seconds, 0, 'f', 2)
                          .arg(fitting ? tr("; fitting the ridge baseline on the training rows (once per session) ...") : QString()));
    Q_EMIT reconstructionShown(r.seconds);
}

void WorkbenchPanel::showVariant(int request, int index, const soul::Reconstruction& r) {
    switch (m_model.acceptVariant(request, index, r)) {
    case WorkbenchModel::Column::None:
        return;
    case WorkbenchModel::Column::Ablation:
        showColumn(m_ablated, r);
        m_ablated.title->setText(tr("<b>streams off:</b> %1").arg(joined(m_model.streamsOff())));
        break;
    case WorkbenchModel::Column::Comparison:
        showColumn(m_baselineColumn, r);
        m_baselineColumn.title->setText(
            (m_model.comparisonDecoder() == "baseline" ? tr("<b>baseline:</b> %1") : tr("<b>compared:</b> %1")).arg(QString::fromStdString(r.decoder)));
        break;
    }
    if (m_model.comparisonComplete()) {
        m_status->setText(tr("reconstructed; the comparison columns are up to date"));
        Q_EMIT comparisonShown();
    }
}

void WorkbenchPanel::requestContributions() {
    if (!m_model.hasTrial() || !m_runner->isOpen()) return;
    m_status->setText(tr("computing stream contributions (ablations, integrated gradients) ..."));
    m_contributionsRequest = m_runner->requestContributions(m_model.trial(), settings());
    m_contributionsProgress->setRange(0, 0);   // busy until the first step is known
    m_contributionsProgress->setFormat(tr("starting"));
    showContributionsRunning(true);
}

void WorkbenchPanel::showContributionsRunning(bool running) {
    m_contributionsProgress->setVisible(running);
    m_contributionsCancel->setVisible(running);
    m_contributionsButton->setEnabled(!running);
}

void WorkbenchPanel::showContributions() {
    const std::string output = m_output->currentText().toStdString();
    const auto shares = m_contributions.attribution.find(output);
    if (shares == m_contributions.attribution.end()) return;
    auto draw = [&](QCustomPlot* plot, const std::function<double(const std::string&)>& value) {
        auto* bars = qobject_cast<QCPBars*>(plot->plottable(0));
        QVector<double> keys, values;
        double top = 0;
        for (int i = 0; i < static_cast<int>(std::size(soul::nsd::kStreamGroups)); ++i) {
            keys << i;
            values << value(soul::nsd::kStreamGroups[i]);
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
    showGroundTruth(output);
    const auto volume = m_contributions.volumes.find(output);
    if (volume != m_contributions.volumes.end()) Q_EMIT attributionVolume(volume->second, QString::fromStdString(output));
}

void WorkbenchPanel::showGroundTruth(const std::string& output) {
    m_attributionMap->clear();
    m_truthMap->clear();
    m_truthOverlay->setEnabled(false);
    const auto volume = m_contributions.volumes.find(output);
    if (!m_tuning) {
        m_truthShare->setText(tr("Ground truth is known for the phantom subject only; this dataset was not prepared from one."));
        return;
    }
    if (volume == m_contributions.volumes.end() || !m_tuning->covers(output)) {
        m_truthShare->setText(tr("The phantom's ground truth does not say which voxels carry '%1'.").arg(QString::fromStdString(output)));
        return;
    }
    try {
        auto show = [](QLabel* label, const soul::RgbImage& image) {
            const QImage q = toQImage(image);
            label->setPixmap(QPixmap::fromImage(q.scaled(q.size() * kMapScale, Qt::IgnoreAspectRatio, Qt::FastTransformation)));
        };
        show(m_attributionMap, m_tuning->attributionProjection(volume->second));
        show(m_truthMap, m_tuning->truthProjection(output));
        m_truthOverlay->setEnabled(true);
        const auto [inside, base] = m_tuning->share(output, volume->second);
        m_truthShare->setText(tr("<b>%1 %</b> of the attribution for <i>%2</i> falls on the %3, which are %4 % of the visual voxels "
                                 "(a model blind to the streams would put about %4 % there).")
                                  .arg(100 * inside, 0, 'f', 0)
                                  .arg(QString::fromStdString(output), QString::fromStdString(m_tuning->description(output)))
                                  .arg(100 * base, 0, 'f', 0));
    } catch (...) {
        m_truthShare->setText(currentErrorMessage());
    }
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
        const soul::ViewDescription view = m_model.viewDescription(kind.toStdString(), scale);
        if (kind == "dissociation") {
            // The trial on screen with each pathway off: the engine's own export, on a worker with
            // its own engine, so the workbench's stays free and the window live.
            const ProgressJobResult job = runWithProgress(this, tr("Dissociation figure"), tr("Reconstructing the trial with each pathway off"),
                                                          "dissociationProgress", [&view, &file](const soul::Progress& progress) {
                                                              soul::export_figure(view, file.toStdString(), progress);
                                                          });
            if (job.cancelled) return fail(tr("cancelled"));
            if (!job.error.isEmpty()) return fail(job.error);
            soul::write_view_description(view, (file + ".view.json").toStdString());
            return true;
        }
        if (kind != "comparison" && kind != "denoising") return fail(tr("unknown figure '%1' (comparison, denoising, dissociation, chart)").arg(kind));
        const soul::RgbImage figure = m_model.figure(kind.toStdString(), scale);
        soul::write_png(file.toStdString(), figure);
        soul::write_view_description(view, (file + ".view.json").toStdString());
        return true;
    } catch (...) {
        return fail(currentErrorMessage());
    }
}

void WorkbenchPanel::setImage(QLabel* label, const QImage& image, int side) {
    label->setPixmap(QPixmap::fromImage(image.scaled(side, side, Qt::IgnoreAspectRatio, Qt::FastTransformation)));
}

}  // namespace soului
