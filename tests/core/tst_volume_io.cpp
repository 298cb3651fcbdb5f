// NIfTI reading: affines under every qform/sform setting, scaling, 4D frames, writing, bad input.
#include "NiftiFixture.h"
#include "soul/error.h"
#include "soul/info.h"
#include "soul/volume.h"

#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace soultest;

class TestVolumeIo : public QObject {
    Q_OBJECT
    std::string m_dir;

    std::string path(const std::string& name) const { return m_dir + "/" + name; }

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
    }

    // Bad input: a soul::Error whose message names the file and the problem.
    void badInput_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("problem");
        QTest::newRow("missing") << "nope.nii.gz" << "no such file";
        QTest::newRow("not nifti") << "text.nii" << "not a NIfTI file";
        QTest::newRow("empty") << "empty.nii" << "empty";
        QTest::newRow("truncated gz") << "truncated.nii.gz" << "truncated";
        QTest::newRow("nifti-2") << "two.nii" << "NIfTI-2";
        QTest::newRow("folder") << "folder.nii" << "folder";
        QTest::newRow("truncated nii") << "truncated.nii" << "truncated";
        QTest::newRow("zeros-only gz tail") << "short.nii.gz" << "truncated";
        QTest::newRow("sheared") << "sheared.nii" << "orthonormal";
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
            s.sform_code = 1;
            s.srow = {{{1, 0.5f, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}};
            writeNifti(path("sheared.nii"), s, ramp(s));
        }
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

QTEST_APPLESS_MAIN(TestVolumeIo)
#include "tst_volume_io.moc"
