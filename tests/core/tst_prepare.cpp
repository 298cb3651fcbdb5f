// prepare: values, shapes, 1-based index arithmetic, z-score statistics, repeat averaging, split
// counts, HDF5 axis order, crop and coordinates, caption join — on a tiny NSD-layout fixture with
// known betas and on the phantom; bad input named by file and field; interruption and resume;
// the loader.
#include "NiftiFixture.h"
#include "NsdFixture.h"
#include "soul/dataset.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/nsd_layout.h"
#include "soul/phantom.h"
#include "soul/prepare.h"
#include "soul/reconstruct.h"
#include "soul/volume.h"

#include <QCryptographicHash>

#include <fstream>
#include <nlohmann/json.hpp>
#include <QFile>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;
using soultest::NsdFixture;

namespace {

QByteArray hash_file(const std::string& path) {
    QFile f(QString::fromStdString(path));
    f.open(QIODevice::ReadOnly);
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

// What prepare must give for a fixture voxel: betas/300 (the int16 rounding included), z-scored
// with the mean and SD of the session's training trials.
struct Expected {
    const NsdFixture& f;
    double raw(int64_t trial, int64_t voxel) const { return std::round(NsdFixture::beta(trial, voxel) * 300) / 300; }
    bool shared(int64_t trial) const { return f.order[static_cast<size_t>(trial - 1)] < f.shared; }
    double z(int64_t trial, int64_t voxel) const {
        const int64_t first = (trial - 1) / 750 * 750 + 1;
        double sum = 0, sq = 0;
        int n = 0;
        for (int64_t t = first; t < first + 750; ++t)
            if (!shared(t)) {
                sum += raw(t, voxel);
                sq += raw(t, voxel) * raw(t, voxel);
                ++n;
            }
        const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
        return (raw(trial, voxel) - mean) / sd;
    }
};

}  // namespace

class TestPrepare : public QObject {
    Q_OBJECT
    std::string m_dir;
    NsdFixture m_fixture;

    soul::PrepareOptions options(const std::string& root, const std::string& out) {
        soul::PrepareOptions o;
        o.nsd_root = root;
        o.out = out;
        o.image_size = 8;
        return o;
    }
    void expectError(const soul::PrepareOptions& o, const QString& file, const QString& problem) {
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
        m_dir = soultest::tempFolder("prepare");
        m_fixture = soultest::write_nsd_fixture(m_dir + "/nsd");
    }
    void cleanupTestCase() { fs::remove_all(m_dir); }

