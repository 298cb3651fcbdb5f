// The generator (design.md §2 box d): DDIM against DDPM on a Gaussian whose exact noise predictor
// is known, then a tiny generator trained on a tiny phantom — the VAE reconstructs held-out
// images, the losses fall, guidance 0 is the unconditional path, adapters at weight 0 change
// nothing, the step callback fires once per step with decodable previews, `generate` writes PNGs
// reproducibly, the oracle evaluation writes its report and figure, and bad input is refused.
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "model/diffusion.h"
#include "model/targets.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/generate.h"
#include "soul/phantom.h"
#include "soul/prepare.h"
#include "soul/train.h"
#include "infer/generator.h"

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace soul::train;
using namespace soul::infer;

namespace {

constexpr int64_t kGenSide = 32;   // the tiny generator's images (latents 8×8)

json tiny_config() {
    return {{"name", "tiny-generator"}, {"seed", 4}, {"image_size", 16}, {"embed_dim", 32}, {"batch_size", 32}, {"checkpoint_every", 50},
            {"text_width", 32}, {"text_layers", 1}, {"embedding", {{"epochs", 3}, {"lr", 0.003}}},
            {"gen_image_size", kGenSide}, {"vae_width", 16}, {"vae_extra_images", 200}, {"vae", {{"epochs", 40}, {"lr", 0.003}}},
            {"unet_width", 32}, {"unet_heads", 4}, {"unet_pooled_caption", 1}, {"unet_extra_images", 64}, {"unet_min_snr_gamma", 5}, {"unet", {{"epochs", 8}, {"lr", 0.001}}},
            {"adapters", {{"epochs", 2}, {"lr", 0.001}}}, {"classifier_width", 8}, {"classifier", {{"epochs", 25}, {"lr", 0.003}}}};
}

std::map<std::string, std::vector<double>> metric_of(const std::string& run, const std::string& key) {
    std::map<std::string, std::vector<double>> out;
    std::ifstream in(fs::path(run) / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
        const json j = json::parse(line);
        if (j.contains(key)) out[j["stage"]].push_back(j[key]);
    }
    return out;
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += v[i];
    return s / static_cast<double>(to - from);
}

double max_difference(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Data x0 ~ N(μ, s²): the exact noise predictor is E[ε | x_t] = √(1−ᾱ)(x_t − √ᾱ μ) / (ᾱ s² + 1 − ᾱ).
constexpr double kGaussianMean = 0.7, kGaussianSd = 0.3;
soul::model::NoisePredictor gaussian_noise_predictor(const soul::model::NoiseSchedule& schedule) {
    return [&schedule](const torch::Tensor& x, int64_t t) {
        const double ab = schedule.alpha_bar(t), s = kGaussianSd;
        return std::sqrt(1 - ab) * (x - std::sqrt(ab) * kGaussianMean) / (ab * s * s + 1 - ab);
    };
}

}  // namespace

class TestGenerator : public QObject {
    Q_OBJECT
    std::string m_dir, m_data, m_config, m_run;
    std::unique_ptr<LoadedRun> m_loaded;

    GenerationConditions test_conditions(int64_t n) {
        auto& d = m_loaded->data;
        const torch::Tensor images = d.test_image.narrow(0, 0, n);
        GenerationConditions c;
        c.tokens = d.captions.index_select(0, images).select(1, 0);
        c.palette = d.palettes.index_select(0, images);
        c.edges = d.edges.index_select(0, images);
        return c;
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = soultest::tempFolder("generator");
        QElapsedTimer clock;
        clock.start();
        m_data = soultest::prepared_phantom(m_dir, 1, 7, 32);
        qInfo("phantom and prepare %.1f s", clock.restart() / 1000.0);
        m_config = m_dir + "/tiny.json";
        std::ofstream(m_config) << tiny_config().dump(2);
        soul::TrainOptions t;
        t.data = m_data;
        t.config = m_config;
        t.out = m_run = m_dir + "/run";
        t.stages = {"embedding", "vae", "unet", "adapters", "classifier"};
        t.device = "cpu";
        const auto summary = soul::train_encoders(t);
        qInfo("training %.1f s", clock.restart() / 1000.0);
        QCOMPARE(summary.stages_trained.size(), size_t(5));
        m_loaded = std::make_unique<LoadedRun>(load_run(m_run, "", torch::kCPU));
    }
    void cleanupTestCase() {
        m_loaded.reset();
        fs::remove_all(m_dir);
    }

