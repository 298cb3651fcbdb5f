// The slice presenter: which voxel axis each view shows, flips, orientation letters, and the
// pixel ↔ voxel mapping, for RAS-, LPS- and permuted-stored volumes.
#include "Colormap.h"
#include "SliceGeometry.h"

#include <QtTest>

using namespace soului;

class TestSliceGeometry : public QObject {
    Q_OBJECT
    static soul::Affine affine(std::array<double, 16> m) {
        soul::Affine a;
        a.m = m;
        return a;
    }

private Q_SLOTS:
    void rasRadiological() {
        const soul::Affine ras = affine({2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1});
        const SliceAxes axial = sliceAxes(ras, SliceOrientation::Axial);
        QCOMPARE(axial.normal, 2);
        QCOMPARE(axial.horizontal, 0);
        QCOMPARE(axial.vertical, 1);
        QCOMPARE(axial.left, std::string("R"));   // radiological: the subject's right on the left
        QCOMPARE(axial.right, std::string("L"));
        QCOMPARE(axial.top, std::string("A"));
        QCOMPARE(axial.bottom, std::string("P"));
        QVERIFY(axial.flipHorizontal);   // i grows to the right (R); screen right is L
        QVERIFY(axial.flipVertical);     // j grows anteriorly; the top is A
        const SliceAxes coronal = sliceAxes(ras, SliceOrientation::Coronal);
        QCOMPARE(coronal.normal, 1);
        QCOMPARE(coronal.top, std::string("S"));
        const SliceAxes sagittal = sliceAxes(ras, SliceOrientation::Sagittal);
        QCOMPARE(sagittal.normal, 0);
        QCOMPARE(sagittal.left, std::string("A"));
        QCOMPARE(sagittal.right, std::string("P"));
        QCOMPARE(sagittal.bottom, std::string("I"));
        const SliceAxes neuro = sliceAxes(ras, SliceOrientation::Axial, false);
        QCOMPARE(neuro.left, std::string("L"));
        QVERIFY(!neuro.flipHorizontal);
    }

    void lpsStorageLooksTheSame() {
        // Data stored L→R, P→A: the screen must show the same anatomy in the same place.
        const soul::Affine lps = affine({-2, 0, 0, 0, 0, -2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1});
        const SliceAxes axial = sliceAxes(lps, SliceOrientation::Axial);
        QCOMPARE(axial.left, std::string("R"));
        QVERIFY(!axial.flipHorizontal);   // i grows toward L = screen right
        QVERIFY(!axial.flipVertical);     // j grows toward P = down
    }

    void permutedAxes() {
        // Voxel axis 0 runs A→, axis 1 S→, axis 2 R→ (a sagittally acquired volume).
        const soul::Affine a = affine({0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1});
        const AxisMap map = axisMap(a);
        QCOMPARE(map.voxelAxisOf, (std::array<int, 3>{2, 0, 1}));
        const SliceAxes axial = sliceAxes(a, SliceOrientation::Axial);
        QCOMPARE(axial.normal, 1);
        QCOMPARE(axial.horizontal, 2);
        QCOMPARE(axial.vertical, 0);
    }

    void pixelVoxelRoundTrip() {
        const soul::Affine oblique = affine({0.98, 0.2, 0, 0, -0.2, 0.98, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1});
        const std::array<int64_t, 3> dims{7, 9, 11};
        for (auto o : {SliceOrientation::Axial, SliceOrientation::Coronal, SliceOrientation::Sagittal}) {
            const SliceAxes axes = sliceAxes(oblique, o);
            const std::array<int64_t, 3> cursor{3, 4, 5};
            for (int64_t col = 0; col < dims[axes.horizontal]; ++col)
                for (int64_t row = 0; row < dims[axes.vertical]; ++row) {
                    const auto v = voxelAt(axes, dims, cursor, col, row);
                    QCOMPARE(v[axes.normal], cursor[axes.normal]);
                    const auto p = pixelOf(axes, dims, v);
                    QCOMPARE(p[0], col);
                    QCOMPARE(p[1], row);
                }
        }
    }

    // The colour maps are compiled into the ui library; a program linking it reads them, not the
    // grey fallback (the resource object is dropped by the linker unless registered).
    // Trilinear sampling for interpolated overlays: exact at voxel centres, linear between them,
    // no blending across a hole (NaN), nothing beyond half a voxel outside the grid.
    void linearSampling() {
        soul::Volume v;
        v.dims = {4, 3, 2};
        v.voxels.resize(24);
        for (int64_t k = 0; k < 2; ++k)
            for (int64_t j = 0; j < 3; ++j)
                for (int64_t i = 0; i < 4; ++i) v.voxels[v.index(i, j, k)] = static_cast<float>(i + 10 * j + 100 * k);
        QCOMPARE(sampleLinear(v, 2, 1, 1), 112.0f);
        QCOMPARE(sampleLinear(v, 1.5, 0.25, 0.5), 1.5f + 2.5f + 50.0f);   // linear in each axis
        QCOMPARE(sampleLinear(v, -0.4, 0, 0), 0.0f);    // within half a voxel: the edge's value
        QCOMPARE(sampleLinear(v, 3.4, 2.4, 1.4), 123.0f);
        QVERIFY(std::isnan(sampleLinear(v, -0.6, 0, 0)));
        QVERIFY(std::isnan(sampleLinear(v, 0, 3, 0)));
        v.voxels[v.index(2, 1, 1)] = NAN;
        QVERIFY(std::isnan(sampleLinear(v, 2.1, 1, 1)));       // nearest is the hole
        QCOMPARE(sampleLinear(v, 1.4, 1, 1), 111.0f);           // beside it: the nearest voxel, unblended
        QCOMPARE(sampleLinear(v, 0.5, 1, 1), 110.5f);           // away from it: linear again
    }

    void colourMapsAreCompiledIn() {
        const ColormapTable hot = colormap("hot"), coolwarm = colormap("coolwarm"), grey = colormap("grey");
        QCOMPARE(int(hot[93][0]), 255);   // 0.365 of the way: red
        QVERIFY(hot[93][1] < 5);
        QVERIFY(coolwarm[0][2] > coolwarm[0][0] + 100);   // cool end: blue
        QCOMPARE(int(grey[128][0]), int(grey[128][2]));
        QFile icon(":/soul/icons/souldiffuser-studio.svg");
        QVERIFY(icon.open(QIODevice::ReadOnly));
        QVERIFY(icon.readAll().contains("<svg"));
    }
};

QTEST_APPLESS_MAIN(TestSliceGeometry)
#include "tst_slice_geometry.moc"
