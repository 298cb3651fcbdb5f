// NIfTI reading: affines under every qform/sform setting, scaling, 4D frames, writing, bad input.
#include "NiftiFixture.h"
#include "soul/error.h"
#include "soul/info.h"
#include "soul/volume.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QtTest>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <zlib.h>

using namespace soultest;

class TestVolumeIo : public QObject {
    Q_OBJECT
    std::string m_dir;

    std::string path(const std::string& name) const { return m_dir + "/" + name; }

    // A copy of `source` with `bytes` written at `offset` (header fields of a hostile file).
    static void patchedCopy(const std::string& source, const std::string& target, size_t offset, const std::string& bytes) {
        std::filesystem::copy_file(source, target, std::filesystem::copy_options::overwrite_existing);
        patch(target, offset, bytes);
    }
    static void patch(const std::string& target, size_t offset, const std::string& bytes) {
        std::fstream file(target, std::ios::binary | std::ios::in | std::ios::out);
        file.seekp(static_cast<std::streamoff>(offset));
        file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    template <typename T>
    static std::string bytesOf(T value) {
        return std::string(reinterpret_cast<const char*>(&value), sizeof value);
    }
    static void gzipCopy(const std::string& source, const std::string& target) {
        std::ifstream in(source, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        gzFile out = gzopen(target.c_str(), "wb");
        gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
        gzclose(out);
    }

    // nibabel's reading of a file (tests/core/nifti_reference.py read).
    static QJsonObject nibabel(const std::string& file) {
        QProcess p;
        p.start(SOUL_PYTHON, {SOUL_SOURCE_DIR "/tests/core/nifti_reference.py", "read", QString::fromStdString(file)});
        if (!p.waitForFinished(120000) || p.exitCode() != 0) qFatal("nibabel could not read %s: %s", file.c_str(), p.readAllStandardError().constData());
        return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
    }

    static void compareAffine(const soul::Affine& a, const std::array<double, 12>& expected) {
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 4; ++c)
                if (std::abs(a(r, c) - expected[r * 4 + c]) > 1e-5)
                    QFAIL(qPrintable(QString("affine(%1,%2) = %3, expected %4").arg(r).arg(c).arg(a(r, c)).arg(expected[r * 4 + c])));
    }

private Q_SLOTS:
    void initTestCase() { m_dir = tempFolder("volume-io"); }
    void cleanupTestCase() { std::filesystem::remove_all(m_dir); }

    void sformWinsWhenSet() {
        NiftiSpec s;
        s.qform_code = 1;           // a qform that differs: must be ignored
        s.quatern_d = 1;
        s.sform_code = 2;
        s.srow = {{{0, -2, 0, 11}, {3, 0, 0, -12}, {0, 0, 1.5f, 13}}};
        writeNifti(path("sform.nii"), s, ramp(s));
        const soul::Volume v = soul::read_nifti(path("sform.nii"));
        compareAffine(v.ijk_to_ras, {0, -2, 0, 11, 3, 0, 0, -12, 0, 0, 1.5, 13});
        QCOMPARE(soul::orientation_code(v.ijk_to_ras), std::string("ALS"));  // i→A, j→L, k→S
    }

    void qformWhenNoSform() {
        NiftiSpec s;
        s.pixdim = {2, 3, 4};
        s.qform_code = 1;
        s.quatern_d = 1;  // 180° about z: x and y flip (LPS-stored data)
        s.qoffset_x = 10;
        s.qoffset_y = 20;
        s.qoffset_z = 30;
        writeNifti(path("qform.nii.gz"), s, ramp(s));
        compareAffine(soul::read_nifti(path("qform.nii.gz")).ijk_to_ras, {-2, 0, 0, 10, 0, -3, 0, 20, 0, 0, 4, 30});
        s.qfac = -1;      // qfac −1 flips the third axis
        writeNifti(path("qfac.nii.gz"), s, ramp(s));
        const soul::Volume v = soul::read_nifti(path("qfac.nii.gz"));
        compareAffine(v.ijk_to_ras, {-2, 0, 0, 10, 0, -3, 0, 20, 0, 0, -4, 30});
        QCOMPARE(soul::orientation_code(v.ijk_to_ras), std::string("LPI"));
    }

    void pixdimOnlyWithoutCodes() {
        NiftiSpec s;
        s.pixdim = {1.8f, 1.8f, 2.5f};
        writeNifti(path("plain.nii"), s, ramp(s));
        compareAffine(soul::read_nifti(path("plain.nii")).ijk_to_ras, {1.8, 0, 0, 0, 0, 1.8, 0, 0, 0, 0, 2.5, 0});
    }

    void voxelOrderAndScaling() {
        NiftiSpec s;
        s.datatype = 4;           // int16, as NSD stores betas (× 300)
        s.scl_slope = 1.0f / 300;
        s.scl_inter = 0;
        s.sform_code = 1;
        std::vector<float> values = ramp(s);
        writeNifti(path("scaled.nii.gz"), s, values);
        const soul::Volume v = soul::read_nifti(path("scaled.nii.gz"));
        QCOMPARE(v.dims, (std::array<int64_t, 3>{4, 5, 6}));
        QCOMPARE(v.datatype, std::string("int16"));
        // voxel (i, j, k) holds (k*5 + j)*4 + i, scaled by 1/300
        QVERIFY(std::abs(v.at(3, 2, 1) - ((1 * 5 + 2) * 4 + 3) / 300.0f) < 1e-6);
        QVERIFY(std::abs(v.at(0, 4, 5) - ((5 * 5 + 4) * 4) / 300.0f) < 1e-6);
    }

    void fourDimensionalFrames() {
        NiftiSpec s;
        s.dims = {3, 4, 5, 7};
        s.sform_code = 1;
        writeNifti(path("series.nii.gz"), s, ramp(s));
        const soul::VolumeHeader h = soul::read_nifti_header(path("series.nii.gz"));
        QCOMPARE(h.frames, int64_t(7));
        const soul::Volume all = soul::read_nifti(path("series.nii.gz"));
        QCOMPARE(all.frames, int64_t(7));
        const soul::Volume f5 = soul::extract_frame(all, 5);
        QCOMPARE(f5.frames, int64_t(1));
        QCOMPARE(f5.at(2, 3, 4), static_cast<float>(5 * 60 + (4 * 4 + 3) * 3 + 2));
        const soul::Volume direct = soul::read_nifti_frame(path("series.nii.gz"), 5);
        QCOMPARE(direct.voxels, f5.voxels);
        soul::NiftiSeries series(path("series.nii.gz"));
        QCOMPARE(series.frame(6).voxels.front(), 6.0f * 60);
    }

    // A series reports the megabytes read and stops, cleanly, when its token is cancelled: the
    // studio's Open dialog has a progress bar and Cancel.
    void seriesReportsProgressAndCancels() {
        NiftiSpec s;
        s.dims = {64, 64, 64, 12};   // 12 MiB of floats: two chunks of 8 MiB
        s.sform_code = 1;
        writeNifti(path("big-series.nii.gz"), s, ramp(s));
        std::vector<std::array<int64_t, 2>> reports;
        soul::Progress progress;
        progress.report = [&](int64_t step, int64_t steps, const std::string& message) {
            QVERIFY(message.find("big-series.nii.gz") != std::string::npos);
            reports.push_back({step, steps});
        };
        soul::NiftiSeries series(path("big-series.nii.gz"), progress);
        QCOMPARE(series.frame(11).voxels.front(), 11.0f * 64 * 64 * 64);
        QVERIFY(reports.size() >= 3);
        QCOMPARE(reports.front()[0], int64_t(0));
        QCOMPARE(reports.back(), (std::array<int64_t, 2>{12, 12}));
        // Cancelled after the first chunk: soul::Cancelled, nothing half-read handed back.
        soul::CancelToken token;
        soul::Progress cancelling;
        cancelling.cancel = &token;
        cancelling.report = [&](int64_t step, int64_t, const std::string&) {
            if (step > 0) token.cancel();
        };
        QVERIFY_THROWS_EXCEPTION(soul::Cancelled, soul::NiftiSeries(path("big-series.nii.gz"), cancelling));
    }

    void writeThenRead() {
        soul::Volume v;
        v.dims = {5, 6, 7};
        v.spacing = {1.8, 1.8, 1.8};
        v.ijk_to_ras.m = {-1.8, 0, 0, 90, 0, 1.8, 0, -126, 0, 0, 1.8, -72, 0, 0, 0, 1};
        v.voxels.resize(5 * 6 * 7);
        for (size_t n = 0; n < v.voxels.size(); ++n) v.voxels[n] = static_cast<float>(n) * 0.5f - 3;
        soul::write_nifti(v, path("written.nii.gz"), soul::StoredType::float32);
        const soul::Volume back = soul::read_nifti(path("written.nii.gz"));
        QVERIFY(back.ijk_to_ras.nearly_equal(v.ijk_to_ras, 1e-4));
        QCOMPARE(back.voxels, v.voxels);
        soul::write_nifti(v, path("written16.nii"), soul::StoredType::int16);
        QCOMPARE(soul::read_nifti(path("written16.nii")).at(1, 0, 0), -3.0f);  // -2.5 rounds half away from zero
        QCOMPARE(soul::read_nifti(path("written16.nii")).at(3, 0, 0), -2.0f);  // -1.5 → -2
        QVERIFY(!std::filesystem::exists(path(".written.nii.gz.partial.nii.gz")));
    }

    void infoReportsFacts() {
        NiftiSpec s;
        s.dims = {3, 4, 5, 2};
        s.datatype = 4;
        s.sform_code = 1;
        s.pixdim = {2, 2, 2};
        s.srow = {{{2, 0, 0, -3}, {0, 2, 0, -4}, {0, 0, 2, -5}}};
        writeNifti(path("info.nii"), s, ramp(s));
        const soul::VolumeInfo info = soul::volume_info(path("info.nii"));
        QCOMPARE(info.range[0], 0.0f);
        QCOMPARE(info.range[1], 119.0f);
        QCOMPARE(info.header.datatype, std::string("int16"));
        QVERIFY(soul::info_text(info).find("3 x 4 x 5 x 2") != std::string::npos);
        QVERIFY(soul::info_json(info).find("\"orientation\":\"RAS\"") != std::string::npos);
        // A Latin-1 file name (not UTF-8): written into JSON with U+FFFD, not an exception.
        const std::string latin1 = path("caf\xe9.nii");
        std::filesystem::copy_file(path("info.nii"), latin1, std::filesystem::copy_options::overwrite_existing);
        QVERIFY(soul::info_json(soul::volume_info(latin1)).find("caf\xef\xbf\xbd.nii") != std::string::npos);
    }

    // Bad input: a soul::Error whose message names the file and the problem.
    void badInput_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("problem");
        QTest::newRow("missing") << "nope.nii.gz" << "no such file";
        QTest::newRow("not nifti") << "text.nii" << "not a NIfTI file";
        QTest::newRow("empty") << "empty.nii" << "empty";
        QTest::newRow("truncated gz") << "truncated.nii.gz" << "truncated";
        QTest::newRow("nifti-2 without dimensions") << "two.nii" << "dim[0] = 0";
        QTest::newRow("folder") << "folder.nii" << "folder";
        QTest::newRow("truncated nii") << "truncated.nii" << "truncated";
        QTest::newRow("zeros-only gz tail") << "short.nii.gz" << "truncated";
        QTest::newRow("nan in sform") << "nan-sform.nii" << "non-finite sform: srow_x[0] = nan";
        QTest::newRow("inf in qform") << "inf-qform.nii" << "non-finite qform: qoffset_x = inf";
        QTest::newRow("singular sform") << "singular.nii" << "singular sform";
        QTest::newRow("negative dim") << "negative-dim.nii" << "dim[2] = -5";
        QTest::newRow("nan voxel size") << "nan-pixdim.nii" << "pixdim[1] = nan";
        QTest::newRow("nan intercept") << "nan-inter.nii" << "scl_inter = nan";
        QTest::newRow("vox_offset inside header") << "offset.nii" << "vox_offset = 100";
        QTest::newRow("analyze, no magic") << "analyze.nii" << "ANALYZE";
        QTest::newRow("rgb voxels") << "rgb.nii" << "rgb24";
        QTest::newRow("size overflows") << "overflow.nii" << "overflows 64 bits";
        QTest::newRow("huge claim, small gz") << "claim.nii.gz" << "more than";
        QTest::newRow("over the memory budget") << "budget.nii" << "input budget";
        QTest::newRow("corrupt deflate data") << "corrupt.nii.gz" << "damaged gzip";
        QTest::newRow("bad gzip crc") << "crc.nii.gz" << "damaged gzip";
        QTest::newRow("pair without its .img") << "lonely.hdr" << "lonely.img";
        QTest::newRow("pair header as .nii") << "pairheader.nii" << ".hdr/.img pair";
    }
    void badInput() {
        QFETCH(QString, file);
        QFETCH(QString, problem);
        {
            std::ofstream(path("text.nii")) << "this is not an image, just text that is long enough to have a header";
            std::ofstream(path("empty.nii"));
            NiftiSpec s;
            s.dims = {40, 40, 40, 1};
            writeNifti(path("whole.nii.gz"), s, ramp(s));
            truncateCopy(path("whole.nii.gz"), path("truncated.nii.gz"), 0.5);
            s.sizeof_hdr = 540;
            writeNifti(path("two.nii"), s, {});
            std::filesystem::create_directories(path("folder.nii"));
            s = NiftiSpec();
            s.dims = {30, 30, 30, 1};
            writeNifti(path("whole.nii"), s, ramp(s));
            truncateCopy(path("whole.nii"), path("truncated.nii"), 0.7);
            // A gzip stream that ends cleanly but holds too few voxels: decompression alone
            // finds nothing wrong, only the byte count does.
            writeNifti(path("short.nii.gz"), s, std::vector<float>(27000 / 2, 0.0f));
            s = NiftiSpec();
            s.sform_code = 1;
            writeNifti(path("good.nii"), s, ramp(s));
            const std::string good = path("good.nii");
            const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
            patchedCopy(good, path("nan-sform.nii"), 280, bytesOf(nan));
            patchedCopy(good, path("singular.nii"), 280, bytesOf(0.0f));
            patch(path("singular.nii"), 300, bytesOf(0.0f));
            patch(path("singular.nii"), 320, bytesOf(0.0f));
            patchedCopy(good, path("inf-qform.nii"), 252, bytesOf(int16_t(1)) + bytesOf(int16_t(0)));
            patch(path("inf-qform.nii"), 268, bytesOf(inf));
            patchedCopy(good, path("negative-dim.nii"), 44, bytesOf(int16_t(-5)));
            patchedCopy(good, path("nan-pixdim.nii"), 80, bytesOf(nan));
            patchedCopy(good, path("nan-inter.nii"), 112, bytesOf(2.0f) + bytesOf(nan));
            patchedCopy(good, path("offset.nii"), 108, bytesOf(100.0f));
            patchedCopy(good, path("analyze.nii"), 344, std::string(4, '\0'));
            patchedCopy(good, path("rgb.nii"), 70, bytesOf(int16_t(128)));
            {
                // A NIfTI-2 header (int64 dims) whose voxel count, 2^20 to the fourth, overflows 64 bits.
                std::string header(544, '\0');
                std::memcpy(header.data(), "\x1c\x02\0\0n+2\0\r\n\x1a\n", 12);
                const int16_t type[2] = {16, 32};
                std::memcpy(header.data() + 12, type, sizeof type);
                const int64_t dims[5] = {4, 1 << 20, 1 << 20, 1 << 20, 1 << 20};
                std::memcpy(header.data() + 16, dims, sizeof dims);
                const double pixdim[5] = {1, 1, 1, 1, 1};
                std::memcpy(header.data() + 104, pixdim, sizeof pixdim);
                const int64_t offset = 544;
                std::memcpy(header.data() + 168, &offset, sizeof offset);
                std::ofstream(path("overflow.nii"), std::ios::binary) << header;
            }
            // 120 bytes of header that ask for 30000³ floats: refused from the sizes alone.
            patchedCopy(good, path("claim.nii"), 42, bytesOf(int16_t(30000)) + bytesOf(int16_t(30000)) + bytesOf(int16_t(30000)));
            gzipCopy(path("claim.nii"), path("claim.nii.gz"));
            // Within the file's size but over a budget of 512 bytes (set for this row below).
            std::filesystem::copy_file(good, path("budget.nii"), std::filesystem::copy_options::overwrite_existing);
            // Damage inside the compressed stream, and in the CRC of its trailer only.
            gzipCopy(path("whole.nii"), path("whole-again.nii.gz"));
            const auto size = std::filesystem::file_size(path("whole-again.nii.gz"));
            std::ifstream in(path("whole-again.nii.gz"), std::ios::binary);
            const std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            patchedCopy(path("whole-again.nii.gz"), path("corrupt.nii.gz"), size / 2, std::string(1, static_cast<char>(gz[size / 2] ^ 0x5a)));
            patchedCopy(path("whole-again.nii.gz"), path("crc.nii.gz"), size - 8, std::string(1, static_cast<char>(gz[size - 8] ^ 0x01)));
            patchedCopy(good, path("lonely.hdr"), 344, std::string("ni1\0", 4));
            std::filesystem::resize_file(path("lonely.hdr"), 348);
            std::filesystem::copy_file(path("lonely.hdr"), path("pairheader.nii"), std::filesystem::copy_options::overwrite_existing);
        }
        if (file == "budget.nii") setenv("SOUL_MEMORY_LIMIT", "512", 1);
        const auto unsetBudget = qScopeGuard([] { unsetenv("SOUL_MEMORY_LIMIT"); });
        const std::string target = path(file.toStdString());
        try {
            soul::read_nifti(target);
            QFAIL("no error for bad input");
        } catch (const soul::Error& e) {
            const QString message = e.what();
            QVERIFY2(message.contains(QString::fromStdString(target)), qPrintable(message));
            QVERIFY2(message.contains(problem, Qt::CaseInsensitive), qPrintable(message));
        }
    }

