// Checkpoints (core/train/checkpoint.h): a round trip, and each way a checkpoint can fail to fit
// the model it is loaded into, refused with the file named before training or inference uses it.
#include "train/checkpoint.h"

#include "soul/error.h"

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

// Two layers; `hidden` changes every weight's shape but not how many there are.
struct TwoLayersImpl : torch::nn::Module {
    explicit TwoLayersImpl(int64_t hidden = 5) {
        first = register_module("first", torch::nn::Linear(6, hidden));
        last = register_module("last", torch::nn::Linear(hidden, 3));
    }
    torch::Tensor forward(const torch::Tensor& x) { return last(torch::relu(first(x))); }
    torch::nn::Linear first{nullptr}, last{nullptr};
};
TORCH_MODULE(TwoLayers);

void train_one_step(TwoLayers& model, torch::optim::AdamW& optimizer) {
    optimizer.zero_grad();
    model->forward(torch::randn({4, 6})).pow(2).mean().backward();
    optimizer.step();
}

// An archive written by hand: the model of one module, the optimizer of another, any step.
void write_archive(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer, const torch::Tensor& step) {
    torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
    model.save(model_archive);
    archive.write("model", model_archive);
    if (optimizer) {
        optimizer->save(optimizer_archive);
        archive.write("optimizer", optimizer_archive);
    }
    archive.write("step", step);
    archive.save_to(path);
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT

    std::string m_dir;
    std::string file(const std::string& name) const { return m_dir + "/" + name; }

    // Loads into a fresh TwoLayers(5) with AdamW and expects soul::Error naming the file and `problem`.
    void expectRefused(const std::string& path, const QString& problem) {
        TwoLayers model;
        torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));
        try {
            soul::train::load_checkpoint(path, *model, &optimizer);
            QFAIL(qPrintable("accepted: " + QString::fromStdString(path)));
        } catch (const soul::Error& e) {
            const QString message = e.what();
            QVERIFY2(message.startsWith(QString::fromStdString(path) + ": ") && message.contains(problem) && !message.contains('\n'),
                     qPrintable(message));
        }
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = (std::filesystem::temp_directory_path() / ("soul-checkpoint-" + std::to_string(QCoreApplication::applicationPid()))).string();
        std::filesystem::create_directories(m_dir);
        torch::manual_seed(3);
    }
    void cleanupTestCase() { std::filesystem::remove_all(m_dir); }

    void roundTrip() {
        TwoLayers saved;
        torch::optim::AdamW optimizer(saved->parameters(), torch::optim::AdamWOptions(1e-3));
        train_one_step(saved, optimizer);
        const std::string checksum = soul::train::save_checkpoint(file("good.pt"), *saved, &optimizer, 42);
        TwoLayers loaded;
        torch::optim::AdamW loaded_optimizer(loaded->parameters(), torch::optim::AdamWOptions(1e-3));
        QCOMPARE(soul::train::load_checkpoint(file("good.pt"), *loaded, &loaded_optimizer, checksum), int64_t{42});
        QVERIFY(torch::equal(saved->first->weight, loaded->first->weight));
        train_one_step(loaded, loaded_optimizer);   // the loaded moments fit the weights
        // Exported weights in half precision come back as float, equal to half precision.
        soul::train::save_weights(file("half.pt"), *saved, true);
        TwoLayers half;
        QCOMPARE(soul::train::load_checkpoint(file("half.pt"), *half, nullptr), int64_t{0});
        QVERIFY(torch::allclose(half->last->weight, saved->last->weight, 0, 1e-3));
    }

    void anotherShape() {
        TwoLayers wider(7);
        soul::train::save_checkpoint(file("wider.pt"), *wider, nullptr, 1);
        expectRefused(file("wider.pt"), "has weights of another shape for 'first.weight'");
        soul::train::save_weights(file("wider-exported.pt"), *wider, false);
        expectRefused(file("wider-exported.pt"), "has weights of another shape for 'first.weight'");
    }

    void anotherPrecision() {
        // Saved in double precision: the values load, converted to the model's float.
        TwoLayers doubled;
        doubled->to(torch::kDouble);
        soul::train::save_checkpoint(file("double.pt"), *doubled, nullptr, 1);
        TwoLayers loaded;
        QCOMPARE(soul::train::load_checkpoint(file("double.pt"), *loaded, nullptr), int64_t{1});
        QCOMPARE(loaded->first->weight.scalar_type(), torch::kFloat);
        QVERIFY(torch::allclose(loaded->first->weight.to(torch::kDouble), doubled->first->weight, 0, 1e-6));
        // Resuming training needs the optimizer's state, which this checkpoint has not.
        expectRefused(file("double.pt"), "has no optimizer state");
    }

    void nonFiniteWeights() {
        TwoLayers model;
        {
            torch::NoGradGuard no_grad;
            model->last->bias[1] = std::numeric_limits<float>::quiet_NaN();
        }
        soul::train::save_checkpoint(file("nan.pt"), *model, nullptr, 1);
        expectRefused(file("nan.pt"), "non-finite values (NaN or infinity) in 'last.bias'");
        soul::train::save_weights(file("nan-exported.pt"), *model, false);
        expectRefused(file("nan-exported.pt"), "non-finite values (NaN or infinity) in 'last.bias'");
    }

    void optimizerOfAnotherModel() {
        // The model's part fits; the optimizer's moments were saved for other shapes.
        TwoLayers fits, other(7);
        torch::optim::AdamW other_optimizer(other->parameters(), torch::optim::AdamWOptions(1e-3));
        train_one_step(other, other_optimizer);
        write_archive(file("mixed.pt"), *fits, &other_optimizer, torch::tensor(int64_t{1}));
        expectRefused(file("mixed.pt"), "optimizer state of another shape");
    }

    void badStep() {
        TwoLayers model;
        write_archive(file("negative-step.pt"), *model, nullptr, torch::tensor(int64_t{-3}));
        TwoLayers loaded;
        try {
            soul::train::load_checkpoint(file("negative-step.pt"), *loaded, nullptr);
            QFAIL("a negative step was accepted");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains("'step' is negative"), e.what());
        }
        write_archive(file("float-step.pt"), *model, nullptr, torch::tensor(2.5));
        try {
            soul::train::load_checkpoint(file("float-step.pt"), *loaded, nullptr);
            QFAIL("a fractional step was accepted");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains("'step' is not one whole number"), e.what());
        }
    }

    void notAnArchive() {
        TwoLayers model;
        soul::train::save_checkpoint(file("whole.pt"), *model, nullptr, 1);
        const auto size = std::filesystem::file_size(file("whole.pt"));
        std::filesystem::resize_file(file("whole.pt"), size / 2);
        expectRefused(file("whole.pt"), "is not a readable checkpoint (damaged, cut short, or not a LibTorch archive)");
        std::ofstream(file("text.pt")) << "not a checkpoint\n";
        expectRefused(file("text.pt"), "is not a readable checkpoint");
        std::filesystem::create_directories(file("folder.pt"));
        expectRefused(file("folder.pt"), "is not a file");
        // Without a recorded checksum, the zip's own CRC-32 of each record (LibTorch does not
        // check it): one letter changed inside the pickle that names the weights.
        soul::train::save_checkpoint(file("renamed.pt"), *model, nullptr, 1);
        {
            std::fstream f(file("renamed.pt"), std::ios::in | std::ios::out | std::ios::binary);
            const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
            const auto at = bytes.find("first");
            QVERIFY(at != std::string::npos);
            f.seekp(static_cast<std::streamoff>(at));
            f.put('F');
        }
        expectRefused(file("renamed.pt"), "fails its CRC-32");
        // With the checksum run.json recorded, a changed byte is named as such.
        soul::train::save_checkpoint(file("flipped.pt"), *model, nullptr, 1);
        const std::string checksum = soul::train::save_checkpoint(file("flipped.pt"), *model, nullptr, 1);
        {
            std::fstream f(file("flipped.pt"), std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(100);
            f.put('\x7f');
        }
        TwoLayers loaded;
        try {
            soul::train::load_checkpoint(file("flipped.pt"), *loaded, nullptr, checksum);
            QFAIL("a changed byte was accepted");
        } catch (const soul::Error& e) {
            QVERIFY2(QString(e.what()).contains("is damaged: its checksum is"), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "tst_checkpoint.moc"
