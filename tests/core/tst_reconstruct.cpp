// From brain to image with the shipped model (models/phantom-small) on the default phantom subject:
// it loads and reconstructs held-out trials above set bars; a trial looks the same alone or in a
// batch; the stream contributions agree with the phantom's ground truth (colour and edges early,
// position dorsal, the caption ventral); `reconstruct` writes every file a user expects;
// `evaluate` writes its tables and figure; cancelling stops; bad input is refused with the file or
// setting named and nothing written.
#include "ExpectError.h"
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "soul/error.h"
#include "soul/figure.h"
#include "soul/phantom.h"
#include "soul/prepare.h"
#include "soul/reconstruct.h"
#include "soul/sampler.h"
#include "soul/volume.h"
#include "eval/dissociation.h"
#include "train/encoder_run.h"

#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using soultest::expectError;
using json = nlohmann::json;

namespace {

const std::string kModel = SOUL_MODEL_DIR;
// The shipped judge's category accuracy on the 100 true test stimuli must reach issue 16's bar:
// measured 0.86 (0.881 on 1 000 validation scenes; docs/generator.md).
constexpr double kJudgeAccuracyBar = 0.80;

// Pearson correlation of all pixel values of two images (PixCorr).
double pixcorr(const soul::RgbImage& a, const soul::RgbImage& b) {
    const size_t n = a.pixels.size();
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) {
        ma += a.pixels[i];
        mb += b.pixels[i];
    }
    ma /= static_cast<double>(n);
    mb /= static_cast<double>(n);
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; ++i) {
        const double x = a.pixels[i] - ma, y = b.pixels[i] - mb;
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    return ab / std::sqrt(std::max(aa * bb, 1e-12));
}

double pixel_sd(const soul::RgbImage& a) {
    double m = 0, s = 0;
    for (uint8_t p : a.pixels) m += p;
    m /= static_cast<double>(a.pixels.size());
    for (uint8_t p : a.pixels) s += (p - m) * (p - m);
    return std::sqrt(s / static_cast<double>(a.pixels.size()));
}

bool empty_folder(const std::string& path) { return !fs::exists(path) || fs::is_empty(path); }

// `evaluate` of the shipped model on the first `limit` test images, with few steps (a test's time).
soul::EvaluateOptions evaluation(const std::string& data, const std::string& out, int64_t limit, int64_t steps, int64_t figure_rows) {
    soul::EvaluateOptions o;
    o.run = kModel;
    o.data = data;
    o.out = out;
    o.limit = limit;
    o.sampler.steps = steps;
    o.figure_rows = figure_rows;
    return o;
}

}  // namespace

class TestReconstruct : public QObject {
    Q_OBJECT
    std::string m_dir, m_data;
    std::unique_ptr<soul::ReconstructionEngine> m_engine;