    void valuesIndicesAndSplits() {
        const soul::PrepareSummary s = soul::prepare_dataset(options(m_fixture.root, m_dir + "/prepared"));
        QCOMPARE(s.sessions, 2);
        QCOMPARE(s.voxels, int64_t(18));                      // 3 × 2 × 3 voxels in nsdgeneral
        QCOMPARE(s.train_trials, int64_t(1500 - 12));
        QCOMPARE(s.test_images, int64_t(4));
        soul::PreparedDataset d(m_dir + "/prepared");
        // Crop box of nsdgeneral and every voxel's coordinates.
        QCOMPARE(d.manifest().crop_offset, (std::array<int64_t, 3>{1, 1, 0}));
        QCOMPARE(d.manifest().crop_dims, (std::array<int64_t, 3>{3, 2, 3}));
        for (int64_t v = 0; v < d.voxels(); ++v) {
            const int64_t n = m_fixture.mask[static_cast<size_t>(v)];
            QCOMPARE(int64_t(d.voxel_ijk()[v * 3]), n % 5);
            QCOMPARE(int64_t(d.voxel_ijk()[v * 3 + 1]), (n / 5) % 4);
            QCOMPARE(int64_t(d.voxel_ijk()[v * 3 + 2]), n / 20);
            QCOMPARE(int(d.voxel_stream()[v]), int(1 + (n % 5 + n / 20) % 7));
            QCOMPARE(int(d.voxel_visualroi()[v]), int((n / 5) % 4));
        }
        // Training rows: z-scored single trials, images through NSD's 1-based indices.
        const Expected e{m_fixture};
        for (int64_t row : {int64_t(0), int64_t(700), int64_t(1487)}) {
            const int32_t image = d.image_of(soul::Split::Train, row);
            // Which trial is this row? Rows are trials in order, shared ones left out.
            int64_t trial = 0, seen = -1;
            while (seen < row) {
                ++trial;
                if (!e.shared(trial)) ++seen;
            }
            QCOMPARE(int64_t(d.nsd_id(image)), m_fixture.image_of_trial(trial - 1));
            for (int64_t v = 0; v < d.voxels(); ++v)
                QVERIFY(std::abs(d.betas(soul::Split::Train, row)[v] - e.z(trial, m_fixture.mask[static_cast<size_t>(v)])) < 1e-4);
        }
        // Per session, the training rows of each voxel have mean 0 and SD 1.
        int64_t session1_rows = 0;
        for (int64_t t = 1; t <= 750; ++t) session1_rows += !e.shared(t);
        for (int64_t v = 0; v < d.voxels(); ++v) {
            double sum = 0, sq = 0;
            for (int64_t row = 0; row < session1_rows; ++row) {
                const double x = d.betas(soul::Split::Train, row)[v];
                sum += x;
                sq += x * x;
            }
            QVERIFY(std::abs(sum / session1_rows) < 1e-4);
            QVERIFY(std::abs(std::sqrt(sq / session1_rows) - 1) < 1e-4);
        }
        // Test images: repeats averaged (z-scored with their own session's training statistics).
        for (int64_t i = 0; i < d.size(soul::Split::Test); ++i) {
            QCOMPARE(d.repeats(i), 3);
            const int64_t id = d.nsd_id(d.image_of(soul::Split::Test, i));
            std::vector<int64_t> trials;
            for (int64_t t = 1; t <= 1500; ++t)
                if (m_fixture.image_of_trial(t - 1) == id) trials.push_back(t);
            QCOMPARE(trials.size(), size_t(3));
            for (int64_t v = 0; v < d.voxels(); ++v) {
                double mean = 0;
                for (int64_t t : trials) mean += e.z(t, m_fixture.mask[static_cast<size_t>(v)]) / 3;
                QVERIFY(std::abs(d.betas(soul::Split::Test, i)[v] - mean) < 1e-4);
            }
        }
        // Images and captions joined by nsdId → cocoId.
        for (int32_t image : {0, 17, static_cast<int32_t>(d.manifest().images - 1)}) {
            const int64_t id = d.nsd_id(image);
            QCOMPARE(int(d.image(image)[5]), int((id + 5) % 251));
            QCOMPARE(d.captions(image).size(), size_t(3));
            QCOMPARE(d.captions(image)[2], NsdFixture::caption(id, 2));
        }
        // The crop volume puts each voxel back in its place.
        const auto volume = d.to_crop_volume(d.betas(soul::Split::Train, 0));
        QCOMPARE(volume.size(), size_t(18));
        QCOMPARE(volume[static_cast<size_t>(((2 - 0) * 2 + (2 - 1)) * 3 + (3 - 1))], d.betas(soul::Split::Train, 0)[17]);
    }

    void hdf5BetasGiveTheSameDataset() {
        const NsdFixture f = soultest::write_nsd_fixture(m_dir + "/nsd-hdf5", true);
        soul::PrepareOptions o = options(f.root, m_dir + "/prepared-hdf5");
        o.betas_format = "hdf5";
        soul::prepare_dataset(o);
        if (!fs::exists(m_dir + "/prepared/data.bin")) soul::prepare_dataset(options(m_fixture.root, m_dir + "/prepared"));
        QCOMPARE(hash_file(m_dir + "/prepared-hdf5/data.bin"), hash_file(m_dir + "/prepared/data.bin"));
    }