    // The forms ITK's reader refused (a .hdr/.img pair, a sheared affine, NIfTI-2) and a
    // big-endian scaled file, read as nibabel reads them: shape, affine and every voxel value.
    void matchesNibabel_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("pair by .img") << QString::fromStdString(path("pair.img"));
        QTest::newRow("pair by .hdr") << QString::fromStdString(path("pair.hdr"));
        QTest::newRow("big-endian, scaled, qform") << QString::fromStdString(path("bigendian.nii.gz"));
        QTest::newRow("nifti-2, 4D float64") << QString::fromStdString(path("two.nii"));
        QTest::newRow("nibabel's own nifti-2 example") << QString("/usr/lib/python3/dist-packages/nibabel/tests/data/example_nifti2.nii.gz");
    }
    void matchesNibabel() {
        QFETCH(QString, file);
        if (!std::filesystem::exists(path("pair.img"))) {
            QProcess p;
            p.start(SOUL_PYTHON, {SOUL_SOURCE_DIR "/tests/core/nifti_reference.py", "write", QString::fromStdString(m_dir)});
            QVERIFY2(p.waitForFinished(120000) && p.exitCode() == 0, p.readAllStandardError().constData());
        }
        const QJsonObject expected = nibabel(file.toStdString());
        const soul::Volume v = soul::read_nifti(file.toStdString());
        const QJsonArray shape = expected["shape"].toArray();
        QCOMPARE(v.dims[0], shape[0].toInteger());
        QCOMPARE(v.dims[1], shape[1].toInteger());
        QCOMPARE(v.dims[2], shape[2].toInteger());
        QCOMPARE(v.frames, shape.size() > 3 ? shape[3].toInteger() : 1);
        const QJsonArray affine = expected["affine"].toArray();
        for (int r = 0; r < 4; ++r)
            for (int c = 0; c < 4; ++c)
                QVERIFY2(std::abs(v.ijk_to_ras(r, c) - affine[r].toArray()[c].toDouble()) < 1e-5,
                         qPrintable(QString("affine(%1,%2) = %3, nibabel %4").arg(r).arg(c).arg(v.ijk_to_ras(r, c)).arg(affine[r].toArray()[c].toDouble())));
        const QJsonArray values = expected["values"].toArray();
        QCOMPARE(static_cast<qsizetype>(v.voxels.size()), values.size());
        for (qsizetype n = 0; n < values.size(); ++n) {
            const double want = values[n].toDouble();
            if (std::abs(v.voxels[static_cast<size_t>(n)] - want) > 1e-5 * std::max(1.0, std::abs(want)))
                QFAIL(qPrintable(QString("voxel %1 = %2, nibabel %3").arg(n).arg(v.voxels[static_cast<size_t>(n)]).arg(want)));
        }
    }

    void frameOutOfRange() {
        NiftiSpec s;
        s.dims = {2, 2, 2, 3};
        writeNifti(path("three.nii"), s, ramp(s));
        for (int64_t bad : {int64_t(3), int64_t(-1)}) {
            try {
                soul::read_nifti_frame(path("three.nii"), bad);
                QFAIL("no error for an out-of-range frame");
            } catch (const soul::Error& e) {
                QVERIFY2(QString(e.what()).contains("out of range"), e.what());
                QVERIFY2(QString(e.what()).contains("3 volumes"), e.what());
            }
        }
        QVERIFY_THROWS_EXCEPTION(soul::Error, soul::NiftiSeries(path("three.nii")).frame(3));
    }
};

QTEST_GUILESS_MAIN(TestVolumeIo)
#include "tst_volume_io.moc"