    // Reconstructs test trials 0–19 and checks they resemble their stimuli: mean PixCorr above
    // 0.3 and pixel 2-way identification above 0.8 (chance 0.5).
    void reconstructsAboveBars(const soul::ReconstructionSettings& s, const char* what) {
        std::vector<soul::TrialRef> trials;
        for (int64_t r = 0; r < 20; ++r) trials.push_back({soul::Split::Test, r});
        const auto results = m_engine->reconstruct(trials, s);
        QCOMPARE(results.size(), trials.size());
        double mean_r = 0;
        int64_t wins = 0, pairs = 0;
        for (size_t i = 0; i < results.size(); ++i) {
            const auto& r = results[i];
            QCOMPARE(r.samples.size(), size_t{1});
            QCOMPARE(r.samples[0].width, r.stimulus.width);
            QVERIFY2(pixel_sd(r.samples[0]) > 10, "a reconstruction is blank");
            QVERIFY(r.samples[0].pixels != r.stimulus.pixels);
            QVERIFY(!r.caption.empty());
            QCOMPARE(r.palette.width, int64_t{8});
            const double own = pixcorr(r.samples[0], r.stimulus);
            mean_r += own / static_cast<double>(results.size());
            for (size_t j = 0; j < results.size(); ++j)
                if (j != i) {
                    wins += own > pixcorr(r.samples[0], results[j].stimulus);
                    ++pairs;
                }
        }
        const double two_way = static_cast<double>(wins) / static_cast<double>(pairs);
        qInfo("%s, 20 test trials: PixCorr %.3f, pixel 2-way %.3f", what, mean_r, two_way);
        QVERIFY2(mean_r > 0.3, "reconstructions do not resemble the stimuli (mean PixCorr)");
        QVERIFY2(two_way > 0.8, "reconstructions do not identify their stimuli (pixel 2-way, chance 0.5)");
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = soultest::tempFolder("reconstruct");
        qputenv("XDG_CACHE_HOME", QByteArray::fromStdString(m_dir + "/cache"));   // the ridge kernel's cache, this suite's own
        m_data = soultest::prepared_default_phantom(m_dir);   // as the shipped model's card says
        // No plugin folders: the registry is the built-in decoders only, whatever the user installed.
        m_engine = std::make_unique<soul::ReconstructionEngine>(kModel, m_data, "cpu", std::vector<std::string>{});
    }

    void shippedModelReconstructsAboveBars() {
        reconstructsAboveBars(soul::ReconstructionSettings{}, "shipped model");
    }

    // The studio's baseline column: the shipped model has no flattened MLP, so ridge regression
    // is fitted on the training rows and feeds the same generator.
    void theRidgeBaselineReconstructsAboveBars() {
        QCOMPARE(m_engine->baseline_name(), std::string("ridge regression"));
        soul::ReconstructionSettings s;
        s.decoder = "baseline";
        reconstructsAboveBars(s, "ridge baseline");
        const auto one = m_engine->reconstruct({{soul::Split::Test, 0}}, s);
        QCOMPARE(one[0].decoder, std::string("ridge regression"));
        QVERIFY(one[0].samples[0].pixels != m_engine->reconstruct({{soul::Split::Test, 0}}, {})[0].samples[0].pixels);
        // The registry by name: "ridge" is what "baseline" chose; "mlp" is refused by a run without
        // it, naming the decoders it has.
        s.decoder = "ridge";
        const auto ridge = m_engine->reconstruct({{soul::Split::Test, 0}}, s);
        QCOMPARE(ridge[0].decoder, std::string("ridge regression"));
        QVERIFY(ridge[0].samples[0].pixels == one[0].samples[0].pixels);
        s.decoder = "mlp";
        expectError([&] { m_engine->reconstruct({{soul::Split::Test, 0}}, s); }, "--decoder 'mlp' is not a decoder of this run (it has: souldiffuser, ridge, baseline)");
    }

    // Ridge's training kernel is kept in the user's cache folder: a second open of the same run and
    // dataset reads it and reconstructs the same pixels; a damaged cache file is made again.
    void theRidgeKernelIsCachedAcrossOpens() {
        soul::ReconstructionSettings s;
        s.decoder = "ridge";
        s.sampler.steps = 10;
        const auto first = m_engine->reconstruct({{soul::Split::Test, 5}}, s);
        std::vector<fs::path> cached;
        for (const auto& entry : fs::directory_iterator(m_dir + "/cache/souldiffuser"))
            if (entry.path().filename().string().rfind("ridge-kernel-", 0) == 0) cached.push_back(entry.path());
        QCOMPARE(cached.size(), size_t(1));
        const auto size = fs::file_size(cached[0]);
        QVERIFY(size > 2700 * 2700 * 8);   // the (N, N) kernel in double
        const auto again = soul::ReconstructionEngine(kModel, m_data, "cpu", {}).reconstruct({{soul::Split::Test, 5}}, s);
        QVERIFY(again[0].samples[0].pixels == first[0].samples[0].pixels);
        std::ofstream(cached[0], std::ios::trunc) << "not a tensor";
        const auto remade = soul::ReconstructionEngine(kModel, m_data, "cpu", {}).reconstruct({{soul::Split::Test, 5}}, s);
        QVERIFY(remade[0].samples[0].pixels == first[0].samples[0].pixels);
        QCOMPARE(fs::file_size(cached[0]), size);
    }