    void sessionsAndSharedOptions() {
        soul::PrepareOptions o = options(m_fixture.root, m_dir + "/session1");
        o.first_session = o.last_session = 1;
        o.shared = "all";
        const auto s = soul::prepare_dataset(o);
        int64_t shared_trials = 0;
        for (int64_t t = 0; t < 750; ++t) shared_trials += m_fixture.order[static_cast<size_t>(t)] < m_fixture.shared;
        QCOMPARE(s.train_trials, 750 - shared_trials);
        soul::PreparedDataset d(m_dir + "/session1");
        int64_t repeats = 0;
        for (int64_t i = 0; i < d.size(soul::Split::Test); ++i) repeats += d.repeats(i);
        QCOMPARE(repeats, shared_trials);                      // every shared trial of session 1, averaged per image
        o.shared = "complete";
        o.out = m_dir + "/session1-complete";
        QVERIFY(soul::prepare_dataset(o).test_images <= s.test_images);
        // Same parameters again: nothing to do.
        o.shared = "all";
        o.out = m_dir + "/session1";
        QVERIFY(soul::prepare_dataset(o).already_prepared);
    }

    void interruptedThenResumed() {
        soul::CancelToken token;
        soul::Progress p;
        p.cancel = &token;
        p.report = [&](int64_t, int64_t, const std::string& message) {
            if (message.find("session 2") != std::string::npos) token.cancel();
        };
        const std::string out = m_dir + "/resumed";
        try {
            soul::prepare_dataset(options(m_fixture.root, out), p);
            QFAIL("not cancelled");
        } catch (const soul::Cancelled&) {
        }
        QVERIFY(!fs::exists(out));                               // nothing that looks complete
        QVERIFY(fs::exists(out + ".partial/session01.f32"));
        QVERIFY_THROWS_EXCEPTION(soul::Error, soul::PreparedDataset{out});
        const auto s = soul::prepare_dataset(options(m_fixture.root, out));
        QCOMPARE(s.sessions_reused, 1);
        QVERIFY(!fs::exists(out + ".partial"));
        if (!fs::exists(m_dir + "/prepared/data.bin")) soul::prepare_dataset(options(m_fixture.root, m_dir + "/prepared"));
        QCOMPARE(hash_file(out + "/data.bin"), hash_file(m_dir + "/prepared/data.bin"));
    }

