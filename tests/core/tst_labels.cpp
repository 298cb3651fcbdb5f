// Label tables (NSD codes, .txt, .lut) and nearest-neighbour resampling of label volumes.
#include "NiftiFixture.h"
#include "soul/error.h"
#include "soul/labels.h"

#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace soultest;

class TestLabels : public QObject {
    Q_OBJECT
    std::string m_dir;
    std::string path(const std::string& name) const { return m_dir + "/" + name; }

private Q_SLOTS:
    void initTestCase() { m_dir = tempFolder("labels"); }
    void cleanupTestCase() { std::filesystem::remove_all(m_dir); }

    void nsdTables() {
        const soul::LabelTable streams = soul::nsd_streams_table();
        QCOMPARE(streams.size(), size_t(7));
        QCOMPARE(streams.name_of(1), std::string("early"));
        QCOMPARE(streams.name_of(5), std::string("ventral"));
        QCOMPARE(streams.name_of(7), std::string("parietal"));
        QCOMPARE(streams.name_of(0), std::string("label 0"));
        const soul::LabelTable rois = soul::nsd_prf_visualrois_table();
        QCOMPARE(rois.name_of(1), std::string("V1v"));
        QCOMPARE(rois.name_of(6), std::string("V3d"));
        QCOMPARE(rois.name_of(7), std::string("hV4"));
    }

    void textTables() {
        std::ofstream(path("aal-style.txt")) << "1 Precentral_L 2001\n2 Precentral_R 2002\n\n# comment\n";
        const soul::LabelTable a = soul::read_label_table(path("aal-style.txt"));
        QCOMPARE(a.size(), size_t(2));
        QCOMPARE(a.name_of(2), std::string("Precentral_R"));
        std::ofstream(path("rgb.txt")) << "# value name r g b a\n10 cortex 255 0 0 255\n11 wm 0 0 255 255\n";
        const soul::LabelTable b = soul::read_label_table(path("rgb.txt"));
        QCOMPARE(b.colour_of(10), (std::array<uint8_t, 3>{255, 0, 0}));
        QCOMPARE(b.colour_of(11), (std::array<uint8_t, 3>{0, 0, 255}));
    }

    void binaryLut() {
        std::vector<unsigned char> bytes(768, 0);
        bytes[3] = 200;        // red of label 3
        bytes[256 + 3] = 100;  // green
        bytes[512 + 3] = 50;   // blue
        std::ofstream(path("colours.lut"), std::ios::binary).write(reinterpret_cast<char*>(bytes.data()), 768);
        const soul::LabelTable t = soul::read_label_table(path("colours.lut"));
        QCOMPARE(t.colour_of(3), (std::array<uint8_t, 3>{200, 100, 50}));
    }