    void aTrialIsTheSameAloneOrInABatch() {
        soul::ReconstructionSettings s;
        s.sampler.samples = 2;
        const auto batch = m_engine->reconstruct({{soul::Split::Test, 2}, {soul::Split::Test, 3}, {soul::Split::Test, 4}}, s);
        const auto alone = m_engine->reconstruct({{soul::Split::Test, 3}}, s);
        QCOMPARE(alone[0].caption, batch[1].caption);
        int worst = 0;
        for (size_t k = 0; k < 2; ++k)
            for (size_t p = 0; p < alone[0].samples[k].pixels.size(); ++p)
                worst = std::max(worst, std::abs(int(alone[0].samples[k].pixels[p]) - int(batch[1].samples[k].pixels[p])));
        QVERIFY2(worst <= 2, ("trial 3 alone differs from trial 3 in a batch by " + std::to_string(worst)).c_str());
        QVERIFY(alone[0].samples[0].pixels != alone[0].samples[1].pixels);   // two samples, two noises
        s.ablate = {"early"};
        const auto ablated = m_engine->reconstruct({{soul::Split::Test, 3}}, s);
        QVERIFY2(pixcorr(ablated[0].samples[0], alone[0].samples[0]) < 0.98, "setting the early stream to its mean changed nothing");
    }

    void contributionsAgreeWithPhantomGroundTruth() {
        constexpr int kTrials = 8;
        std::map<std::string, std::map<std::string, double>> share, ablation;
        soul::StreamContributions last;
        for (int r = 0; r < kTrials; ++r) {
            last = m_engine->contributions({soul::Split::Test, r}, soul::ReconstructionSettings{});
            for (const auto& [output, streams] : last.attribution)
                for (const auto& [stream, v] : streams) share[output][stream] += v / kTrials;
            for (const auto& [stream, outputs] : last.ablation)
                for (const auto& [output, v] : outputs) ablation[output][stream] += v / kTrials;
            for (const auto& [output, gap] : last.completeness)
                QVERIFY2(std::abs(gap.first - gap.second) <= 0.05 * std::abs(gap.first) + 1e-4,
                         ("integrated gradients are not complete for " + output).c_str());
        }
        for (const auto& [output, streams] : share)
            qInfo("%-16s early %.2f  ventral-all %.2f  lateral-all %.2f  dorsal %.2f", output.c_str(), streams.at("early"), streams.at("ventral-all"),
                  streams.at("lateral-all"), streams.at("dorsal"));
        // Colour and edges: early visual cortex (the phantom's pRFs over colour and edge energy).
        QVERIFY(share["palette"]["early"] > 0.5);
        QVERIFY(share["edges"]["early"] > 0.5);
        QVERIFY(ablation["palette"]["early"] > 3 * ablation["palette"]["ventral-all"]);
        // Position: the dorsal stream (the phantom's parietal voxels are tuned to object position).
        QVERIFY(share["position"]["dorsal"] > 0.4);
        QVERIFY(share["position"]["dorsal"] > 2 * share["position"]["ventral-all"]);
        QVERIFY(share["position"]["dorsal"] > 2 * share["position"]["early"]);
        QVERIFY(ablation["position"]["dorsal"] > 3 * std::max(ablation["position"]["early"], ablation["position"]["ventral-all"]));
        // The caption: SemBERT reads the ventral streams only, so nothing else may carry it.
        QVERIFY(share["caption"]["ventral-all"] > 0.999);
        QVERIFY(ablation["caption"]["ventral-all"] > 0.05);
        QVERIFY(std::abs(ablation["caption"]["dorsal"]) < 1e-6);

        // The attribution volume: the subject's original grid, non-zero only inside the mask.
        const std::string folder = m_dir + "/contributions";
        soul::write_contributions(last, folder);
        const soul::Volume v = soul::read_nifti(folder + "/attribution-position.nii.gz");
        const auto& manifest = m_engine->dataset().manifest();
        QCOMPARE(v.dims, manifest.source_dims);
        int64_t nonzero = 0;
        for (float x : v.voxels) nonzero += x != 0.0f;
        QVERIFY(nonzero > m_engine->dataset().voxels() / 2);
        QVERIFY(nonzero <= m_engine->dataset().voxels());
        const json j = json::parse(std::ifstream(folder + "/contributions.json"));
        QVERIFY(j.at("attribution_share").contains("position"));
        QVERIFY(fs::exists(folder + "/contributions.csv"));
    }

