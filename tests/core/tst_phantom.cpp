// The phantom subject: files read back through the project's own readers (NIfTI, MAT, HDF5, CSV,
// JSON) with NSD's shapes, types, scaling and 1-based indices; ground truth recoverable by ridge
// regression with margins; same seed, same bytes; bad arguments refused with clear errors.
#include "NiftiFixture.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/labels.h"
#include "soul/nsd_layout.h"
#include "soul/phantom.h"
#include "soul/ridge.h"
#include "soul/volume.h"

#include <QCryptographicHash>
#include <QFile>
#include <QProcess>
#include <QtTest>

#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace {

constexpr int kSessions = 2;      // 1500 trials: 100 shared images × 3, 1200 single
constexpr uint64_t kSeed = 7;

std::string at(const std::string& root, const std::string& relative) { return (fs::path(root) / relative).string(); }

std::map<std::string, QByteArray> hashes(const std::string& root) {
    std::map<std::string, QByteArray> out;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        QFile f(QString::fromStdString(entry.path().string()));
        f.open(QIODevice::ReadOnly);
        out[fs::relative(entry.path(), root).string()] = QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
    }
    return out;
}

// Accuracy of argmax decoding of one-hot targets.
double accuracy(const std::vector<float>& predicted, const std::vector<int>& truth, int classes) {
    int right = 0;
    for (size_t i = 0; i < truth.size(); ++i) {
        const float* row = predicted.data() + i * classes;
        right += static_cast<int>(std::max_element(row, row + classes) - row) == truth[i];
    }
    return static_cast<double>(right) / truth.size();
}

}  // namespace

class TestPhantom : public QObject {
    Q_OBJECT
    std::string m_dir, m_root;
    soul::PhantomSummary m_summary;

    // Decoding data: per visual voxel betas, z-scored per session with training-trial statistics;
    // training = single trials of non-shared images, test = shared images with repeats averaged.
    struct Split {
        std::vector<float> x_train, x_test;   // rows × voxels
        std::vector<int64_t> train_images, test_images;
        int64_t voxels = 0;
    };
    Split split(const std::vector<int>& streams) {
        const soul::Volume roi = soul::read_nifti(at(m_root, soul::nsd::roi_file(1, "streams")));
        std::vector<int64_t> voxels;
        for (int64_t n = 0; n < roi.frame_size(); ++n)
            if (std::find(streams.begin(), streams.end(), static_cast<int>(roi.voxels[static_cast<size_t>(n)])) != streams.end())
                voxels.push_back(n);
        const auto master = soul::read_mat(at(m_root, soul::nsd::expdesign_file()), "masterordering");
        const auto subjectim = soul::read_mat(at(m_root, soul::nsd::expdesign_file()), "subjectim");
        const auto sharedix = soul::read_mat(at(m_root, soul::nsd::expdesign_file()), "sharedix");
        const int64_t shared = sharedix.cols;
        Split s;
        s.voxels = static_cast<int64_t>(voxels.size());
        std::map<int64_t, std::vector<float>> test_sum;
        std::map<int64_t, int> test_count;
        for (int session = 0; session < kSessions; ++session) {
            soul::NiftiSeries series(at(m_root, soul::nsd::betas_file(1, session + 1)));
            const int64_t T = series.header().frames;
            std::vector<float> block(static_cast<size_t>(T) * voxels.size());
            std::vector<bool> is_test(static_cast<size_t>(T));
            std::vector<int64_t> image(static_cast<size_t>(T));
            for (int64_t t = 0; t < T; ++t) {
                const soul::Volume f = series.frame(t);
                for (size_t v = 0; v < voxels.size(); ++v) block[static_cast<size_t>(t) * voxels.size() + v] = f.voxels[static_cast<size_t>(voxels[v])] / 300.0f;
                const int64_t position = static_cast<int64_t>(master.values[static_cast<size_t>(session * T + t)]);  // 1-based
                image[static_cast<size_t>(t)] = static_cast<int64_t>(subjectim.at(0, position - 1)) - 1;          // 0-based 73k id
                is_test[static_cast<size_t>(t)] = position <= shared;
            }
            for (size_t v = 0; v < voxels.size(); ++v) {
                double sum = 0, sq = 0;
                int n = 0;
                for (int64_t t = 0; t < T; ++t)
                    if (!is_test[static_cast<size_t>(t)]) {
                        const double x = block[static_cast<size_t>(t) * voxels.size() + v];
                        sum += x;
                        sq += x * x;
                        ++n;
                    }
                const double mean = sum / n, sd = std::sqrt(std::max(1e-12, sq / n - mean * mean));
                for (int64_t t = 0; t < T; ++t) {
                    float& x = block[static_cast<size_t>(t) * voxels.size() + v];
                    x = static_cast<float>((x - mean) / sd);
                }
            }
            for (int64_t t = 0; t < T; ++t) {
                const float* row = block.data() + static_cast<size_t>(t) * voxels.size();
                if (is_test[static_cast<size_t>(t)]) {
                    auto& sum = test_sum[image[static_cast<size_t>(t)]];
                    sum.resize(voxels.size(), 0);
                    for (size_t v = 0; v < voxels.size(); ++v) sum[v] += row[v];
                    ++test_count[image[static_cast<size_t>(t)]];
                } else {
                    s.x_train.insert(s.x_train.end(), row, row + voxels.size());
                    s.train_images.push_back(image[static_cast<size_t>(t)]);
                }
            }
        }
        for (auto& [id, sum] : test_sum) {
            if (test_count[id] != 3) continue;
            for (float& x : sum) x /= 3;
            s.x_test.insert(s.x_test.end(), sum.begin(), sum.end());
            s.test_images.push_back(id);
        }
        return s;
    }