    void badInput() {
        // Each case: a copy of the fixture with one thing wrong.
        auto broken = [&](const std::string& name) {
            const std::string root = m_dir + "/bad-" + name;
            fs::remove_all(root);
            fs::copy(m_fixture.root, root, fs::copy_options::recursive);
            return root;
        };
        {
            const std::string root = broken("missing-session");
            fs::remove(fs::path(root) / soul::nsd::betas_file(1, 2));
            soul::PrepareOptions o = options(root, m_dir + "/out-missing");
            o.first_session = 1;
            o.last_session = 2;
            expectError(o, "betas_session02.nii.gz", "session 2 is missing");
        }
        {
            const std::string root = broken("shape");
            soul::Volume v;
            v.dims = {4, 4, 3};
            v.frames = 750;
            v.voxels.assign(4 * 4 * 3 * 750, 0);
            soul::write_nifti(v, (fs::path(root) / soul::nsd::betas_file(1, 2)).string(), soul::StoredType::int16);
            expectError(options(root, m_dir + "/out-shape"), "betas_session02.nii.gz", "has shape 4x4x3x750; expected 5x4x3x750");
        }
        {
            const std::string root = broken("grid");
            soul::Volume v;
            v.dims = {6, 4, 3};
            v.voxels.assign(72, 1);
            soul::write_nifti(v, (fs::path(root) / soul::nsd::roi_file(1, "streams")).string(), soul::StoredType::int16);
            expectError(options(root, m_dir + "/out-grid"), "streams.nii.gz", "is on another grid");
        }
        {
            const std::string root = broken("design");
            const std::string mat = (fs::path(root) / soul::nsd::expdesign_file()).string();
            const auto master = soul::read_mat(mat, "masterordering");
            const auto subjectim = soul::read_mat(mat, "subjectim");
            soul::write_mat(mat, {master, subjectim});
            expectError(options(root, m_dir + "/out-design"), "nsd_expdesign.mat", "has no variable 'sharedix'");
        }
        {
            // NaN in masterordering: a comparison with NaN is false, so a plain range check lets it through.
            const std::string root = broken("design-nan");
            const std::string mat = (fs::path(root) / soul::nsd::expdesign_file()).string();
            auto master = soul::read_mat(mat, "masterordering");
            master.values[5] = std::numeric_limits<double>::quiet_NaN();
            soul::write_mat(mat, {master, soul::read_mat(mat, "subjectim"), soul::read_mat(mat, "sharedix")});
            expectError(options(root, m_dir + "/out-design-nan"), "nsd_expdesign.mat", "field 'masterordering' has nan at trial 6");
        }
        {
            const std::string root = broken("imgbrick");
            const std::string h5 = (fs::path(root) / soul::nsd::stimuli_file()).string();
            soul::ImageBrickWriter w(h5, "images", 1, 8, 8);
            std::vector<uint8_t> pixels(192, 0);
            w.write(0, 1, pixels.data());
            w.close();
            expectError(options(root, m_dir + "/out-imgbrick"), "nsd_stimuli.hdf5", "has no dataset 'imgBrick'");
        }
        {
            const std::string root = broken("truncated");
            const std::string betas = (fs::path(root) / soul::nsd::betas_file(1, 1)).string();
            soultest::truncateCopy(betas, betas + ".tmp", 0.5);
            fs::rename(betas + ".tmp", betas);
            expectError(options(root, m_dir + "/out-truncated"), "betas_session01.nii.gz", "truncated");
        }
        {
            soul::PrepareOptions o = options(m_fixture.root, m_dir + "/out-x");
            o.betas_format = "mgh";
            expectError(o, "--betas", "nifti or hdf5");
        }
        {
            // A NaN inside the mask (a float betas file): refused, named, not z-scored into a NaN series.
            const std::string root = broken("nan");
            const std::string betas = (fs::path(root) / soul::nsd::betas_file(1, 1)).string();
            soul::Volume v = soul::read_nifti(betas);
            const soul::Volume mask = soul::read_nifti((fs::path(root) / soul::nsd::roi_file(1, "nsdgeneral")).string());
            const auto inside = std::find_if(mask.voxels.begin(), mask.voxels.end(), [](float x) { return x >= 1; }) - mask.voxels.begin();
            v.voxels[static_cast<size_t>(3 * v.frame_size() + inside)] = std::numeric_limits<float>::quiet_NaN();
            soul::write_nifti(v, betas, soul::StoredType::float32);
            expectError(options(root, m_dir + "/out-nan"), "betas_session01.nii.gz", "1 non-finite value (NaN or inf) inside the visual mask");
        }
    }

