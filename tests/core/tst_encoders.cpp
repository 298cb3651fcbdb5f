// The encoders: the selective scan against its sequential definition (at CUDA's chunk, in float32
// and bfloat16), bfloat16 autocast against float32, the metrics log, the Hilbert order, and
// training on a tiny phantom — every stage's loss falls (also under bfloat16 autocast), a seed
// gives the same weights, a run cancelled mid-stage and resumed ends with exactly the weights of
// an uninterrupted one, the held-out scores beat chance, SemBERT learns a pretrained BERT's caption
// space (a tiny one written by tests/core/text_encoder_reference.py), and bad configs, caption
// encoders and mismatched datasets are refused clearly.
#include "CheckpointWeights.h"
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "ReferenceOutputs.h"
#include "model/attention.h"
#include "model/embedding_space.h"
#include "model/mamba.h"
#include "model/selective_scan.h"
#include "model/voxel_tokens.h"
#include "soul/error.h"
#include "soul/phantom.h"
#include "soul/prepare.h"
#include "soul/reconstruct.h"
#include "soul/train.h"
#include "train/caption_table.h"
#include "train/encoder_run.h"
#include "train/metrics_log.h"
#include "util/torch_compat.h"

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A tiny config: every stage for one epoch at small widths, so the suite takes about a minute.
json tiny_config() {
    return {{"name", "tiny"}, {"seed", 3}, {"image_size", 16}, {"embed_dim", 32}, {"batch_size", 32}, {"checkpoint_every", 10},
            {"text_width", 32}, {"text_layers", 1}, {"embedding_caption_weight", 1.0}, {"embedding", {{"epochs", 6}, {"lr", 0.003}}},
            {"ssm_width", 16}, {"ssm_state", 4}, {"ssm_patch", 512}, {"ssm_token_readout", 2}, {"ssm_per_patch_weights", 1},
            {"ssmnet", {{"epochs", 2}, {"lr", 0.002}}},
            {"sem_width", 32}, {"sem_heads", 4}, {"sem_layers", 1}, {"sem_patch", 256}, {"sem_token_readout", 2}, {"sem_per_patch_weights", 1},
            {"sembert", {{"epochs", 2}, {"lr", 0.002}}},
            {"ec_hidden", 64}, {"ec_extra_images", 160}, {"ec_encoder", {{"epochs", 2}, {"lr", 0.002}}},
            {"ec_decoder", {{"epochs", 2}, {"lr", 0.002}}}, {"ec_cycle", {{"epochs", 2}, {"lr", 0.001}}},
            {"flat_hidden", 64}, {"baseline", {{"epochs", 2}, {"lr", 0.002}}}};
}

// One field of metrics.jsonl per stage, in file order ("loss", "step", ...).
std::map<std::string, std::vector<double>> metric_of(const std::string& run, const std::string& field) {
    std::map<std::string, std::vector<double>> out;
    std::ifstream in(fs::path(run) / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
        const json j = json::parse(line);
        out[j["stage"]].push_back(j[field]);
    }
    return out;
}

std::map<std::string, std::vector<double>> losses_of(const std::string& run) { return metric_of(run, "loss"); }

// max |a − b| / max |b|: the error of a low-precision result relative to the float32 one's scale.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
    const torch::Tensor a32 = a.to(torch::kFloat), b32 = b.to(torch::kFloat);
    return ((a32 - b32).abs().max() / b32.abs().max().clamp_min(1e-12)).item<double>();
}

// bfloat16 keeps 8 bits of mantissa (relative rounding 2^-9 ≈ 0.002); these bound what a chain of
// such roundings may add up to in the tests below: about 3× what was measured (in comments).
constexpr double kBf16ScanValueTolerance = 0.05;      // all-bf16 parallel scan's values (0.0125)
constexpr double kBf16ScanGradientTolerance = 0.15;   // its gradients (0.040): the backward pass compounds the rounding
constexpr double kBf16AutocastTolerance = 0.05;       // a block's output and gradients under autocast (0.017 at most)

double mean(const std::vector<double>& v, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += v[i];
    return s / static_cast<double>(to - from);
}

}  // namespace

class TestEncoders : public QObject {
    Q_OBJECT
    std::string m_dir, m_data, m_config;

    // The encoder stages (the generator's have their own suite, tst_generator.cpp).
    soul::TrainOptions options(const std::string& out, std::vector<std::string> stages = {"embedding", "ssmnet", "sembert", "edgecolor", "baseline"}) {
        soul::TrainOptions o;
        o.data = m_data;
        o.config = m_config;
        o.out = m_dir + "/" + out;
        o.stages = std::move(stages);
        o.device = "cpu";
        return o;
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = soultest::tempFolder("encoders");
        m_data = soultest::prepared_phantom(m_dir, 2, 5, 32);
        m_config = m_dir + "/tiny.json";
        std::ofstream(m_config) << tiny_config().dump(2);
    }
    void cleanupTestCase() { fs::remove_all(m_dir); }