    void ddimAtEtaOneIsDdpmOnAGaussian() {
        const double mu = kGaussianMean, s = kGaussianSd;
        const soul::model::NoiseSchedule schedule(1000);
        const soul::model::NoisePredictor exact = gaussian_noise_predictor(schedule);
        torch::manual_seed(11);
        const torch::Tensor x_T = torch::randn({20000, 1, 1, 1}, torch::kDouble);
        torch::manual_seed(12);
        const torch::Tensor ddpm = soul::model::ddpm_sample(schedule, exact, x_T);
        torch::manual_seed(12);
        const torch::Tensor ddim = soul::model::ddim_sample(schedule, exact, x_T, {1000, 1.0, 1.0});
        // The same noise draws: the two samplers agree sample by sample, not only in distribution.
        QVERIFY2(max_difference(ddpm, ddim) < 1e-6, qPrintable(QString("max difference %1").arg(max_difference(ddpm, ddim))));
        QVERIFY(std::abs(ddpm.mean().item<double>() - mu) < 0.01);
        QVERIFY(std::abs(ddpm.std().item<double>() - s) < 0.01);
        // Deterministic DDIM with 50 steps lands near the same distribution (its few large steps
        // shrink the spread a little: 0.264 here, 0.279 with 100 steps).
        const torch::Tensor fast = soul::model::ddim_sample(schedule, exact, x_T, {50, 0.0, 1.0});
        QVERIFY(std::abs(fast.mean().item<double>() - mu) < 0.02);
        QVERIFY(std::abs(fast.std().item<double>() - s) < 0.05);
        // η = 1 with few steps is not η = 0: the test can tell the samplers apart.
        torch::manual_seed(12);
        QVERIFY(max_difference(soul::model::ddim_sample(schedule, exact, x_T, {50, 1.0, 1.0}), fast) > 0.05);
    }

    // Deterministic DDIM is Euler's method on the probability-flow ODE in σ = √((1 − ᾱ)/ᾱ) and
    // x̃ = x / √ᾱ (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative
    // Models", §3 and Algorithm 1 without churn; diffusers' EulerDiscreteScheduler): on the same
    // timesteps the two are one sampler, so `souldiffuser` ships one. Written here in σ-space from
    // the paper, on the Gaussian above.
    void ddimAtEtaZeroIsEulerInSigma() {
        const soul::model::NoiseSchedule schedule(1000);
        const soul::model::NoisePredictor exact = gaussian_noise_predictor(schedule);
        torch::manual_seed(13);
        const torch::Tensor x_T = torch::randn({4096, 1, 1, 1}, torch::kDouble);
        for (const int64_t steps : {5, 25}) {
            const std::vector<int64_t> ts = soul::model::ddim_timesteps(schedule.steps(), steps);
            auto sigma = [&](int64_t t) { return std::sqrt((1 - schedule.alpha_bar(t)) / schedule.alpha_bar(t)); };   // t = −1: 0
            torch::Tensor x = x_T / std::sqrt(schedule.alpha_bar(ts.front()));
            for (size_t i = 0; i < ts.size(); ++i) {
                const int64_t t = ts[i], next = i + 1 < ts.size() ? ts[i + 1] : -1;
                const torch::Tensor d = exact(x * std::sqrt(schedule.alpha_bar(t)), t);   // dx̃/dσ = ε̂
                x = x + (sigma(next) - sigma(t)) * d;
            }
            const torch::Tensor ddim = soul::model::ddim_sample(schedule, exact, x_T, {steps, 0.0, 1.0});
            QVERIFY2(max_difference(ddim, x) < 1e-9, qPrintable(QString("%1 steps: max difference %2").arg(steps).arg(max_difference(ddim, x))));
        }
    }