    void reconstructWritesEveryFile() {
        soul::ReconstructOptions o;
        o.run = kModel;
        o.data = m_data;
        o.out = m_dir + "/reconstruct";
        o.trials = "0,5-6";
        o.settings.sampler.steps = 8;
        o.settings.previews = true;
        const auto folders = soul::reconstruct_trials(o);
        QCOMPARE(folders.size(), size_t{3});
        const fs::path trial = fs::path(o.out) / "trial-test-0005";
        for (const char* file : {"reconstruction-0.png", "stimulus.png", "low-level.png", "palette.png", "edges.png", "caption.txt", "settings.json"})
            QVERIFY2(fs::exists(trial / file), file);
        const json settings = json::parse(std::ifstream(trial / "settings.json"));
        QCOMPARE(settings.at("steps").get<int>(), 8);
        QCOMPARE(settings.at("row").get<int>(), 5);
        QVERIFY(!settings.at("caption").get<std::string>().empty());
        int previews = 0;
        for (const auto& e : fs::directory_iterator(trial / "previews")) previews += e.path().filename().string().find("predicted") != std::string::npos;
        QCOMPARE(previews, 6);   // 8 steps at strength 0.75
    }

    void evaluateWritesTablesAndFigure() {
        const soul::EvaluateOptions o = evaluation(m_data, m_dir + "/evaluation", 6, 6, 3);
        const std::string md = soul::evaluate_reconstructions(o);
        for (const char* row : {"SoulDiffuser", "ridge regression", "no caption", "no img2img start", "dorsal voxels at training mean", "oracle"})
            QVERIFY2(md.find(row) != std::string::npos, row);
        const json j = json::parse(std::ifstream(o.out + "/report.json"));
        QVERIFY(j["rows"][0]["pixcorr"].get<double>() > 0.9999);   // the stimulus against itself
        QVERIFY(j.at("conditions").size() >= 2);
        const soul::RgbImage figure = soul::read_rgb_image(o.out + "/comparison.png");
        QCOMPARE(figure.height, int64_t{3 * 128 + 4 * 4});
        QVERIFY(fs::exists(o.out + "/report.csv"));
        // The double dissociation: every pathway off, in the images and in the conditions, each
        // cell with the phantom's prediction; its figure has a column per pathway and the stimulus.
        QVERIFY(md.find("## The double dissociation") != std::string::npos);
        const json& dissociation = j.at("dissociation");
        QVERIFY(dissociation.at("ground_truth").get<bool>());
        QCOMPARE(dissociation.at("rows").size(), size_t{12});   // none, early, ventral-all, lateral-all, dorsal, both; × 2 parts
        for (const json& row : dissociation.at("rows")) {
            if (row.at("pathway_off") == "none") continue;
            QVERIFY(row.at("predicted").contains("category") && row.at("predicted").contains("edge_r"));
            if (row.at("pathway_off") == "early") QCOMPARE(row["predicted"]["category"].get<std::string>(), std::string("kept"));
            if (row.at("pathway_off") == "ventral-all + lateral-all") QCOMPARE(row["predicted"]["category"].get<std::string>(), std::string("lost"));
            if (row.at("part") == "images") QVERIFY(!row.at("position_error").is_null());   // the judge reads position
        }
        const soul::RgbImage dissociation_figure = soul::read_rgb_image(o.out + "/dissociation.png");
        QCOMPARE(dissociation_figure.width, int64_t{7 * 128 + 8 * 4});
    }