    // A manifest edited or damaged by hand: every field checked against its type, its range, the
    // other fields and data.bin's size, and named (not a segfault or a read past a section).
    void damagedManifestIsNamed_data() {
        QTest::addColumn<QString>("pointer");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("problem");
        QTest::newRow("count as text") << "/images" << "\"many\"" << "field 'images' is \"many\"; expected a whole number";
        QTest::newRow("missing count") << "/voxels" << "" << "lacks the field 'voxels'";
        QTest::newRow("negative count") << "/voxels" << "-3" << "field 'voxels' is -3";
        QTest::newRow("count that overflows") << "/voxels" << "4611686018427387904" << "field 'voxels' is 4611686018427387904";
        QTest::newRow("count against sections") << "/train_trials" << "99999" << "the manifest's counts imply 99999";
        QTest::newRow("image size 0") << "/image_size" << "0" << "field 'image_size' is 0; expected 8 to 1024";
        QTest::newRow("crop outside the grid") << "/crop/offset/0" << "1000000000" << "field 'crop/offset/0' is 1000000000";
        QTest::newRow("affine as text") << "/crop/ijk_to_ras/3" << "\"x\"" << "field 'crop/ijk_to_ras/3' is \"x\"; expected a finite number";
        QTest::newRow("crop not an object") << "/crop" << "\"x\"" << "lacks the field 'crop/dims/0'";
        QTest::newRow("sections not a list") << "/sections" << "{}" << "has no list of sections";
        QTest::newRow("section of the wrong type") << "/sections/2/dtype" << "\"float32\"" << "is float32; expected int32";
        QTest::newRow("section past the end") << "/sections/0/offset" << "999999999999" << "is truncated: section 'train_betas'";
        QTest::newRow("not an object") << "" << "[]" << "is not a SoulDiffuser prepared-dataset manifest";
    }
    void damagedManifestIsNamed() {
        QFETCH(QString, pointer);
        QFETCH(QString, value);
        QFETCH(QString, problem);
        const std::string good = m_dir + "/prepared", bad = m_dir + "/damaged";
        if (!fs::exists(good + "/manifest.json")) soul::prepare_dataset(options(m_fixture.root, good));
        fs::remove_all(bad);
        fs::copy(good, bad, fs::copy_options::recursive);
        nlohmann::json manifest = nlohmann::json::parse(std::ifstream(good + "/manifest.json"));
        const nlohmann::json::json_pointer where(pointer.toStdString());
        if (value.isEmpty()) manifest.at(where.parent_pointer()).erase(where.back());
        else manifest[where] = nlohmann::json::parse(value.toStdString());
        std::ofstream(bad + "/manifest.json") << manifest.dump();
        try {
            soul::PreparedDataset dataset(bad);
            QFAIL("a damaged manifest was accepted");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains("damaged/"), e.what());
            QVERIFY2(QString(e.what()).contains(problem), e.what());
        }
    }