    // Min-SNR-γ (Hang et al. 2023 §3.4, ε-prediction): w_t = min(SNR_t, γ) / SNR_t. Checked against
    // SNR_t = ᾱ_t / (1 − ᾱ_t) from the schedule's own ᾱ: 1 at every step whose SNR is at most γ,
    // γ / SNR below the crossing, and rising monotonically with t.
    void minSnrWeightsFollowTheSchedule() {
        const soul::model::NoiseSchedule schedule(1000);
        constexpr double kGamma = 5.0;
        const torch::Tensor t = torch::arange(1000, torch::kLong);
        const torch::Tensor w = schedule.min_snr_weight(t, kGamma, torch::empty({0}, torch::kDouble)).flatten();
        QCOMPARE(w.size(0), int64_t(1000));
        int64_t crossing = -1;
        for (int64_t i = 0; i < 1000; ++i) {
            const double snr = schedule.alpha_bar(i) / (1 - schedule.alpha_bar(i));
            const double expected = std::min(snr, kGamma) / snr;
            QVERIFY2(std::abs(w[i].item<double>() - expected) < 1e-12, qPrintable(QString("t %1: %2 against %3").arg(i).arg(w[i].item<double>()).arg(expected)));
            if (crossing < 0 && snr <= kGamma) crossing = i;
            if (i > 0) QVERIFY(w[i].item<double>() >= w[i - 1].item<double>());
        }
        // Stable Diffusion's schedule crosses SNR 5 at t ≈ 147 of 1000: the other 85 % keep weight 1.
        QVERIFY2(crossing > 10 && crossing < 200, qPrintable(QString::number(crossing)));
        QVERIFY(w[0].item<double>() < 0.01);
        QCOMPARE(w[999].item<double>(), 1.0);
    }

    void vaeReconstructsHeldOutImages() {
        torch::NoGradGuard no_grad;
        auto& d = m_loaded->data;
        auto& vae = m_loaded->models.vae;
        const torch::Tensor test = d.gen_images.index_select(0, d.test_image);
        const double error = torch::mse_loss(vae->to_image(vae->to_latent(test)), test).item<double>();
        const torch::Tensor mean_image = d.gen_images.index_select(0, d.train_image).mean(0, true).expand_as(test);
        const double reference = torch::mse_loss(mean_image, test).item<double>();
        qInfo("VAE held-out MSE %.4f vs %.4f for the mean training image", error, reference);
        QVERIFY(error < 0.4 * reference);   // measured 0.26× (0.0138 vs 0.0541)
        QVERIFY(error < 0.025);
        QVERIFY(std::abs(vae->scale.item<double>() - 1.0) > 1e-3);   // the latent scale was measured
    }