    std::vector<soul::Scene> scenes() {
        const soul::CsvTable t = soul::read_csv(at(m_root, "phantom/scenes.csv"));
        std::vector<soul::Scene> out(t.rows.size());
        const int id = t.require("nsdId", "scenes.csv"), c = t.require("category", "scenes.csv"), x = t.require("x", "scenes.csv"),
                  y = t.require("y", "scenes.csv");
        for (const auto& row : t.rows) {
            soul::Scene& s = out[std::stoul(row[static_cast<size_t>(id)])];
            s.category = std::stoi(row[static_cast<size_t>(c)]);
            s.x = std::stod(row[static_cast<size_t>(x)]);
            s.y = std::stod(row[static_cast<size_t>(y)]);
        }
        return out;
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = soultest::tempFolder("phantom");
        m_root = m_dir + "/subject";
        soul::PhantomOptions o;
        o.out = m_root;
        o.seed = kSeed;
        o.sessions = kSessions;
        int64_t last = -1;
        soul::Progress progress;
        progress.report = [&](int64_t step, int64_t steps, const std::string&) {
            QVERIFY(step >= last && step <= steps);
            last = step;
        };
        m_summary = soul::generate_phantom(o, progress);
        QCOMPARE(m_summary.trials, int64_t(1500));
        QCOMPARE(m_summary.images, int64_t(1300));
        qInfo("phantom: %lld visual voxels, generated in %.1f s", static_cast<long long>(m_summary.visual_voxels), m_summary.seconds);
    }
    void cleanupTestCase() { fs::remove_all(m_dir); }