    // The judge that scores category and position is trained on stimuli only (never a test image's
    // garment) and must be trustworthy on the true test stimuli before it judges reconstructions.
    void theJudgeIsTrustedOnTheTrueStimuli() {
        soul::train::LoadedRun run = soul::train::load_run(kModel, m_data, torch::kCPU);
        QVERIFY(std::count(run.trained.begin(), run.trained.end(), "classifier") == 1);
        torch::NoGradGuard no_grad;
        auto& d = run.data;
        const soul::model::JudgeOutput out = run.models.classifier->judge(d.gen_images.index_select(0, d.test_image));
        const double accuracy = (out.logits.argmax(1) == d.category.index_select(0, d.test_image)).to(torch::kFloat).mean().item<double>();
        const double position_error = (out.position - d.position.index_select(0, d.test_image)).norm(2, 1).mean().item<double>();
        qInfo("the judge on the %lld true test stimuli: category %.3f, position error %.3f", static_cast<long long>(d.test_image.size(0)),
              accuracy, position_error);
        QVERIFY2(accuracy > kJudgeAccuracyBar, "the judge does not recognise the true stimuli");
        QVERIFY2(position_error < 0.15, "the judge does not locate the objects in the true stimuli");
    }

    // The verdicts of the dissociation table on scores whose answer is known.
    void dissociationVerdicts() {
        using soul::eval::dissociation_verdict;
        const torch::Tensor none = torch::cat({torch::ones({80}), torch::zeros({20})});   // 0.8 correct
        const torch::Tensor same = none.clone();
        const torch::Tensor chance = torch::cat({torch::ones({10}), torch::zeros({90})});
        const torch::Tensor half = torch::cat({torch::ones({45}), torch::zeros({55})});
        QVERIFY(dissociation_verdict("kept", none, same, 0.1, true).held);
        QVERIFY(!dissociation_verdict("kept", none, chance, 0.1, true).held);
        QVERIFY(dissociation_verdict("lowered", none, half, 0.1, true).held);
        QVERIFY(!dissociation_verdict("lowered", none, same, 0.1, true).held);
        QVERIFY(dissociation_verdict("lost", none, chance, 0.1, true).held);
        QVERIFY(!dissociation_verdict("lost", none, half, 0.1, true).held);   // half of the way left
        QVERIFY(dissociation_verdict("may lower", none, half, 0.1, true).held);
        QVERIFY(dissociation_verdict("may lower", none, same, 0.1, true).held);
        // Lower is better (an error): a rise is the loss.
        const torch::Tensor error = torch::full({100}, 0.1) + 0.01 * torch::arange(100) / 100.0;
        QVERIFY(dissociation_verdict("lowered", error, error + 0.3, 0.6, false).held);
        QVERIFY(dissociation_verdict("kept", error, error, 0.6, false).held);
        // With every stream on at chance, nothing can be lost: untestable, not held.
        const auto at_floor = dissociation_verdict("lost", chance, chance, 0.1, true);
        QVERIFY(!at_floor.testable && !at_floor.held);
        QCOMPARE(soul::eval::dissociation_prediction(0.0), std::string("kept"));
        QCOMPARE(soul::eval::dissociation_prediction(0.3), std::string("may lower"));
        QCOMPARE(soul::eval::dissociation_prediction(0.6), std::string("lowered"));
        QCOMPARE(soul::eval::dissociation_prediction(1.0), std::string("lost"));
    }