    void lossesFall() {
        const auto losses = metric_of(m_run, "loss");
        for (const char* stage : {"vae", "unet"}) {
            const auto& l = losses.at(stage);
            QVERIFY(l.size() >= 40);
            const double first = mean(l, 0, 5), last = mean(l, l.size() - 10, l.size());
            qInfo("%s loss %.4f → %.4f", stage, first, last);
            QVERIFY2(last < 0.5 * first, stage);
        }
        // unet_min_snr_gamma: the weighted loss is optimised; the plain ε-MSE is logged beside it and falls too.
        const std::vector<double> eps = metric_of(m_run, "eps_mse").at("unet");
        QCOMPARE(eps.size(), losses.at("unet").size());
        const double eps_first = mean(eps, 0, 5), eps_last = mean(eps, eps.size() - 10, eps.size());
        qInfo("unet ε-MSE %.4f → %.4f", eps_first, eps_last);
        QVERIFY(eps_last < 0.5 * eps_first);
        QVERIFY(eps_last > mean(losses.at("unet"), eps.size() - 10, eps.size()));   // the weights are ≤ 1
        const auto accuracy = metric_of(m_run, "accuracy").at("classifier");
        const double late = mean(accuracy, accuracy.size() - 20, accuracy.size());
        qInfo("classifier training accuracy, last 20 batches: %.3f", late);
        QVERIFY(late > 0.25);   // chance 0.1
        // The UNet's epochs also hold the 64 captioned scenes without fMRI (unet_extra_images); the
        // adapters' only the training images: 2 more batches of 32 per epoch.
        const json state = json::parse(std::ifstream(m_run + "/run.json"));
        const int64_t unet_per_epoch = state["stages"]["unet"]["steps"].get<int64_t>() / 8, adapter_per_epoch = state["stages"]["adapters"]["steps"].get<int64_t>() / 2;
        QCOMPARE(unet_per_epoch, adapter_per_epoch + 2);
    }

    void guidanceZeroIsTheUnconditionalPath() {
        const std::unique_ptr<Generator> generator = make_run_generator(m_loaded->config, m_loaded->models, torch::kCPU);
        GenerationConditions with_caption = test_conditions(3);
        with_caption.palette = with_caption.edges = torch::Tensor();
        soul::SamplerSettings s;
        s.steps = 8;
        s.cfg = 0.0;
        const torch::Tensor unconditional = generator->generate(GenerationConditions{}, s);
        const torch::Tensor guided_zero = generator->generate(with_caption, s);
        QCOMPARE(unconditional.size(0), int64_t(1));
        // Row 0 of both starts from the same noise (the unconditional call draws one row).
        QVERIFY2(max_difference(guided_zero[0], unconditional[0]) < 1e-4, qPrintable(QString::number(max_difference(guided_zero[0], unconditional[0]))));
        s.cfg = 3.0;
        QVERIFY(max_difference(generator->generate(with_caption, s), guided_zero) > 1e-3);
    }

    void adaptersAtWeightZeroChangeNothing() {
        const std::unique_ptr<Generator> generator = make_run_generator(m_loaded->config, m_loaded->models, torch::kCPU);
        GenerationConditions all = test_conditions(2), caption_only = all;
        caption_only.palette = caption_only.edges = torch::Tensor();
        soul::SamplerSettings s;
        s.steps = 6;
        s.w_color = s.w_edge = 0.0;
        const torch::Tensor base = generator->generate(caption_only, s);
        QCOMPARE(max_difference(generator->generate(all, s), base), 0.0);
        s.w_color = 1.0;
        QVERIFY(max_difference(generator->generate(all, s), base) > 1e-4);
        s.w_color = 0.0;
        s.w_edge = 1.0;
        QVERIFY(max_difference(generator->generate(all, s), base) > 1e-4);
    }

    void stepCallbackFiresOncePerStep() {
        const std::unique_ptr<Generator> generator = make_run_generator(m_loaded->config, m_loaded->models, torch::kCPU);
        soul::SamplerSettings s;
        s.steps = 12;
        std::vector<int64_t> indices, timesteps;
        auto record = [&](const DenoiseFrame& f) {
            indices.push_back(f.index);
            timesteps.push_back(f.t);
            for (const torch::Tensor* image : {&f.noisy, &f.predicted}) {
                QCOMPARE(image->sizes().vec(), (std::vector<int64_t>{2, 3, kGenSide, kGenSide}));
                QVERIFY(torch::isfinite(*image).all().item<bool>());
                QVERIFY(image->min().item<double>() >= 0 && image->max().item<double>() <= 1);
            }
        };
        const torch::Tensor out = generator->generate(test_conditions(2), s, record);
        QCOMPARE(indices.size(), size_t(12));
        for (size_t i = 0; i < indices.size(); ++i) QCOMPARE(indices[i], int64_t(i));
        QVERIFY(std::is_sorted(timesteps.rbegin(), timesteps.rend()));
        QCOMPARE(timesteps.front(), int64_t(999));
        // img2img at strength 0.5 runs the last half of the schedule.
        indices.clear();
        timesteps.clear();
        GenerationConditions c = test_conditions(2);
        c.init = m_loaded->data.gen_images.index_select(0, m_loaded->data.test_image.narrow(0, 0, 2));
        s.strength = 0.5;
        generator->generate(c, s, record);
        QCOMPARE(indices.size(), size_t(6));
        QVERIFY(timesteps.front() < 520);
    }

