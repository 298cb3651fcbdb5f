// The engine's LibTorch link: a Volume goes into a tensor and comes back unchanged; threads = cores.
#include "NiftiFixture.h"
#include "soul/runtime.h"
#include "soul/volume.h"
#include "soul/volume_tensor.h"
#include "soul/error.h"

#include <QtTest>

#include <thread>

class TestTensor : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void threadsAreCores() {
        QCOMPARE(soul::init_compute_threads(), static_cast<int>(std::thread::hardware_concurrency()));
        QCOMPARE(torch::get_num_threads(), static_cast<int>(std::thread::hardware_concurrency()));
    }

    void roundTrip() {
        soul::Volume v;
        v.dims = {5, 6, 7};
        v.frames = 2;
        v.voxels.resize(5 * 6 * 7 * 2);
        for (size_t n = 0; n < v.voxels.size(); ++n) v.voxels[n] = static_cast<float>(n) * 0.25f;
        const torch::Tensor t = soul::to_tensor(v);
        QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{2, 7, 6, 5}));
        // tensor[t][k][j][i] is voxel (i, j, k, t)
        QCOMPARE(t[1][6][5][4].item<float>(), v.at(4, 5, 6, 1));
        QCOMPARE(t[0][2][3][1].item<float>(), v.at(1, 3, 2, 0));
        const torch::Tensor doubled = t * 2;
        const soul::Volume back = soul::from_tensor(doubled, v);
        QCOMPARE(back.frames, int64_t(2));
        QCOMPARE(back.at(4, 5, 6, 1), 2 * v.at(4, 5, 6, 1));
        QVERIFY_THROWS_EXCEPTION(soul::Error, soul::from_tensor(torch::zeros({3, 3, 3}), v));
    }
};

QTEST_APPLESS_MAIN(TestTensor)
#include "tst_tensor.moc"
