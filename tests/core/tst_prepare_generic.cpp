// The generic layout (docs/datasets.md, "Other fMRI datasets") through the same preparation:
// a tiny dataset with known betas, PNG stimuli of several sizes, a trials.csv with captions and a
// partly filled split column; values, splits, repeats, captions, images and the errors.
#include "GenericFixture.h"
#include "NiftiFixture.h"
#include "soul/dataset.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/prepare.h"
#include "soul/volume.h"

#include <QtTest>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;

using namespace soultest::generic;

namespace {

// What prepare must give for a trial (CSV row, 0-based) at a voxel: z-scored with the mean and SD
// of its run's training trials.
double expected_z(size_t row, int64_t voxel, const std::map<std::string, bool>& test) {
    const int run = kRows[row].run;
    double sum = 0, sq = 0;
    int n = 0;
    for (const auto& r : kRows)
        if (r.run == run && !test.at(r.image)) {
            const double x = beta(run, r.volume - 1, voxel);
            sum += x;
            sq += x * x;
            ++n;
        }
    const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
    return (beta(run, kRows[row].volume - 1, voxel) - mean) / sd;
}

}  // namespace

class TestPrepareGeneric : public QObject {
    Q_OBJECT
    std::string m_dir, m_root;

    soul::PrepareOptions options(const std::string& root, const std::string& out) {
        soul::PrepareOptions o;
        o.nsd_root = root;
        o.out = out;
        o.image_size = 8;
        return o;
    }
    std::string broken(const std::string& name) {
        const std::string root = m_dir + "/bad-" + name;
        fs::remove_all(root);
        fs::copy(m_root, root, fs::copy_options::recursive);
        return root;
    }
    void expectError(const std::string& root, const QString& file, const QString& problem) {
        const soul::PrepareOptions o = options(root, root + "-out");
        try {
            soul::prepare_dataset(o);
            QFAIL("no error");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains(file), e.what());
            QVERIFY2(QString(e.what()).contains(problem), e.what());
        }
        QVERIFY(!fs::exists(fs::path(o.out) / "manifest.json"));
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = soultest::tempFolder("prepare-generic");
        m_root = soultest::write_generic_fixture(m_dir + "/generic");
    }
    void cleanupTestCase() { fs::remove_all(m_dir); }

    void valuesSplitsImagesCaptions() {
        const soul::PrepareSummary s = soul::prepare_dataset(options(m_root, m_dir + "/prepared"));
        QCOMPARE(s.sessions, 2);
        QCOMPARE(s.voxels, int64_t(18));                 // x = 1..3 of 4 × 3 × 2
        QCOMPARE(s.train_trials, int64_t(8));            // a b c d e f g h
        QCOMPARE(s.test_images, int64_t(1));             // complete: only t1 is shown 3 times
        soul::PreparedDataset d(m_dir + "/prepared");
        QCOMPARE(d.manifest().crop_offset, (std::array<int64_t, 3>{1, 0, 0}));
        QCOMPARE(d.manifest().crop_dims, (std::array<int64_t, 3>{3, 3, 2}));
        const std::map<std::string, bool> test = {{"a", false}, {"b", false}, {"c", false}, {"d", false}, {"e", false}, {"f", false},
                                                  {"g", false}, {"h", false}, {"t1", true},  {"t2", true},  {"t3", true}};
        // Training rows in CSV order; each voxel z-scored within its run.
        std::vector<size_t> train_rows;
        for (size_t r = 0; r < kRows.size(); ++r)
            if (!test.at(kRows[r].image)) train_rows.push_back(r);
        QCOMPARE(train_rows.size(), size_t(8));
        for (size_t i = 0; i < train_rows.size(); ++i) {
            const size_t row = train_rows[i];
            for (int64_t v = 0; v < d.voxels(); ++v) {
                const auto ijk = d.voxel_ijk() + v * 3;
                const int64_t n = ijk[0] + kNx * (ijk[1] + kNy * ijk[2]);
                QVERIFY(std::abs(d.betas(soul::Split::Train, static_cast<int64_t>(i))[v] - expected_z(row, n, test)) < 1e-4);
                QCOMPARE(int(d.voxel_stream()[v]), ijk[0] >= 2 ? 5 : 1);
            }
        }
        // t1: its 3 trials averaged; repeats kept.
        QCOMPARE(d.repeats(0), 3);
        for (int64_t v = 0; v < d.voxels(); ++v) {
            const auto ijk = d.voxel_ijk() + v * 3;
            const int64_t n = ijk[0] + kNx * (ijk[1] + kNy * ijk[2]);
            double mean = 0;
            for (size_t r = 0; r < kRows.size(); ++r)
                if (kRows[r].image == "t1") mean += expected_z(r, n, test) / 3;
            QVERIFY(std::abs(d.betas(soul::Split::Test, 0)[v] - mean) < 1e-4);
        }
        // Image files, pixels (a flat colour stays itself after resizing), captions merged per image.
        std::ifstream in(m_dir + "/prepared/manifest.json");
        const std::string manifest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        QVERIFY(manifest.find("\"layout\": \"generic\"") != std::string::npos);
        QVERIFY(manifest.find("images/t1.png") != std::string::npos);
        const int32_t t1 = d.image_of(soul::Split::Test, 0);
        QCOMPARE(int(d.image(t1)[0]), int(image_for("t1").pixels[0]));
        QCOMPARE(int(d.image(t1)[8 * 8 * 3 - 1]), int(image_for("t1").pixels[2]));
        QCOMPARE(d.captions(t1), (std::vector<std::string>{"t one", "another"}));
        QCOMPARE(d.captions(d.image_of(soul::Split::Train, 0)), (std::vector<std::string>{"a red square", "a square"}));

        // --shared all keeps t2 (2 repeats) and t3 (split column, 1 repeat) as well.
        soul::PrepareOptions all = options(m_root, m_dir + "/prepared-all");
        all.shared = "all";
        const soul::PrepareSummary s_all = soul::prepare_dataset(all);
        QCOMPARE(s_all.test_images, int64_t(3));
        QCOMPARE(s_all.train_trials, int64_t(8));

        // inspect, on the raw folder and on the prepared dataset.
        const std::string raw = soul::inspect_dataset(m_root);
        QVERIFY2(raw.find("generic-layout dataset") != std::string::npos && raw.find("2 files, 14 trials") != std::string::npos, raw.c_str());
        const std::string prepared = soul::inspect_dataset(m_dir + "/prepared-all");
        QVERIFY2(prepared.find("layout         generic") != std::string::npos, prepared.c_str());
        QVERIFY2(prepared.find("1 shown 1x, 1 shown 2x, 1 shown 3x") != std::string::npos, prepared.c_str());
        // A second run with the same inputs is a no-op.
        QVERIFY(soul::prepare_dataset(options(m_root, m_dir + "/prepared")).already_prepared);
    }

    void badInput() {
        {
            const std::string root = broken("frame");
            auto rows = kRows;
            rows[3].volume = 9;
            write_table(root + "/trials.csv", rows);
            expectError(root, "trials.csv", "row 5: volume 9 is beyond the 8 frames");
        }
        {
            const std::string root = broken("zero-frame");
            auto rows = kRows;
            rows[0].volume = 0;
            write_table(root + "/trials.csv", rows);
            expectError(root, "trials.csv", "row 2: 'volume' is 1-based");
        }
        {
            const std::string root = broken("grid");
            soul::Volume v;
            v.dims = {4, 3, 3};
            v.frames = 8;
            v.voxels.assign(4 * 3 * 3 * 8, 0);
            soul::write_nifti(v, root + "/betas/run-1.nii.gz");
            expectError(root, "run-1.nii.gz", "is on another grid than");
        }
        {
            const std::string root = broken("mask");
            fs::remove(root + "/rois/mask.nii.gz");
            expectError(root, "mask.nii.gz", "needs the visual mask");
        }
        {
            const std::string root = broken("image");
            std::ofstream(root + "/images/c.png") << "not an image";
            expectError(root, "c.png", "is not a PNG or JPEG image");
        }
        {
            const std::string root = broken("truncated-image");
            soultest::truncateCopy(m_root + "/images/c.png", root + "/images/c.png", 0.5);
            expectError(root, "c.png", "could not be decoded");
        }
        {
            // A small PNG whose header claims 65000×65000 pixels: refused before 12 GB are asked for.
            const std::string root = broken("huge-image");
            std::ifstream in(m_root + "/images/c.png", std::ios::binary);
            std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            const unsigned char side[4] = {0x00, 0x00, 0xfd, 0xe8};   // 65000, big-endian
            png.replace(16, 4, reinterpret_cast<const char*>(side), 4);
            png.replace(20, 4, reinterpret_cast<const char*>(side), 4);
            const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17));   // IHDR's type and data
            const char crc_bytes[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8), static_cast<char>(crc)};
            png.replace(29, 4, crc_bytes, 4);
            std::ofstream(root + "/images/c.png", std::ios::binary) << png;
            expectError(root, "c.png", "65000x65000 pixels");
        }
        {
            const std::string root = broken("split");
            auto rows = kRows;
            rows[1].split = "validation";
            write_table(root + "/trials.csv", rows);
            expectError(root, "trials.csv", "'split' must be train or test, not 'validation'");
        }
        {
            const std::string root = broken("both-splits");
            auto rows = kRows;
            rows[3].split = "train";
            rows[7].split = "test";
            write_table(root + "/trials.csv", rows);
            expectError(root, "trials.csv", "images/t1.png is in both splits");
        }
        {
            const std::string root = broken("column");
            std::ofstream(root + "/trials.csv") << "betas,frame,image\nbetas/run-1.nii.gz,1,images/a.png\n";
            expectError(root, "trials.csv", "volume");
        }
        {
            soul::PrepareOptions o = options(m_root, m_dir + "/out-sessions");
            o.last_session = 2;
            QVERIFY_THROWS_EXCEPTION(soul::Error, soul::prepare_dataset(o));
        }
    }
};

QTEST_GUILESS_MAIN(TestPrepareGeneric)
#include "tst_prepare_generic.moc"