    void generateWritesPngsReproducibly() {
        // Condition images are files, as a user gives them.
        auto& d = m_loaded->data;
        const std::string stimulus = m_dir + "/stimulus.png";
        soul::write_png(stimulus, to_rgb_image(d.gen_images[d.test_image[0].item<int64_t>()]));
        soul::GenerateOptions o;
        o.run = m_run;
        o.out = m_dir + "/generated";
        o.caption = d.dataset->captions(static_cast<int32_t>(d.test_image[0].item<int64_t>())).front();
        o.palette_from = o.edges_from = o.init = stimulus;
        o.sampler.strength = 0.8;
        o.sampler.steps = 10;
        o.sampler.samples = 2;
        o.previews = true;
        o.device = "cpu";
        int64_t previews = 0;
        const auto files = soul::generate_images(o, {}, [&](const soul::DenoisePreview& p) {
            ++previews;
            QCOMPARE(p.noisy.width, kGenSide);
        });
        QCOMPARE(previews, int64_t(2 * 8));                 // 2 samples × round(10 × 0.8) steps
        QCOMPARE(files.size(), size_t(2 + 2 * 8 * 2));      // samples + noisy and predicted per step
        const soul::RgbImage a = soul::read_rgb_image(o.out + "/sample-0.png");
        QCOMPARE(a.width, kGenSide);
        const auto [lo, hi] = std::minmax_element(a.pixels.begin(), a.pixels.end());
        QVERIFY(*hi - *lo > 40);                            // not blank
        o.out = m_dir + "/generated-again";
        o.previews = false;
        soul::generate_images(o);
        QVERIFY(soul::read_rgb_image(o.out + "/sample-0.png").pixels == a.pixels);
        o.out = m_dir + "/generated-seed-2";
        o.sampler.seed = 2;
        soul::generate_images(o);
        QVERIFY(soul::read_rgb_image(o.out + "/sample-0.png").pixels != a.pixels);
    }

    void oracleEvaluationWritesReportAndFigure() {
        soul::EvaluateGeneratorOptions o;
        o.run = m_run;
        o.out = m_dir + "/oracle";
        o.sampler.steps = 5;
        o.limit = 6;
        o.grid_rows = 3;
        o.device = "cpu";
        const std::string md = soul::evaluate_generator(o);
        QVERIFY(md.find("caption + palette + edges") != std::string::npos);
        std::ifstream in(o.out + "/report.json");
        const json report = json::parse(in);
        QCOMPARE(report["rows"].size(), size_t(7));
        QCOMPARE(report["test_images"].get<int64_t>(), int64_t(6));
        // The stimulus scores itself perfectly.
        QVERIFY(std::abs(report["rows"][0]["pixcorr"].get<double>() - 1.0) < 1e-5);
        QVERIFY(std::abs(report["rows"][0]["ssim"].get<double>() - 1.0) < 1e-5);
        QVERIFY(report["rows"][0]["palette_delta_e"].get<double>() < 1e-3);
        // The figure: 3 rows, stimulus + 4 settings, 2× cells with 4-px gaps.
        const soul::RgbImage grid = soul::read_rgb_image(o.out + "/oracle-grid.png");
        QCOMPARE(grid.width, 5 * 2 * kGenSide + 6 * 4);
        QCOMPARE(grid.height, 3 * 2 * kGenSide + 4 * 4);
        QVERIFY(fs::exists(o.out + "/report.csv") && fs::exists(o.out + "/report.md"));
        QCOMPARE(report["split"].get<std::string>(), std::string("test"));
        // Settings are chosen on a validation split; a run without one says so.
        o.split = "validation";
        o.out = m_dir + "/oracle-validation";
        try {
            soul::evaluate_generator(o);
            QFAIL("no error");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains("has no validation split"), e.what());
        }
        QVERIFY(!fs::exists(o.out));
        // The images the generator learned from: a check of its fit, which the report says it is.
        o.split = "train";
        o.out = m_dir + "/oracle-train";
        QVERIFY(soul::evaluate_generator(o).find("a check of fit") != std::string::npos);
        std::ifstream trainIn(o.out + "/report.json");
        const json trainReport = json::parse(trainIn);
        QCOMPARE(trainReport["split"].get<std::string>(), std::string("train"));
        QCOMPARE(trainReport["test_images"].get<int64_t>(), int64_t(6));
        // Other stimuli than the test images': the figures' stimulus columns differ.
        QVERIFY(soul::read_rgb_image(o.out + "/oracle-grid.png").pixels != grid.pixels);
    }