    // The validation split holds whole images out of training (all their trials), averaged like
    // the test images; the caption bank then has none of their captions.
    void validationSplitHoldsOutWholeImages() {
        const soul::PreparedDataset dataset(m_data);
        const auto tokenizer = soul::model::CaptionTokenizer::fit(soul::train::training_captions(dataset));
        soul::model::EncoderConfig config;
        config.validation_fraction = 0.1;
        const soul::train::TrainData t = soul::train::load_train_data(m_data, config, tokenizer, torch::kCPU);
        const int64_t n_train = dataset.size(soul::Split::Train), held = t.validation_image.size(0);
        std::set<int64_t> images;
        for (int64_t r = 0; r < n_train; ++r) images.insert(dataset.image_of(soul::Split::Train, r));
        const double fraction = static_cast<double>(held) / static_cast<double>(images.size());
        qInfo("validation split: %lld of %zu training images (%.3f)", static_cast<long long>(held), images.size(), fraction);
        QVERIFY2(fraction > 0.06 && fraction < 0.14, "about a tenth of the training images is held out");
        std::set<int64_t> validation;
        for (int64_t i = 0; i < held; ++i) validation.insert(t.validation_image[i].item<int64_t>());
        int64_t rows_held = 0;
        torch::Tensor sum = torch::zeros({dataset.voxels()});
        const int64_t first = t.validation_image[0].item<int64_t>();
        int64_t first_rows = 0;
        for (int64_t r = 0; r < n_train; ++r) {
            const int64_t image = dataset.image_of(soul::Split::Train, r);
            rows_held += validation.count(image);
            if (image == first) {
                sum += torch::from_blob(const_cast<float*>(dataset.betas(soul::Split::Train, r)), {dataset.voxels()});
                ++first_rows;
            }
        }
        QCOMPARE(t.train_betas.size(0), n_train - rows_held);
        for (int64_t r = 0; r < t.train_image.size(0); ++r) QVERIFY(!validation.count(t.train_image[r].item<int64_t>()));
        QVERIFY(torch::allclose(t.validation_betas[0], sum / static_cast<double>(first_rows), 1e-5, 1e-5));
        std::vector<int32_t> bank_images;
        soul::train::training_captions(t, &bank_images);
        for (int32_t image : bank_images) QVERIFY(!validation.count(image));
        // The shipped model was trained on every training image: it has no validation split.
        soul::EvaluateOptions o;
        o.run = kModel;
        o.data = m_data;
        o.split = "validation";
        o.out = m_dir + "/no-validation";
        expectError([&] { soul::evaluate_reconstructions(o); }, "has no validation split");
        QVERIFY(empty_folder(o.out));
    }

    // A dataset without ground truth (NSD, generic): the same tables without predictions, and
    // saying why. Made here as the default subject's preparation with its phantom out of reach.
    void dissociationWithoutGroundTruth() {
        const std::string copy = m_dir + "/prepared-without-ground-truth";
        fs::create_directories(copy);
        for (const char* file : {"captions.json", "data.bin"}) fs::create_symlink(fs::absolute(m_data + "/" + file), copy + "/" + file);
        json manifest = json::parse(std::ifstream(m_data + "/manifest.json"));
        manifest["source"]["nsd_root"] = m_dir + "/nowhere";
        std::ofstream(copy + "/manifest.json") << manifest.dump(2);
        const soul::EvaluateOptions o = evaluation(copy, m_dir + "/evaluation-without-ground-truth", 3, 2, 2);
        const std::string md = soul::evaluate_reconstructions(o);
        const std::string table = md.substr(md.find("## The double dissociation"));
        QVERIFY2(table.find("no ground truth") != std::string::npos, table.c_str());
        for (const char* prediction : {"kept", "lowered", "lost", "✓", "✗"}) QVERIFY2(table.find(prediction) == std::string::npos, prediction);
        const json j = json::parse(std::ifstream(o.out + "/report.json"));
        QVERIFY(!j["dissociation"]["ground_truth"].get<bool>());
        QVERIFY(j["dissociation"]["rows"][0]["category"].is_null());
        QVERIFY(fs::exists(o.out + "/dissociation.png"));
    }