    void malformedTableNamesLine() {
        std::ofstream(path("bad.txt")) << "1 ok\nx notanumber\n";
        try {
            soul::read_label_table(path("bad.txt"));
            QFAIL("no error");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains("bad.txt"), e.what());
            QVERIFY2(QString(e.what()).contains("line 2"), e.what());
        }
        std::ofstream(path("badrgb.txt")) << "1 ok 300 0 0\n";
        QVERIFY_THROWS_EXCEPTION(soul::Error, soul::read_label_table(path("badrgb.txt")));
    }

    void sidecarNamesAndColours() {
        // AAL in mricron-data: aal.nii.gz beside aal.nii.txt (names) and aal.nii.lut (colours).
        NiftiSpec s;
        s.dims = {3, 3, 3, 1};
        s.datatype = 2;
        std::vector<float> v(27, 0);
        v[0] = 1;
        v[26] = 2;
        writeNifti(path("atlas.nii.gz"), s, v);
        std::ofstream(path("atlas.nii.txt")) << "1 Calcarine_L 5001\n2 Calcarine_R 5002\n";
        std::vector<unsigned char> bytes(768, 0);
        bytes[2] = 255;
        std::ofstream(path("atlas.nii.lut"), std::ios::binary).write(reinterpret_cast<char*>(bytes.data()), 768);
        const soul::Volume labels = soul::read_nifti(path("atlas.nii.gz"));
        const soul::LabelTable t = soul::label_table_for(path("atlas.nii.gz"), labels);
        QCOMPARE(t.name_of(2), std::string("Calcarine_R"));
        QCOMPARE(t.colour_of(2), (std::array<uint8_t, 3>{255, 0, 0}));
        QCOMPARE(soul::present_labels(labels), (std::vector<int>{1, 2}));
        // NSD file names get NSD's tables.
        writeNifti(path("streams.nii.gz"), s, v);
        QCOMPARE(soul::label_table_for(path("streams.nii.gz"), labels).name_of(2), std::string("midventral"));
    }

    void resampleNearest() {
        // Labels on a 2 mm grid, image on a 1 mm grid over the same box: each label voxel covers
        // 2×2×2 image voxels.
        soul::Volume labels;
        labels.dims = {4, 4, 4};
        labels.ijk_to_ras.m = {2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1};
        labels.voxels.assign(64, 0);
        labels.voxels[labels.index(1, 2, 3)] = 7;
        soul::Volume image;
        image.dims = {8, 8, 8};
        image.ijk_to_ras.m = {1, 0, 0, -0.4, 0, 1, 0, -0.4, 0, 0, 1, -0.4, 0, 0, 0, 1};
        image.voxels.assign(512, 1);
        const soul::Volume out = soul::resample_nearest(labels, image);
        QCOMPARE(out.dims, image.dims);
        int count = 0;
        for (int64_t k = 0; k < 8; ++k)
            for (int64_t j = 0; j < 8; ++j)
                for (int64_t i = 0; i < 8; ++i)
                    if (out.at(i, j, k) == 7) {
                        ++count;
                        // RAS of this voxel rounds to label voxel (1, 2, 3)
                        QVERIFY(std::llround((i - 0.4) / 2) == 1 && std::llround((j - 0.4) / 2) == 2 &&
                                std::llround((k - 0.4) / 2) == 3);
                    }
        QCOMPARE(count, 8);
        // A flipped grid (LPS storage) maps through the affines, not through the indices.
        soul::Volume flipped = labels;
        flipped.ijk_to_ras.m = {-2, 0, 0, 6, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1};
        const soul::Volume out2 = soul::resample_nearest(flipped, labels);
        QCOMPARE(out2.at(2, 2, 3), 7.0f);  // x = 6 - 2*1 = 4 mm = labels' i = 2
    }

    void labelsOnAnotherGrid() {
        const SyntheticBrain brain = writeSyntheticBrain(m_dir);
        const soul::Volume image = soul::read_nifti(brain.volume);
        // Same labels, written at 3.6 mm over the same box: resampled, flagged.
        soul::Volume labels = soul::read_nifti(brain.labels);
        soul::Volume coarse;
        coarse.dims = {20, 24, 20};
        coarse.ijk_to_ras.m = {3.6, 0, 0, -36 + 0.9, 0, 3.6, 0, -43 + 0.9, 0, 0, 3.6, -36 + 0.9, 0, 0, 0, 1};
        coarse = soul::resample_nearest(labels, coarse);
        soul::write_nifti(coarse, path("coarse-streams.nii.gz"), soul::StoredType::uint8);
        bool resampled = false;
        const soul::Volume onto = soul::read_labels_onto(path("coarse-streams.nii.gz"), image, &resampled);
        QVERIFY(resampled);
        QVERIFY(soul::same_grid(onto, image));
        QCOMPARE(soul::present_labels(onto), (std::vector<int>{1, 5, 7}));
        // Far away in RAS: refused with a message naming the file.
        soul::Volume far = coarse;
        far.ijk_to_ras(0, 3) += 1000;
        soul::write_nifti(far, path("far.nii.gz"), soul::StoredType::uint8);
        try {
            soul::read_labels_onto(path("far.nii.gz"), image);
            QFAIL("no error for labels that do not overlap");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains("far.nii.gz"), e.what());
            QVERIFY2(QString(e.what()).contains("does not overlap"), e.what());
        }
    }
};

QTEST_APPLESS_MAIN(TestLabels)
#include "tst_labels.moc"