    void selectiveScanFastEqualsReference() {
        torch::manual_seed(0);
        for (int64_t length : {1, 7, 32, 45, 100}) {
            const int64_t B = 3, E = 5, N = 4;
            const torch::Tensor u = torch::randn({B, length, E}).requires_grad_(true);
            const torch::Tensor delta = torch::softplus(torch::randn({B, length, E})).requires_grad_(true);
            const torch::Tensor A = (-torch::rand({E, N}) * 3).requires_grad_(true);
            const torch::Tensor Bm = torch::randn({B, length, N}), Cm = torch::randn({B, length, N}), D = torch::randn({E});
            const torch::Tensor ref = soul::model::selective_scan_reference(u, delta, A, Bm, Cm, D);
            const torch::Tensor fast = soul::model::selective_scan(u, delta, A, Bm, Cm, D, 16);
            QVERIFY2(torch::allclose(ref, fast, 1e-4, 1e-5), qPrintable(QString("length %1: max diff %2").arg(length).arg((ref - fast).abs().max().item<double>())));
            const auto g_ref = torch::autograd::grad({ref.sum()}, {u, delta, A});
            const auto g_fast = torch::autograd::grad({fast.sum()}, {u, delta, A});
            for (size_t i = 0; i < g_ref.size(); ++i) QVERIFY(torch::allclose(g_ref[i], g_fast[i], 1e-3, 1e-4));
        }
    }