    // One check, one JSON form: every setting survives a view description's round trip (the
    // decoder and the condition switches included), and each bound is refused by name, NaN too.
    void samplerSettingsOneCheckOneJsonForm() {
        soul::ViewDescription view;
        view.run = "run";
        view.trials = {{soul::Split::Test, 3}};
        soul::SamplerSettings& s = view.settings.sampler;
        s.steps = 17;
        s.cfg = 4.5;
        s.eta = 0.25;
        s.strength = 0.6;
        s.w_color = 1.5;
        s.w_edge = 0.5;
        s.seed = 12345;
        s.samples = 3;
        s.use_caption = false;
        s.use_edges = false;
        view.settings.decoder = "baseline";
        view.settings.ablate = {"dorsal", "early"};
        const std::string path = m_dir + "/round-trip.view.json";
        soul::write_view_description(view, path);
        const soul::ViewDescription back = soul::read_view_description(path);
        const soul::SamplerSettings& b = back.settings.sampler;
        QCOMPARE(b.steps, s.steps);
        QCOMPARE(b.cfg, s.cfg);
        QCOMPARE(b.eta, s.eta);
        QCOMPARE(b.strength, s.strength);
        QCOMPARE(b.w_color, s.w_color);
        QCOMPARE(b.w_edge, s.w_edge);
        QCOMPARE(b.seed, s.seed);
        QCOMPARE(b.samples, s.samples);
        QVERIFY(!b.use_caption && b.use_palette && !b.use_edges && b.use_init);
        QCOMPARE(back.settings.decoder, std::string("baseline"));
        QCOMPARE(back.settings.ablate, view.settings.ablate);

        soul::validate(soul::SamplerSettings{}, "test");   // the defaults pass
        auto refused = [&](void (*change)(soul::SamplerSettings&), const std::string& option) {
            soul::SamplerSettings bad;
            change(bad);
            expectError([&] { soul::validate(bad, "test"); }, "test: " + option + " must be in [");
        };
        refused([](soul::SamplerSettings& x) { x.steps = 0; }, "--steps");
        refused([](soul::SamplerSettings& x) { x.steps = soul::sampler_bounds::kMaxSteps + 1; }, "--steps");
        refused([](soul::SamplerSettings& x) { x.cfg = std::nan(""); }, "--cfg");
        refused([](soul::SamplerSettings& x) { x.eta = -0.1; }, "--eta");
        refused([](soul::SamplerSettings& x) { x.strength = std::nan(""); }, "--strength");
        refused([](soul::SamplerSettings& x) { x.w_color = HUGE_VAL; }, "--w-color");
        refused([](soul::SamplerSettings& x) { x.w_edge = -1; }, "--w-edge");
        refused([](soul::SamplerSettings& x) { x.samples = soul::sampler_bounds::kMaxSamples + 1; }, "--samples");
        refused([](soul::SamplerSettings& x) { x.seed = soul::sampler_bounds::kMaxSeed + 1; }, "--seed");

        // A view description with a setting of the wrong type or out of range names the file and the key.
        const std::string wrong_type = m_dir + "/wrong-type.view.json", out_of_range = m_dir + "/out-of-range.view.json";
        std::ofstream(wrong_type) << R"({"run": "r", "trials": [{"row": 0}], "settings": {"cfg": "high"}})";
        expectError([&] { soul::read_view_description(wrong_type); }, wrong_type + ": settings: 'cfg' has the wrong type");
        std::ofstream(out_of_range) << R"({"run": "r", "trials": [{"row": 0}], "settings": {"steps": 0}})";
        expectError([&] { soul::read_view_description(out_of_range); }, "--steps must be in [1, 1000], not 0");
    }