    // Each section of data.bin carries a CRC-32 in the manifest: a flipped byte in a small section
    // is refused on open, in any section by verify_sections (inspect); both name data.bin and the
    // section. A dataset prepared before checksums still opens.
    void sectionChecksumsAreVerified() {
        const std::string good = m_dir + "/prepared", bad = m_dir + "/flipped";
        if (!fs::exists(good + "/manifest.json")) soul::prepare_dataset(options(m_fixture.root, good));
        const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(good + "/manifest.json"));
        QCOMPARE(soul::PreparedDataset(good).verify_sections(), int(manifest["sections"].size()));
        for (const auto& section : manifest["sections"]) {
            QVERIFY2(section.value("checksum", std::string()).rfind("crc32:", 0) == 0, section.dump().c_str());
            fs::remove_all(bad);
            fs::copy(good, bad, fs::copy_options::recursive);
            {
                std::fstream data(bad + "/data.bin", std::ios::in | std::ios::out | std::ios::binary);
                data.seekg(section["offset"].get<int64_t>());
                const char byte = static_cast<char>(data.get() ^ 0x10);
                data.seekp(section["offset"].get<int64_t>());
                data.put(byte);
            }
            try {
                soul::PreparedDataset(bad).verify_sections();
                QFAIL(qPrintable(QString::fromStdString("a flipped byte in section " + section["name"].get<std::string>() + " was accepted")));
            } catch (const soul::Error& e) {
                QVERIFY2(QString(e.what()).contains("flipped/data.bin: is damaged: section '" + QString::fromStdString(section["name"]) + "'"), e.what());
            }
        }
        nlohmann::json old = manifest;
        for (auto& section : old["sections"]) section.erase("checksum");
        fs::remove_all(bad);
        fs::copy(good, bad, fs::copy_options::recursive);
        std::ofstream(bad + "/manifest.json") << old.dump();
        QCOMPARE(soul::PreparedDataset(bad).verify_sections(), 0);
    }

    // --trials: a row, a range, train:N; anything else is refused, not half-read ("3-x" is not row 3).
    void trialListsAreStrict() {
        const std::string good = m_dir + "/prepared";
        if (!fs::exists(good + "/manifest.json")) soul::prepare_dataset(options(m_fixture.root, good));
        const soul::PreparedDataset dataset(good);
        QCOMPARE(soul::parse_trials("0, 2-3", dataset).size(), size_t(3));
        QCOMPARE(soul::parse_trials("train:1", dataset).front().row, int64_t(1));
        for (const char* bad : {"3-x", "3x", "x", "-1", "2-1", "1-", "1--2", "1 2"}) {
            try {
                soul::parse_trials(bad, dataset);
                QFAIL(qPrintable(QString("--trials '%1' was accepted").arg(bad)));
            } catch (const soul::Error& e) {
                QVERIFY2(QString(e.what()).contains("is not a row or a range"), e.what());
            }
        }
    }

    // --out: never a user's file or folder; a file in the way is named.
    void outputIsNeverAUsersFile() {
        const std::string file = m_dir + "/notes.txt";
        std::ofstream(file) << "mine";
        expectError(options(m_fixture.root, file), "notes.txt", "is a file, not a folder");
        QCOMPARE(fs::file_size(file), uintmax_t(4));
        const std::string folder = m_dir + "/my-folder";
        fs::create_directories(folder);
        std::ofstream(folder + "/keep.txt") << "mine";
        expectError(options(m_fixture.root, folder), "my-folder", "not a prepared dataset");
        QVERIFY(fs::exists(folder + "/keep.txt"));
        expectError(options(m_fixture.root, file + "/sub"), "notes.txt is a file", "cannot be created");
        QVERIFY(!fs::exists(file + ".partial") && !fs::exists(folder + ".partial"));
    }

    void phantomAndLoader() {
        soul::PhantomOptions po;
        po.out = m_dir + "/phantom";
        po.sessions = 2;
        soul::generate_phantom(po);
        soul::PrepareOptions o = options(po.out, m_dir + "/phantom-prepared");
        o.image_size = 64;
        const auto s = soul::prepare_dataset(o);
        QCOMPARE(s.train_trials, int64_t(1200));
        QCOMPARE(s.test_images, int64_t(100));
        QCOMPARE(s.images, int64_t(1300));
        soul::PreparedDataset d(o.out);
        for (int64_t i = 0; i < d.size(soul::Split::Test); ++i) QCOMPARE(d.repeats(i), 3);
        int64_t early = 0;
        for (int64_t v = 0; v < d.voxels(); ++v) early += d.voxel_stream()[v] == soul::nsd::kEarly;
        QVERIFY(early > 1000);
        // The loader: an epoch covers every row once, shuffled, and reproducibly for a seed.
        soul::BatchLoader loader(d, soul::Split::Train, 64, true, 11, 2, 3);
        std::set<int64_t> seen;
        std::vector<int64_t> first_epoch;
        for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
            const soul::Batch batch = loader.next();
            QCOMPARE(batch.epoch, int64_t(0));
            for (size_t r = 0; r < batch.rows.size(); ++r) {
                seen.insert(batch.rows[r]);
                first_epoch.push_back(batch.rows[r]);
                QCOMPARE(batch.betas[r * static_cast<size_t>(d.voxels()) + 5], d.betas(soul::Split::Train, batch.rows[r])[5]);
                QCOMPARE(batch.pixels[r * 64 * 64 * 3 + 7], d.image(batch.images[r])[7]);
            }
        }
        QCOMPARE(seen.size(), size_t(1200));
        QVERIFY(first_epoch != std::vector<int64_t>(first_epoch.size()) && !std::is_sorted(first_epoch.begin(), first_epoch.end()));
        QCOMPARE(loader.next().epoch, int64_t(1));
        soul::BatchLoader again(d, soul::Split::Train, 64, true, 11, 1, 2);
        QCOMPARE(again.next().rows, std::vector<int64_t>(first_epoch.begin(), first_epoch.begin() + 64));
    }
};

QTEST_GUILESS_MAIN(TestPrepare)
#include "tst_prepare.moc"