    void parallelScanAtTheCudaChunkInFloat32AndBFloat16() {
        // The chunk CUDA runs, on sequences that end inside a chunk, fill exactly one, and span
        // several; values and gradients against the sequential definition.
        const int64_t chunk = soul::model::MambaOptions{}.scan_chunk;
        QCOMPARE(chunk, int64_t(32));
        torch::manual_seed(1);
        double worst_value = 0, worst_gradient = 0;
        for (int64_t length : {31, 32, 33, 100, 257}) {
            const int64_t B = 2, E = 8, N = 4;
            const torch::Tensor u0 = torch::randn({B, length, E}), delta0 = torch::softplus(torch::randn({B, length, E})) * 0.5;
            const torch::Tensor A0 = -torch::rand({E, N}) * 3, Bm = torch::randn({B, length, N}), Cm = torch::randn({B, length, N});
            const torch::Tensor D = torch::randn({E});
            for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
                // Both scans read the same (rounded) inputs; the reference computes in float32.
                const torch::Tensor u = u0.to(dtype).requires_grad_(true), delta = delta0.to(dtype).requires_grad_(true);
                const torch::Tensor A = A0.to(dtype).requires_grad_(true);
                const torch::Tensor u32 = u.detach().to(torch::kFloat).requires_grad_(true), delta32 = delta.detach().to(torch::kFloat).requires_grad_(true);
                const torch::Tensor A32 = A.detach().to(torch::kFloat).requires_grad_(true);
                const torch::Tensor fast = soul::model::selective_scan(u, delta, A, Bm.to(dtype), Cm.to(dtype), D.to(dtype), chunk);
                const torch::Tensor ref = soul::model::selective_scan_reference(u32, delta32, A32, Bm.to(dtype).to(torch::kFloat), Cm.to(dtype).to(torch::kFloat),
                                                                                D.to(dtype).to(torch::kFloat));
                QCOMPARE(fast.scalar_type(), dtype);
                const torch::Tensor weight = torch::randn_like(ref);   // a loss that weighs every output
                const auto g_fast = torch::autograd::grad({(fast.to(torch::kFloat) * weight).sum()}, {u, delta, A});
                const auto g_ref = torch::autograd::grad({(ref * weight).sum()}, {u32, delta32, A32});
                const QString where = QString("length %1, %2").arg(length).arg(dtype == torch::kFloat ? "float32" : "bfloat16");
                if (dtype == torch::kFloat) {
                    QVERIFY2(torch::allclose(fast, ref, 1e-4, 1e-5), qPrintable(where));
                    for (size_t i = 0; i < g_ref.size(); ++i) QVERIFY2(torch::allclose(g_fast[i], g_ref[i], 1e-3, 1e-4), qPrintable(where));
                    continue;
                }
                const double value = relative_error(fast, ref);
                worst_value = std::max(worst_value, value);
                QVERIFY2(value < kBf16ScanValueTolerance, qPrintable(where + QString(": values off by %1").arg(value)));
                for (size_t i = 0; i < g_ref.size(); ++i) {
                    const double gradient = relative_error(g_fast[i], g_ref[i]);
                    worst_gradient = std::max(worst_gradient, gradient);
                    QVERIFY2(gradient < kBf16ScanGradientTolerance, qPrintable(where + QString(": gradient %1 off by %2").arg(i).arg(gradient)));
                }
            }
        }
        qInfo("bfloat16 parallel scan, chunk %lld: worst relative error %.4f (values), %.4f (gradients)", static_cast<long long>(chunk),
              worst_value, worst_gradient);
        // A whole Mamba block gives the same output with the parallel scan (CUDA's path) as with the sequential one.
        soul::model::MambaOptions parallel{16, 4, 2, 4}, sequential{16, 4, 2, 4};
        parallel.scan = soul::model::MambaOptions::Scan::parallel;
        sequential.scan = soul::model::MambaOptions::Scan::sequential;
        soul::model::MambaBlock a(parallel), b(sequential);
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
        const torch::Tensor x = torch::randn({2, 70, 16});
        QVERIFY(torch::allclose(a->forward(x), b->forward(x), 1e-4, 1e-5));
    }

    void bfloat16AutocastStaysNearFloat32() {
        // The switch training uses (--precision bf16 on the CPU; the default on CUDA).
        torch::manual_seed(2);
        torch::nn::Linear probe(4, 4);
        {
            soul::AutocastGuard guard(torch::kCPU, true);
            QCOMPARE(probe(torch::randn({2, 4})).scalar_type(), torch::kBFloat16);
        }
        QCOMPARE(probe(torch::randn({2, 4})).scalar_type(), torch::kFloat);   // the guard restores float32
        {
            soul::AutocastGuard off(torch::kCPU, false);
            QCOMPARE(probe(torch::randn({2, 4})).scalar_type(), torch::kFloat);
        }
        auto compare = [&](const char* what, torch::nn::Module& module, const std::function<torch::Tensor()>& forward) {
            const torch::Tensor weight = torch::randn_like(forward());
            auto run = [&](bool autocast) {
                module.zero_grad();
                torch::Tensor y;
                {
                    soul::AutocastGuard guard(torch::kCPU, autocast);
                    y = forward();
                }
                (y.to(torch::kFloat) * weight).sum().backward();
                std::vector<torch::Tensor> grads;
                for (const auto& p : module.parameters())
                    if (p.grad().defined()) grads.push_back(p.grad().flatten().clone());
                return std::make_pair(y.detach().to(torch::kFloat), torch::cat(grads));
            };
            const auto [y32, g32] = run(false);
            const auto [y16, g16] = run(true);
            const double value = relative_error(y16, y32), gradient = relative_error(g16, g32);
            qInfo("%s under bfloat16 autocast: relative error %.4f (output), %.4f (gradients)", what, value, gradient);
            QVERIFY2(value < kBf16AutocastTolerance && gradient < kBf16AutocastTolerance, what);
        };
        soul::model::MambaOptions mamba{16, 4, 2, 4};
        mamba.scan = soul::model::MambaOptions::Scan::parallel;
        soul::model::MambaBlock block(mamba);
        const torch::Tensor x = torch::randn({2, 70, 16});
        compare("Mamba block (parallel scan)", *block, [&] { return block->forward(x); });
        soul::model::TransformerBlock transformer(32, 4, 64);
        transformer->eval();
        const torch::Tensor tokens = torch::randn({2, 20, 32});
        const torch::Tensor mask = torch::arange(20).unsqueeze(0).expand({2, 20}) < torch::tensor({20, 13}).unsqueeze(1);
        compare("transformer block (attention)", *transformer, [&] { return transformer->forward(tokens, mask); });
        // The contrastive loss of two linear heads, as the embedding and SSMNet stages compute it.
        torch::nn::Linear head_a(24, 16), head_b(24, 16);
        torch::nn::Sequential heads(head_a, head_b);
        const torch::Tensor inputs = torch::randn({32, 24}), logit_scale = torch::tensor(static_cast<float>(std::log(1 / 0.07)));
        compare("CLIP loss", *heads, [&] {
            return soul::model::clip_loss(torch::nn::functional::normalize(head_a(inputs), torch::nn::functional::NormalizeFuncOptions().dim(1)),
                                          torch::nn::functional::normalize(head_b(inputs), torch::nn::functional::NormalizeFuncOptions().dim(1)), logit_scale);
        });
    }

    void metricsAreReadInBlocksWithEveryStepOnce() {
        using soul::train::MetricsLog;
        std::ostringstream out;
        std::vector<int64_t> seen;
        MetricsLog log(out, [&](const soul::TrainMetrics& m) { seen.push_back(m.step); });
        QVERIFY(!log.due() && log.last() == nullptr);
        const int64_t total = 2 * static_cast<int64_t>(MetricsLog::kBlockSteps) + 50;
        for (int64_t step = 1; step <= total; ++step) {
            soul::TrainMetrics m;
            m.stage = "stage";
            m.step = step;
            m.values["lr"] = 0.25;
            log.add(m, {{"loss", torch::tensor(static_cast<float>(step) / 3)}, {"part", torch::full({1}, static_cast<float>(step))}});
            if (log.due()) log.flush();
        }
        // Full blocks were read; what is left waits for its block or the end.
        QVERIFY2(seen.size() >= 2 * MetricsLog::kBlockSteps, qPrintable(QString::number(seen.size())));
        log.flush();
        QCOMPARE(static_cast<int64_t>(seen.size()), total);
        QCOMPARE(log.last()->step, total);
        std::istringstream lines(out.str());
        int64_t step = 0;
        for (std::string line; std::getline(lines, line);) {
            const json j = json::parse(line);
            ++step;
            QCOMPARE(j["step"].get<int64_t>(), step);
            QCOMPARE(seen[static_cast<size_t>(step - 1)], step);
            // Exactly what a per-step .item<double>() read.
            QCOMPARE(j["loss"].get<double>(), torch::tensor(static_cast<float>(step) / 3).item<double>());
            QCOMPARE(j["part"].get<double>(), static_cast<double>(step));
            QCOMPARE(j["lr"].get<double>(), 0.25);
        }
        QCOMPARE(step, total);
        log.flush();   // nothing pending: nothing written
        // soul::read_metrics (what the studio's curves read) gets every record back, values included.
        const std::string file = (fs::temp_directory_path() / "souldiffuser-metrics-test.jsonl").string();
        std::ofstream(file) << out.str();
        const std::vector<soul::TrainMetrics> back = soul::read_metrics(file);
        QCOMPARE(static_cast<int64_t>(back.size()), total);
        QCOMPARE(back.back().stage, std::string("stage"));
        QCOMPARE(back.back().step, total);
        QCOMPARE(back.back().values.at("loss"), torch::tensor(static_cast<float>(total) / 3).item<double>());
        QCOMPARE(back.back().values.at("lr"), 0.25);
        std::ofstream(file, std::ios::app) << "{\"stage\": \"x\", \"step\": 1}\n";
        try {
            soul::read_metrics(file);
            QFAIL("a record without a loss was read");
        } catch (const soul::Error& e) {
            QVERIFY2(std::string(e.what()).find(file + ": line " + std::to_string(total + 1) + ": not a metrics record") != std::string::npos, e.what());
        }
        fs::remove(file);
        QCOMPARE(static_cast<int64_t>(seen.size()), total);
    }

    void hilbertOrderKeepsNeighbours() {
        // On a full 8×8×8 cube, consecutive positions on the curve are face neighbours.
        std::vector<std::array<int, 3>> at(512);
        std::vector<bool> seen(512, false);
        for (uint32_t x = 0; x < 8; ++x)
            for (uint32_t y = 0; y < 8; ++y)
                for (uint32_t z = 0; z < 8; ++z) {
                    const uint64_t h = soul::model::hilbert_index(x, y, z, 3);
                    QVERIFY(h < 512 && !seen[h]);
                    seen[h] = true;
                    at[h] = {int(x), int(y), int(z)};
                }
        for (size_t i = 1; i < 512; ++i)
            QCOMPARE(std::abs(at[i][0] - at[i - 1][0]) + std::abs(at[i][1] - at[i - 1][1]) + std::abs(at[i][2] - at[i - 1][2]), 1);
    }

    void perPatchTokenizerReadsEachPatchWithItsOwnFilters() {
        // Three patches of four voxels; voxel index 12 is the padding column.
        const torch::Tensor gather = torch::arange(12, torch::kLong).view({3, 4});
        const torch::Tensor centre = torch::zeros({3, 3});
        torch::manual_seed(0);
        soul::model::VoxelTokenizer shared(4, 8), own(4, 8, 3);
        torch::NoGradGuard no_grad;
        // The same pattern in every patch: shared filters give the same token (the positions are
        // equal here), per-patch filters three different ones.
        const torch::Tensor same = soul::model::pad_betas(torch::tensor({1.f, -2.f, 0.5f, 3.f}).repeat({3}).unsqueeze(0));
        const torch::Tensor s = shared->forward(same, gather, centre), o = own->forward(same, gather, centre);
        QCOMPARE(o.sizes(), s.sizes());
        QVERIFY(torch::allclose(s[0][0], s[0][1]) && torch::allclose(s[0][1], s[0][2]));
        QVERIFY(!torch::allclose(o[0][0], o[0][1]) && !torch::allclose(o[0][1], o[0][2]));
        // A change in patch 1 moves token 1 only.
        torch::Tensor changed = same.clone();
        changed[0][5] += 1;
        const torch::Tensor d = (own->forward(changed, gather, centre) - o).abs().sum(2)[0];
        QVERIFY(d[1].item<float>() > 0 && d[0].item<float>() == 0 && d[2].item<float>() == 0);
    }

    void trainsLearnsAndEvaluates() {
        const soul::TrainSummary s = soul::train_encoders(options("run"));
        QCOMPARE(s.stages_trained.size(), size_t(7));
        QVERIFY(!s.mixed_precision);   // the CPU's default: float32
        // metrics.jsonl, written in blocks, has every step of every stage once and in order.
        for (const auto& [stage, steps] : metric_of(m_dir + "/run", "step"))
            for (size_t i = 0; i < steps.size(); ++i) QVERIFY2(steps[i] == static_cast<double>(i + 1), stage.c_str());
        const auto losses = losses_of(m_dir + "/run");
        for (const auto& [stage, v] : losses) {
            QVERIFY2(v.size() >= 4, stage.c_str());
            const size_t k = std::max<size_t>(2, v.size() / 5);
            const double first = mean(v, 0, k), last = mean(v, v.size() - k, v.size());
            qInfo("%s: loss %.4f -> %.4f over %zu steps", stage.c_str(), first, last, v.size());
            QVERIFY2(last < first * 0.97, qPrintable(QString("%1: loss %2 -> %3").arg(stage.c_str()).arg(first).arg(last)));
        }
        soul::EvaluateEncodersOptions e;
        e.run = m_dir + "/run";
        const std::string report = soul::evaluate_encoders(e);
        QVERIFY(fs::exists(m_dir + "/run/evaluation/report.json"));
        const json j = json::parse(std::ifstream(m_dir + "/run/evaluation/report.json"));
        std::map<std::string, double> value;
        for (const auto& r : j["rows"]) value[r["metric"].get<std::string>() + "/" + r["module"].get<std::string>()] = r["value"];
        qInfo("%s", report.c_str());
        QVERIFY(value.at("2-way identification/SSMNet") > 0.6);
        QVERIFY(value.at("caption 2-way/SemBERT") > 0.6);
        QVERIFY(value.at("2-way identification/flattened MLP") > 0.6);
        // The caption side of the embedding space names the category (every caption does, in one
        // of a few synonyms; the caption–caption loss keeps it), and the category readouts exist
        // for every module.
        QVERIFY(value.at("category accuracy (caption, linear probe, true captions)/embedding space") > 0.5);
        for (const char* key : {"category accuracy (linear probe)/SSMNet", "category accuracy (caption, linear probe)/SemBERT",
                                "category accuracy (linear probe)/flattened MLP", "category accuracy (caption, linear probe)/flattened MLP"})
            QVERIFY2(value.count(key), key);
    }

    void trainsUnderBFloat16Autocast() {
        // The CUDA default's precision, on the CPU: the embedding space and SSMNet still learn.
        // Emulated bfloat16 is slow on a CPU without bf16 instructions: two epochs each.
        json config = tiny_config();
        config["embedding"]["epochs"] = 2;
        const std::string bf16_config = m_dir + "/tiny-bf16.json";
        std::ofstream(bf16_config) << config.dump(2);
        soul::TrainOptions o = options("bf16", {"embedding", "ssmnet"});
        o.config = bf16_config;
        o.precision = "bf16";
        const soul::TrainSummary s = soul::train_encoders(o);
        QVERIFY(s.mixed_precision);
        for (const auto& [stage, v] : losses_of(m_dir + "/bf16")) {
            const size_t k = std::max<size_t>(2, v.size() / 5);
            const double first = mean(v, 0, k), last = mean(v, v.size() - k, v.size());
            qInfo("%s (bfloat16 autocast): loss %.4f -> %.4f over %zu steps", stage.c_str(), first, last, v.size());
            QVERIFY2(std::isfinite(last) && last < first * 0.97, qPrintable(QString("%1: loss %2 -> %3").arg(stage.c_str()).arg(first).arg(last)));
        }
        o = options("bad-precision", {"embedding"});
        o.precision = "fp16";
        try {
            soul::train_encoders(o);
            QFAIL("no error");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains("--precision must be auto, fp32 or bf16, not fp16"), e.what());
        }
    }

    // A run trained without the generator's stages (as models/configs/nsd-subj01-sd15.json is
    // meant to be) reconstructs with the user's Stable Diffusion (here the tests' tiny one) and
    // says, naming the run, that it needs one otherwise.
    void aRunWithoutItsOwnGeneratorDrawsWithStableDiffusion() {
        const std::string fixtures = m_dir + "/sd-fixtures";
        fs::create_directories(fixtures);
        const QString failed = soultest::referenceOutputs(SOUL_PYTHON, SOUL_SOURCE_DIR, soultest::kTinyStableDiffusion, QString::fromStdString(fixtures));
        QVERIFY2(failed.isEmpty(), qPrintable(failed));
        soul::ReconstructionEngine engine(m_dir + "/run", m_data, "cpu");
        QVERIFY(QString::fromStdString(engine.generator_title()).contains("none of its own"));
        soul::ReconstructionSettings s;
        s.sampler.steps = 3;
        const std::vector<soul::TrialRef> trial = {{soul::Split::Test, 0}};
        try {
            engine.reconstruct(trial, s);
            QFAIL("no error");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains(QString::fromStdString(m_dir + "/run")) && QString(e.what()).contains("--sd"), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(soul::Error, engine.use_own_generator());
        soul::StableDiffusionOptions sd;
        sd.path = fixtures + "/sd";
        sd.size = 32;
        engine.use_stable_diffusion(sd);
        const soul::Reconstruction r = engine.reconstruct(trial, s).front();
        QCOMPARE(r.samples.front().width, int64_t(32));
        QVERIFY(!r.caption.empty());
    }

    void seedGivesTheSameWeights() {
        soul::train_encoders(options("seed-a", {"embedding", "ssmnet"}));
        soul::train_encoders(options("seed-b", {"embedding", "ssmnet"}));
        QVERIFY(torch::equal(soultest::checkpoint_weights(m_dir + "/seed-a/ssmnet.pt"), soultest::checkpoint_weights(m_dir + "/seed-b/ssmnet.pt")));
    }

    // train_fraction: the fMRI encoders see a share of the training images (every trial of each),
    // the image-only stages all of them; --from starts such a run with another run's stages.
    void aFractionRunStartsFromAnotherRun() {
        json config = tiny_config();
        config["train_fraction"] = 0.5;
        const std::string half_config = m_dir + "/tiny-half.json";
        std::ofstream(half_config) << config.dump(2);

        const soul::PreparedDataset dataset(m_data);
        const auto tokenizer = soul::model::CaptionTokenizer::fit(soul::train::training_captions(dataset));
        const soul::model::EncoderConfig full_config = soul::model::read_encoder_config(m_config), half = soul::model::read_encoder_config(half_config);
        const soul::train::TrainData all = soul::train::load_train_data(m_data, full_config, tokenizer, torch::kCPU);
        const soul::train::TrainData some = soul::train::load_train_data(m_data, half, tokenizer, torch::kCPU);
        const double share = static_cast<double>(some.train_betas.size(0)) / static_cast<double>(all.train_betas.size(0));
        qInfo("train_fraction 0.5 keeps %lld of %lld training rows (%.3f)", static_cast<long long>(some.train_betas.size(0)),
              static_cast<long long>(all.train_betas.size(0)), share);
        QVERIFY2(share > 0.35 && share < 0.65, "about half the rows");
        QVERIFY(torch::equal(soul::train::training_images(some), soul::train::training_images(all)));   // the image-only stages see every image
        // Whole images: a kept image keeps every one of its trials.
        std::map<int64_t, int64_t> rows_all, rows_some;
        for (int64_t r = 0; r < all.train_image.size(0); ++r) ++rows_all[all.train_image[r].item<int64_t>()];
        for (int64_t r = 0; r < some.train_image.size(0); ++r) ++rows_some[some.train_image[r].item<int64_t>()];
        for (const auto& [image, n] : rows_some) QCOMPARE(n, rows_all.at(image));
        QVERIFY(torch::equal(some.train_betas[0], all.train_betas[std::find(all.train_image.data_ptr<int64_t>(), all.train_image.data_ptr<int64_t>() + all.train_image.size(0),
                                                                            some.train_image[0].item<int64_t>()) - all.train_image.data_ptr<int64_t>()]));

        soul::TrainOptions o = options("half", {"ssmnet"});
        o.config = half_config;
        o.from = m_dir + "/run";
        const soul::TrainSummary s = soul::train_encoders(o);
        QCOMPARE(s.stages_trained, std::vector<std::string>{"ssmnet"});
        const json state = json::parse(std::ifstream(m_dir + "/half/run.json"));
        for (const char* copied : {"embedding", "sembert", "ec_decoder", "baseline"}) {
            QVERIFY2(state["stages"][copied].value("copied_from", std::string()) == fs::absolute(m_dir + "/run").string(), copied);
            QVERIFY2(torch::equal(soultest::checkpoint_weights(m_dir + "/half/" + copied + ".pt"), soultest::checkpoint_weights(m_dir + "/run/" + copied + ".pt")), copied);
        }
        QVERIFY(!torch::equal(soultest::checkpoint_weights(m_dir + "/half/ssmnet.pt"), soultest::checkpoint_weights(m_dir + "/run/ssmnet.pt")));
        QCOMPARE(state["config"]["train_fraction"].get<double>(), 0.5);
        soul::EvaluateEncodersOptions e;
        e.run = m_dir + "/half";
        soul::evaluate_encoders(e);
        QVERIFY(fs::exists(m_dir + "/half/evaluation/report.json"));

        auto refused = [&](soul::TrainOptions bad, const QStringList& needles) {
            try {
                soul::train_encoders(bad);
                QFAIL("no error");
            } catch (const soul::Error& error) {
                for (const auto& needle : needles) QVERIFY2(QString(error.what()).contains(needle), error.what());
            }
        };
        refused(o, {"half", "already holds a run"});
        soul::TrainOptions other = options("half-other", {"ssmnet"});
        config["ssm_width"] = 24;
        std::ofstream(m_dir + "/tiny-other.json") << config.dump(2);
        other.config = m_dir + "/tiny-other.json";
        other.from = m_dir + "/run";
        refused(other, {"tiny-other.json", "in more than 'name' and 'train_fraction'"});
        other.config = half_config;
        other.out = m_dir + "/half-nowhere";
        other.from = m_dir + "/no-such-run";
        refused(other, {"no-such-run", "not a run folder"});
        QVERIFY(!fs::exists(m_dir + "/half-other") && !fs::exists(m_dir + "/half-nowhere"));   // nothing written
    }

    void cancelledThenResumedIsExact() {
        soul::CancelToken cancel;
        soul::Progress progress;
        progress.cancel = &cancel;
        progress.report = [&](int64_t step, int64_t, const std::string& message) {
            if (message.rfind("ssmnet", 0) == 0 && step == 13) cancel.cancel();
        };
        QVERIFY_THROWS_EXCEPTION(soul::Cancelled, soul::train_encoders(options("resumed", {"embedding", "ssmnet"}), progress));
        const json state = json::parse(std::ifstream(m_dir + "/resumed/run.json"));
        QCOMPARE(state["stages"]["ssmnet"]["step"].get<int64_t>(), int64_t(13));
        QVERIFY(!state["stages"]["ssmnet"]["done"].get<bool>());
        // Without --resume an existing run is not overwritten.
        QVERIFY_THROWS_EXCEPTION(soul::Error, soul::train_encoders(options("resumed", {"embedding", "ssmnet"})));
        soul::TrainOptions again = options("resumed", {"embedding", "ssmnet"});
        again.resume = true;
        const soul::TrainSummary s = soul::train_encoders(again);
        QCOMPARE(s.stages_skipped, std::vector<std::string>{"embedding"});
        QVERIFY(torch::equal(soultest::checkpoint_weights(m_dir + "/resumed/ssmnet.pt"), soultest::checkpoint_weights(m_dir + "/seed-a/ssmnet.pt")));
        // The metrics log has each step once.
        QCOMPARE(losses_of(m_dir + "/resumed")["ssmnet"].size(), losses_of(m_dir + "/seed-a")["ssmnet"].size());
    }

    // The paper's SemBERT: trained against BERT's caption embeddings (here a tiny BERT with random
    // weights and the phantom's words in its vocabulary). The table is computed once and kept in
    // the run, SemBERT predicts BERT's width, its captions are retrieved in BERT's space, and the
    // run needs the BERT folder no more.
    void semBertLearnsAPretrainedCaptionSpace() {
        const std::string fixtures = m_dir + "/bert-fixtures", bert = m_dir + "/bert";
        fs::create_directories(fixtures);
        const QString failed = soultest::referenceOutputs(SOUL_PYTHON, SOUL_SOURCE_DIR, {"text_encoder_reference.py"}, QString::fromStdString(fixtures));
        QVERIFY2(failed.isEmpty(), qPrintable(failed));
        fs::create_directories(bert);
        fs::copy_file(fixtures + "/bert_config.json", bert + "/config.json");
        fs::copy_file(fixtures + "/bert.safetensors", bert + "/model.safetensors");
        fs::copy_file(SOUL_SOURCE_DIR "/tests/data/tokenizers/vocab.txt", bert + "/vocab.txt");

        soul::TrainOptions o = options("bert-run", {"embedding", "sembert"});
        o.caption_encoder = bert;
        const soul::TrainSummary s = soul::train_encoders(o);
        QCOMPARE(s.stages_trained, (std::vector<std::string>{"embedding", "sembert"}));
        const json state = json::parse(std::ifstream(m_dir + "/bert-run/run.json"));
        QCOMPARE(state["caption_encoder"]["kind"].get<std::string>(), std::string("BERT"));
        QCOMPARE(state["caption_encoder"]["embedding"].get<std::string>(), std::string("pooler_output"));
        QCOMPARE(state["caption_encoder"]["width"].get<int64_t>(), int64_t(32));   // the tiny BERT's hidden size
        QVERIFY(fs::exists(m_dir + "/bert-run/" + soul::train::kCaptionTableFile));
        const auto sembert = losses_of(m_dir + "/bert-run")["sembert"];
        const size_t k = std::max<size_t>(2, sembert.size() / 5);
        qInfo("sembert against BERT: loss %.4f -> %.4f over %zu steps", mean(sembert, 0, k), mean(sembert, sembert.size() - k, sembert.size()), sembert.size());
        QVERIFY(mean(sembert, sembert.size() - k, sembert.size()) < 0.97 * mean(sembert, 0, k));

        // The BERT folder is not needed any more: the table travels with the run.
        fs::rename(bert, bert + "-moved");
        soul::train::LoadedRun run = soul::train::load_run(m_dir + "/bert-run", "", torch::kCPU);
        QVERIFY(run.data.caption_table.defined());
        QCOMPARE(run.data.caption_table.size(2), int64_t(32));
        {
            torch::NoGradGuard no_grad;
            QCOMPARE(run.models.sembert->forward(run.data.test_betas.narrow(0, 0, 4)).size(1), int64_t(32));
            // The bank's embeddings are the table's rows of each caption, unit norm.
            const soul::train::CaptionBank bank = soul::train::caption_bank(run);
            QCOMPARE(bank.embedding.size(0), int64_t(bank.captions.size()));
            QCOMPARE(bank.embedding.size(1), int64_t(32));
            QVERIFY(torch::allclose(bank.embedding.norm(2, 1), torch::ones({bank.embedding.size(0)}), 1e-4, 1e-4));
            QVERIFY(torch::equal(bank.embedding[0], run.data.caption_table[bank.image[0]][0]));
            QVERIFY(torch::equal(bank.embedding[1], run.data.caption_table[bank.image[1]][1]));
        }
        soul::EvaluateEncodersOptions e;
        e.run = m_dir + "/bert-run";
        soul::evaluate_encoders(e);
        const json report = json::parse(std::ifstream(m_dir + "/bert-run/evaluation/report.json"));
        std::map<std::string, double> value;
        for (const auto& r : report["rows"]) value[r["metric"].get<std::string>() + "/" + r["module"].get<std::string>()] = r["value"];
        qInfo("SemBERT in BERT's space: caption 2-way %.3f, top-1 %.3f", value.at("caption 2-way/SemBERT"), value.at("caption retrieval top-1/SemBERT"));
        QVERIFY(value.at("caption 2-way/SemBERT") > 0.6);

        // --resume reads the table back rather than encoding again (the BERT folder is gone).
        fs::rename(bert + "-moved", bert);
        soul::TrainOptions again = o;
        again.resume = true;
        QCOMPARE(soul::train_encoders(again).stages_skipped, (std::vector<std::string>{"embedding", "sembert"}));
        QCOMPARE(json::parse(std::ifstream(m_dir + "/bert-run/run.json"))["caption_encoder"]["checksum"], state["caption_encoder"]["checksum"]);
    }

    // Every shipped config reads (a typo in one would otherwise wait for a GPU run to show).
    void shippedConfigsRead() {
        int read = 0;
        for (const auto& entry : fs::directory_iterator(SOUL_SOURCE_DIR "/models/configs"))
            if (entry.path().extension() == ".json") {
                const auto config = soul::model::read_encoder_config(entry.path().string());
                QVERIFY2(!config.name.empty(), entry.path().c_str());
                ++read;
            }
        QVERIFY(read >= 3);
    }

    void badCaptionEncoders() {
        auto expect = [&](const std::string& run, const std::function<void()>& f, const std::vector<QString>& needles) {
            try {
                f();
                QFAIL("no error");
            } catch (const soul::Error& e) {
                for (const auto& needle : needles) QVERIFY2(QString(e.what()).contains(needle), e.what());
            }
            QVERIFY2(run.empty() || !fs::exists(m_dir + "/" + run), run.c_str());   // nothing was written
        };
        soul::TrainOptions o = options("no-bert-run", {"embedding", "sembert"});
        o.caption_encoder = m_dir + "/no-such-bert";
        expect("no-bert-run", [&] { soul::train_encoders(o); }, {"no-such-bert", "is not a folder"});
        fs::create_directories(m_dir + "/bert-no-vocab");
        fs::copy_file(m_dir + "/bert-fixtures/bert_config.json", m_dir + "/bert-no-vocab/config.json");
        fs::copy_file(m_dir + "/bert-fixtures/bert.safetensors", m_dir + "/bert-no-vocab/model.safetensors");
        o.caption_encoder = m_dir + "/bert-no-vocab";
        expect("no-bert-run", [&] { soul::train_encoders(o); }, {"bert-no-vocab", "vocab.txt"});
        json c = tiny_config();
        c["caption_encoder"] = 3;
        std::ofstream(m_dir + "/bad-caption.json") << c.dump();
        o = options("no-bert-run", {"sembert"});
        o.config = m_dir + "/bad-caption.json";
        expect("no-bert-run", [&] { soul::train_encoders(o); }, {"bad-caption.json", "caption_encoder"});
        // A run whose table is missing or damaged names the file.
        fs::copy(m_dir + "/bert-run", m_dir + "/bert-run-damaged", fs::copy_options::recursive);
        const std::string table = m_dir + "/bert-run-damaged/" + soul::train::kCaptionTableFile;
        {
            std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(static_cast<std::streamoff>(fs::file_size(table) / 2));
            f.put('\x5a');
        }
        expect("", [&] { soul::train::load_run(m_dir + "/bert-run-damaged", "", torch::kCPU); }, {"caption-embeddings.pt"});
        fs::remove(table);
        expect("", [&] { soul::train::load_run(m_dir + "/bert-run-damaged", "", torch::kCPU); }, {"caption-embeddings.pt", "missing"});
    }

    void badConfigsAndDatasets() {
        auto expect = [&](const json& config, const QString& needle) {
            const std::string path = m_dir + "/bad.json";
            std::ofstream(path) << config.dump();
            soul::TrainOptions o = options("bad-run");
            o.config = path;
            try {
                soul::train_encoders(o);
                QFAIL("no error");
            } catch (const soul::Error& e) {
                QVERIFY2(QString(e.what()).contains("bad.json") && QString(e.what()).contains(needle), e.what());
            }
        };
        json c = tiny_config();
        c["ssm_widht"] = 3;
        expect(c, "key 'ssm_widht' is not a known setting");
        c = tiny_config();
        c["batch_size"] = 0;
        expect(c, "key 'batch_size' is 0");
        c = tiny_config();
        c["ssmnet"] = {{"epochs", 1}, {"rate", 0.1}};
        expect(c, "'ssmnet.rate' is not known");
        {
            const std::string path = m_dir + "/broken.json";
            std::ofstream(path) << "{\"seed\": 1,";
            soul::TrainOptions o = options("bad-run");
            o.config = path;
            QVERIFY_THROWS_EXCEPTION(soul::Error, soul::train_encoders(o));
        }
        {
            soul::TrainOptions o = options("run");
            o.stages = {"vision"};
            QVERIFY_THROWS_EXCEPTION(soul::Error, soul::train_encoders(o));
        }
        {
            // Another dataset (here: fewer sessions) against an existing run.
            soul::PrepareOptions p;
            p.nsd_root = m_dir + "/phantom";
            p.out = m_dir + "/prepared-1";
            p.image_size = 64;
            p.last_session = 1;
            soul::prepare_dataset(p);
            soul::TrainOptions o = options("run", {"ssmnet"});
            o.data = p.out;
            o.resume = true;
            try {
                soul::train_encoders(o);
                QFAIL("no error");
            } catch (const soul::Error& e) {
                QVERIFY2(QString(e.what()).contains("prepared-1") && QString(e.what()).contains("is not the dataset"), e.what());
            }
            soul::EvaluateEncodersOptions e;
            e.run = m_dir + "/run";
            e.data = p.out;
            QVERIFY_THROWS_EXCEPTION(soul::Error, soul::evaluate_encoders(e));
        }
        {
            // SSMNet without the embedding space it is aligned to.
            soul::TrainOptions o = options("no-embedding", {"ssmnet"});
            try {
                soul::train_encoders(o);
                QFAIL("no error");
            } catch (const soul::Error& e) {
                QVERIFY2(QString(e.what()).contains("needs the 'embedding' stage"), e.what());
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestEncoders)
#include "tst_encoders.moc"