    void cancellingStops() {
        soul::CancelToken token;
        soul::Progress progress;
        progress.cancel = &token;
        int reports = 0;
        progress.report = [&](int64_t, int64_t, const std::string&) {
            if (++reports == 2) token.cancel();
        };
        bool cancelled = false;
        try {
            m_engine->reconstruct({{soul::Split::Test, 0}}, soul::ReconstructionSettings{}, progress);
        } catch (const soul::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QVERIFY(reports <= 3);
    }

    void badInputIsRefused() {
        const std::string out = m_dir + "/refused";
        soul::ReconstructOptions o;
        o.run = kModel;
        o.data = m_data;
        o.out = out;
        auto run = [&](soul::ReconstructOptions options) { return [options] { soul::reconstruct_trials(options); }; };
        o.trials = "7-2";
        expectError(run(o), "7-2");
        o.trials = "abc";
        expectError(run(o), "abc");
        o.trials = "100";
        expectError(run(o), "row 100");
        o.trials = "0";
        o.settings.ablate = {"frontal"};
        expectError(run(o), "frontal");
        o.settings.ablate = {};
        o.settings.sampler.steps = 0;
        expectError(run(o), "--steps");
        o.settings.sampler.steps = 25;
        o.settings.decoder = "mlp";
        expectError(run(o), "--decoder");
        o.settings.decoder = "souldiffuser";
        // Another dataset: the same subject's first three sessions have other splits.
        soul::PrepareOptions one;
        one.nsd_root = m_dir + "/phantom";
        one.out = m_dir + "/prepared-three-sessions";
        one.image_size = 64;
        one.first_session = 1;
        one.last_session = 3;
        soul::prepare_dataset(one);
        o.data = one.out;
        expectError(run(o), "is not the dataset");
        o.data = m_data;
        // A damaged model: a truncated UNet, and a model without its UNet.
        const std::string broken = m_dir + "/broken-model";
        fs::copy(kModel, broken, fs::copy_options::recursive);
        fs::resize_file(broken + "/unet.pt", fs::file_size(broken + "/unet.pt") / 2);
        o.run = broken;
        expectError(run(o), "unet.pt");
        json info = json::parse(std::ifstream(broken + "/run.json"));
        info["stages"].erase("unet");
        std::ofstream(broken + "/run.json") << info.dump();
        expectError(run(o), "unet");
        // A vocabulary that is not one, and a config that is not an object: each file named.
        const std::string damaged = m_dir + "/damaged-model";
        fs::copy(kModel, damaged, fs::copy_options::recursive);
        std::ofstream(damaged + "/vocab.json") << "[1, 2]";
        o.run = damaged;
        expectError(run(o), "vocab.json: word 0 is 1, not text");
        fs::copy_file(std::string(kModel) + "/vocab.json", damaged + "/vocab.json", fs::copy_options::overwrite_existing);
        info = json::parse(std::ifstream(damaged + "/run.json"));
        info["config"] = "x";
        std::ofstream(damaged + "/run.json") << info.dump();
        expectError(run(o), "run.json: has a 'config' that is not a JSON object");
        // One flipped byte in a checkpoint: its checksum in run.json no longer matches.
        fs::copy_file(std::string(kModel) + "/run.json", damaged + "/run.json", fs::copy_options::overwrite_existing);
        {
            std::fstream file(damaged + "/ssmnet.pt", std::ios::binary | std::ios::in | std::ios::out);
            file.seekg(1000);
            const char byte = static_cast<char>(file.get() ^ 0x10);
            file.seekp(1000);
            file.put(byte);
        }
        expectError(run(o), "ssmnet.pt: is damaged: its checksum is crc32:");
        o.run = m_dir + "/no-such-model";
        expectError(run(o), "no-such-model");
        QVERIFY2(empty_folder(out), "a refused reconstruction wrote files");
    }

    void cleanupTestCase() {
        m_engine.reset();
        fs::remove_all(m_dir);
    }
};

QTEST_GUILESS_MAIN(TestReconstruct)
#include "tst_reconstruct.moc"