    void betasAndRois() {
        const soul::Volume streams = soul::read_nifti(at(m_root, soul::nsd::roi_file(1, "streams")));
        const soul::Volume general = soul::read_nifti(at(m_root, soul::nsd::roi_file(1, "nsdgeneral")));
        const soul::Volume rois = soul::read_nifti(at(m_root, soul::nsd::roi_file(1, "prf-visualrois")));
        QVERIFY(soul::same_grid(streams, general) && soul::same_grid(streams, rois));
        QVERIFY(std::abs(streams.spacing[0] - 1.8) < 1e-6);
        std::array<int64_t, 8> per_stream{};
        for (int64_t n = 0; n < streams.frame_size(); ++n) {
            const int s = static_cast<int>(streams.voxels[static_cast<size_t>(n)]);
            const int g = static_cast<int>(general.voxels[static_cast<size_t>(n)]);
            const int r = static_cast<int>(rois.voxels[static_cast<size_t>(n)]);
            QVERIFY(s >= 0 && s <= 7);
            QVERIFY(g >= -1 && g <= 1);
            QVERIFY(r >= -1 && r <= 7);
            QCOMPARE(g == 1, s > 0);                                  // nsdgeneral is the union of the streams
            if (r >= soul::nsd::kV1v && r <= soul::nsd::kV3d) QCOMPARE(s, int(soul::nsd::kEarly));
            if (r == soul::nsd::kHV4) QCOMPARE(s, int(soul::nsd::kMidventral));
            ++per_stream[static_cast<size_t>(s)];
        }
        for (int s = 1; s <= 7; ++s) QVERIFY2(per_stream[static_cast<size_t>(s)] > 500, qPrintable(QString("stream %1").arg(s)));
        // Betas: NSD's int16 × 300, 750 trials a session, on the ROI grid; zero outside the mask.
        const soul::VolumeHeader h = soul::read_nifti_header(at(m_root, soul::nsd::betas_file(1, 2)));
        QCOMPARE(h.datatype, std::string("int16"));
        QCOMPARE(h.frames, int64_t(750));
        QCOMPARE(h.dims, streams.dims);
        const soul::Volume trial = soul::read_nifti_frame(at(m_root, soul::nsd::betas_file(1, 1)), 17);
        double sq = 0;
        int64_t inside = 0;
        for (int64_t n = 0; n < trial.frame_size(); ++n) {
            const float raw = trial.voxels[static_cast<size_t>(n)];
            QCOMPARE(raw, std::round(raw));                           // stored as integers
            if (general.voxels[static_cast<size_t>(n)] != 1) QCOMPARE(raw, 0.0f);
            else { sq += (raw / 300.0) * (raw / 300.0); ++inside; }
        }
        const double rms = std::sqrt(sq / inside);                    // percent signal change
        QVERIFY2(rms > 0.5 && rms < 10, qPrintable(QString("rms %1 %").arg(rms)));
        QVERIFY(!soul::read_nifti_header(at(m_root, soul::nsd::t1_file(1))).path.empty());
    }

    void designIsNsdLike() {
        const std::string mat = at(m_root, soul::nsd::expdesign_file());
        const auto names = soul::mat_variables(mat);
        for (const char* n : {"masterordering", "subjectim", "sharedix"}) QVERIFY(std::find(names.begin(), names.end(), n) != names.end());
        const auto master = soul::read_mat(mat, "masterordering");
        const auto subjectim = soul::read_mat(mat, "subjectim");
        const auto sharedix = soul::read_mat(mat, "sharedix");
        QCOMPARE(master.rows, int64_t(1));
        QCOMPARE(master.cols, int64_t(1500));
        QCOMPARE(subjectim.rows, int64_t(8));
        QCOMPARE(subjectim.cols, int64_t(1300));
        QCOMPARE(sharedix.cols, int64_t(100));
        // subjectim row 1 is a permutation of the 1-based ids; its first 100 are the shared ones.
        std::set<int64_t> ids;
        for (int64_t c = 0; c < 1300; ++c) ids.insert(static_cast<int64_t>(subjectim.at(0, c)));
        QCOMPARE(*ids.begin(), int64_t(1));
        QCOMPARE(*ids.rbegin(), int64_t(1300));
        QCOMPARE(ids.size(), size_t(1300));
        std::set<int64_t> shared(sharedix.values.begin(), sharedix.values.end());
        for (int64_t c = 0; c < 100; ++c) QVERIFY(shared.count(static_cast<int64_t>(subjectim.at(0, c))));
        std::map<int64_t, int> shown;
        for (double p : master.values) {
            QVERIFY(p >= 1 && p <= 1300);
            const int64_t id = static_cast<int64_t>(subjectim.at(0, static_cast<int64_t>(p) - 1));
            QCOMPARE(p <= 100, shared.count(id) == 1);                // NSD's rule: ordering ≤ #shared marks a shared image
            ++shown[id];
        }
        for (const auto& [id, count] : shown) QCOMPARE(count, shared.count(id) ? 3 : 1);
        // The stimulus table agrees: 0-based nsdId, shared flags, 1-based trial numbers per repeat.
        const soul::CsvTable info = soul::read_csv(at(m_root, soul::nsd::stim_info_file()));
        QCOMPARE(info.rows.size(), size_t(1300));
        const int nsd_id = info.require("nsdId", "csv"), flag = info.require("shared1000", "csv"), rep0 = info.require("subject1_rep0", "csv"),
                  rep2 = info.require("subject1_rep2", "csv");
        for (const auto& row : info.rows) {
            const int64_t id = std::stoll(row[static_cast<size_t>(nsd_id)]);
            QCOMPARE(row[static_cast<size_t>(flag)] == "True", shared.count(id + 1) == 1);
            const int64_t first = std::stoll(row[static_cast<size_t>(rep0)]);
            QVERIFY(first >= 1 && first <= 1500);
            const int64_t position = static_cast<int64_t>(master.values[static_cast<size_t>(first - 1)]);
            QCOMPARE(static_cast<int64_t>(subjectim.at(0, position - 1)) - 1, id);
            QCOMPARE(std::stoll(row[static_cast<size_t>(rep2)]) > 0, shared.count(id + 1) == 1);
        }
    }