    void badInputIsRefusedClearly() {
        auto fails_with = [](const std::function<void()>& f, std::vector<std::string> words) {
            try {
                f();
            } catch (const soul::Error& e) {
                for (const auto& w : words)
                    if (std::string(e.what()).find(w) == std::string::npos) {
                        qWarning("message '%s' lacks '%s'", e.what(), w.c_str());
                        return false;
                    }
                return true;
            }
            return false;
        };
        soul::GenerateOptions o;
        o.run = m_run;
        o.out = m_dir + "/bad";
        o.device = "cpu";
        o.sampler.steps = 2;
        // A run with the encoders only.
        soul::TrainOptions t;
        t.data = m_data;
        t.config = m_config;
        t.out = m_dir + "/encoders-only";
        t.stages = {"embedding"};
        t.device = "cpu";
        soul::train_encoders(t);
        soul::GenerateOptions no_generator = o;
        no_generator.run = t.out;
        QVERIFY(fails_with([&] { soul::generate_images(no_generator); }, {t.out, "vae"}));
        soul::GenerateOptions missing = o;
        missing.palette_from = m_dir + "/no-such.png";
        QVERIFY(fails_with([&] { soul::generate_images(missing); }, {"no-such.png"}));
        const std::string truncated = m_dir + "/truncated.png";
        soul::write_png(truncated, to_rgb_image(torch::rand({3, 16, 16})));
        fs::resize_file(truncated, fs::file_size(truncated) / 2);
        soul::GenerateOptions cut = o;
        cut.edges_from = truncated;
        QVERIFY(fails_with([&] { soul::generate_images(cut); }, {"truncated.png"}));
        soul::GenerateOptions unknown = o;
        unknown.caption = "zyzzyva quixotic";
        QVERIFY(fails_with([&] { soul::generate_images(unknown); }, {"vocab.json"}));
        soul::GenerateOptions zero_steps = o;
        zero_steps.sampler.steps = 0;
        QVERIFY(fails_with([&] { soul::generate_images(zero_steps); }, {"--steps"}));
        QVERIFY(!fs::exists(o.out + "/sample-0.png"));
        // A damaged checkpoint is named.
        const std::string damaged = m_dir + "/damaged";
        fs::copy(m_run, damaged, fs::copy_options::recursive);
        fs::resize_file(damaged + "/unet.pt", 100);
        soul::GenerateOptions broken = o;
        broken.run = damaged;
        QVERIFY(fails_with([&] { soul::generate_images(broken); }, {"unet.pt"}));
    }
};

QTEST_GUILESS_MAIN(TestGenerator)
#include "tst_generator.moc"