    void stimuliAndCaptions() {
        const std::string h5 = at(m_root, soul::nsd::stimuli_file());
        const auto shape = soul::image_brick_shape(h5);
        QCOMPARE(shape.count, int64_t(1300));
        QCOMPARE(shape.height, int64_t(128));
        QCOMPARE(shape.width, int64_t(128));
        // Image 1234 is exactly the scene the generator describes.
        const auto labels = soul::read_idx_labels("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
        const auto objects = soul::read_idx_images("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
        const soul::Scene scene = soul::phantom_scene(kSeed, 1234, labels);
        QCOMPARE(soul::read_image_brick(h5, 1234, 1), soul::render_scene(scene, objects, 128));
        QCOMPARE(static_cast<int>(labels[static_cast<size_t>(scene.fmnist_index)]), scene.category);
        QVERIFY_THROWS_EXCEPTION(soul::Error, soul::read_image_brick(h5, 1299, 2));
        // Captions: 5 per image, shared images in val2017, the rest in train2017, naming the object.
        const auto train = soul::read_coco_captions(at(m_root, soul::nsd::coco_captions_file("train2017")));
        const auto val = soul::read_coco_captions(at(m_root, soul::nsd::coco_captions_file("val2017")));
        QCOMPARE(train.size() + val.size(), size_t(1300));
        QCOMPARE(val.size(), size_t(100));
        for (const auto& [id, captions] : train) QCOMPARE(captions.size(), size_t(5));
        const auto& captions1234 = (train.count(101234) ? train : val).at(101234);
        const std::string colour = soul::kPhantomColours[static_cast<size_t>(scene.object_colour)].name;
        for (const auto& c : captions1234) QVERIFY2(c.find(colour) != std::string::npos, c.c_str());
        std::set<std::string> distinct(captions1234.begin(), captions1234.end());
        QCOMPARE(distinct.size(), size_t(5));
    }

    void groundTruthIsRecoverable() {
        const auto truth = scenes();
        const std::string h5 = at(m_root, soul::nsd::stimuli_file());
        // Early visual cortex → the image, downsampled to 16 × 16 grey.
        {
            const Split s = split({soul::nsd::kEarly});
            auto small = [&](int64_t id) {
                const auto rgb = soul::read_image_brick(h5, id, 1);
                std::vector<float> out(256, 0);
                for (int y = 0; y < 128; ++y)
                    for (int x = 0; x < 128; ++x)
                        out[static_cast<size_t>((y / 8) * 16 + x / 8)] +=
                            (rgb[static_cast<size_t>((y * 128 + x) * 3)] + rgb[static_cast<size_t>((y * 128 + x) * 3 + 1)] +
                             rgb[static_cast<size_t>((y * 128 + x) * 3 + 2)]) / (3.0f * 64);
                return out;
            };
            std::vector<float> y_train, y_test;
            for (int64_t id : s.train_images) { const auto v = small(id); y_train.insert(y_train.end(), v.begin(), v.end()); }
            for (int64_t id : s.test_images) { const auto v = small(id); y_test.insert(y_test.end(), v.begin(), v.end()); }
            const auto model = soul::fit_ridge(s.x_train, static_cast<int64_t>(s.train_images.size()), s.voxels, y_train, 256);
            const auto predicted = soul::predict_ridge(model, s.x_test, static_cast<int64_t>(s.test_images.size()));
            const int64_t n = static_cast<int64_t>(s.test_images.size());
            double own = 0, other = 0;
            int wins = 0, pairs = 0;
            for (int64_t i = 0; i < n; ++i) {
                const double r = soul::pearson(predicted.data() + i * 256, y_test.data() + i * 256, 256);
                own += r;
                for (int64_t j = 0; j < n; ++j) {
                    if (j == i) continue;
                    const double q = soul::pearson(predicted.data() + i * 256, y_test.data() + j * 256, 256);
                    other += q;
                    wins += r > q;
                    ++pairs;
                }
            }
            own /= n;
            other /= pairs;
            const double two_way = static_cast<double>(wins) / pairs;
            qInfo("early -> 16x16 image: r = %.3f (mismatched pairs %.3f), 2-way identification %.1f%% (chance 50%%), %lld voxels, lambda %g",
                  own, other, 100 * two_way, static_cast<long long>(s.voxels), model.lambda);
            // 1200 single training trials at the default SNR: well above chance, far from perfect.
            QVERIFY(own > other + 0.12);
            QVERIFY(two_way > 0.70);
        }
        // Category from ventral cortex (well above chance) and from parietal cortex (near chance);
        // position from parietal cortex.
        auto decode_category = [&](const Split& s) {
            std::vector<float> y(s.train_images.size() * soul::kCategories, 0);
            for (size_t i = 0; i < s.train_images.size(); ++i)
                y[i * soul::kCategories + static_cast<size_t>(truth[static_cast<size_t>(s.train_images[i])].category)] = 1;
            const auto model = soul::fit_ridge(s.x_train, static_cast<int64_t>(s.train_images.size()), s.voxels, y, soul::kCategories);
            std::vector<int> labels;
            for (int64_t id : s.test_images) labels.push_back(truth[static_cast<size_t>(id)].category);
            return accuracy(soul::predict_ridge(model, s.x_test, static_cast<int64_t>(s.test_images.size())), labels, soul::kCategories);
        };
        const Split ventral = split({soul::nsd::kVentral});
        const Split parietal = split({soul::nsd::kParietal});
        const double ventral_category = decode_category(ventral), parietal_category = decode_category(parietal);
        std::vector<float> pos_train, pos_test;
        for (int64_t id : parietal.train_images) { pos_train.push_back(static_cast<float>(truth[static_cast<size_t>(id)].x)); pos_train.push_back(static_cast<float>(truth[static_cast<size_t>(id)].y)); }
        for (int64_t id : parietal.test_images) { pos_test.push_back(static_cast<float>(truth[static_cast<size_t>(id)].x)); pos_test.push_back(static_cast<float>(truth[static_cast<size_t>(id)].y)); }
        const auto model = soul::fit_ridge(parietal.x_train, static_cast<int64_t>(parietal.train_images.size()), parietal.voxels, pos_train, 2);
        const auto predicted = soul::predict_ridge(model, parietal.x_test, static_cast<int64_t>(parietal.test_images.size()));
        std::vector<float> px, py, tx, ty;
        for (size_t i = 0; i < parietal.test_images.size(); ++i) {
            px.push_back(predicted[i * 2]);
            py.push_back(predicted[i * 2 + 1]);
            tx.push_back(pos_test[i * 2]);
            ty.push_back(pos_test[i * 2 + 1]);
        }
        const double rx = soul::pearson(px.data(), tx.data(), static_cast<int64_t>(px.size()));
        const double ry = soul::pearson(py.data(), ty.data(), static_cast<int64_t>(py.size()));
        qInfo("category from ventral: %.1f%%, from parietal: %.1f%% (chance 10%%); position from parietal: r_x = %.2f, r_y = %.2f",
              100 * ventral_category, 100 * parietal_category, rx, ry);
        QVERIFY(ventral_category > 0.5);
        QVERIFY(parietal_category < 0.25);
        QVERIFY(rx > 0.6 && ry > 0.6);
    }

    // The dissociation table's predictions come from these weights: what each stream carries.
    void carriersFollowTheForwardModel() {
        using soul::PhantomFeature;
        namespace nsd = soul::nsd;
        auto w = [](int stream, PhantomFeature f) { return soul::phantom_carrying_weight(stream, f); };
        for (int s : {nsd::kMidventral, nsd::kVentral, nsd::kMidlateral, nsd::kLateral}) QVERIFY(w(s, PhantomFeature::Category) > 0);
        for (int s : {nsd::kEarly, nsd::kMidparietal, nsd::kParietal, nsd::kUnknown}) QCOMPARE(w(s, PhantomFeature::Category), 0.0);
        for (int s : {nsd::kEarly, nsd::kMidventral, nsd::kLateral, nsd::kParietal}) QVERIFY(w(s, PhantomFeature::Position) > 0);
        QCOMPARE(w(nsd::kVentral, PhantomFeature::Position), 0.0);   // category and shape, no place
        for (int s : {nsd::kEarly, nsd::kMidventral, nsd::kVentral}) QVERIFY(w(s, PhantomFeature::Colour) > 0);
        for (int s : {nsd::kLateral, nsd::kParietal}) QCOMPARE(w(s, PhantomFeature::Colour), 0.0);
        QVERIFY(w(nsd::kEarly, PhantomFeature::Edges) > 2 * w(nsd::kMidventral, PhantomFeature::Edges));
        for (int s : {nsd::kVentral, nsd::kLateral, nsd::kParietal}) QCOMPARE(w(s, PhantomFeature::Edges), 0.0);
    }

    void sameSeedSameBytes() {
        soul::PhantomOptions o;
        o.sessions = 1;
        o.seed = 3;
        o.out = m_dir + "/a";
        soul::generate_phantom(o);
        o.out = m_dir + "/b";
        soul::generate_phantom(o);
        const auto a = hashes(m_dir + "/a"), b = hashes(m_dir + "/b");
        QCOMPARE(a.size(), size_t(19));
        QVERIFY(a == b);
        o.seed = 4;
        o.out = m_dir + "/c";
        soul::generate_phantom(o);
        const auto c = hashes(m_dir + "/c");
        QVERIFY(c.at(soul::nsd::stimuli_file()) != a.at(soul::nsd::stimuli_file()));
        fs::remove_all(m_dir + "/a");
        fs::remove_all(m_dir + "/b");
        fs::remove_all(m_dir + "/c");
    }

    void badArguments_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("mricron");
        QTest::addColumn<QString>("message");
        const QString out = QString::fromStdString(m_dir + "/bad");
        QTest::newRow("unknown size") << QStringList{"--out", out, "--size", "huge"} << "" << "unknown --size 'huge'";
        QTest::newRow("negative snr") << QStringList{"--out", out, "--snr", "-1"} << "" << "--snr must be a positive number";
        QTest::newRow("unwritable out") << QStringList{"--out", "/proc/version/subject"} << "" << "cannot be created as the output folder";
        QTest::newRow("no mricron-data") << QStringList{"--out", out} << "/nonexistent/mricron" << "mricron-data";
        QTest::newRow("too few sessions") << QStringList{"--out", out, "--size", "full", "--sessions", "2"} << "" << "too few";
    }
    void badArguments() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, mricron);
        QFETCH(QString, message);
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        if (!mricron.isEmpty()) env.insert("SOUL_MRICRON_DIR", mricron);
        p.setProcessEnvironment(env);
        p.start(SOUL_CLI, QStringList{"phantom"} + arguments);
        QVERIFY(p.waitForFinished(60000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QCOMPARE(p.exitCode(), 1);
        QVERIFY2(err.contains(message), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestPhantom)
#include "tst_phantom.moc"
