// Fuzz target `checkpoint`: a stage checkpoint or an exported model's weights (LibTorch archives,
// core/train/checkpoint.h) loaded into a small module with AdamW, as `train --resume` and every
// inference command load them. Beyond the one-line contract, whatever loads must be usable: one
// training step and one forward pass run on it, so a checkpoint that loads but leaves a tensor of
// another shape or type behind is a finding. The archive is read by LibTorch's own reader (not
// instrumented for coverage: this target mutates blindly inside it and finds what our checks miss).
#include "fuzz_targets.h"

#include "train/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace soul::fuzz {

namespace {

// Parameters and buffers (BatchNorm's running statistics), nested modules, two layer kinds.
struct CheckpointFixtureImpl : torch::nn::Module {
    CheckpointFixtureImpl() {
        first = register_module("first", torch::nn::Linear(6, 5));
        norm = register_module("norm", torch::nn::BatchNorm1d(5));
        last = register_module("last", torch::nn::Linear(5, 3));
    }
    torch::Tensor forward(const torch::Tensor& x) { return last(torch::gelu(norm(first(x)))); }
    torch::nn::Linear first{nullptr}, last{nullptr};
    torch::nn::BatchNorm1d norm{nullptr};
};
TORCH_MODULE(CheckpointFixture);

struct Fixture {
    CheckpointFixture model;
    torch::optim::AdamW optimizer{model->parameters(), torch::optim::AdamWOptions(1e-3)};
};

void use(Fixture& f) {
    f.model->train();
    f.optimizer.zero_grad();
    f.model->forward(torch::randn({4, 6})).pow(2).mean().backward();
    f.optimizer.step();
    f.model->eval();
    torch::NoGradGuard no_grad;
    f.model->forward(torch::randn({2, 6}));
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

void checkpoint(const uint8_t* data, size_t size) {
    static const bool one_thread = [] {
        torch::set_num_threads(1);   // the target is run millions of times; threads only add noise
        return true;
    }();
    (void)one_thread;
    const std::string path = write_scratch("stage.pt", data, size);
    for (const bool resume : {true, false}) {
        torch::manual_seed(0);
        Fixture f;
        expect_clean([&] {
            train::load_checkpoint(path, *f.model, resume ? &f.optimizer : nullptr);
            use(f);
        });
    }
}

std::vector<std::pair<std::string, std::string>> checkpoint_seeds(const std::string& dir) {
    std::filesystem::create_directories(dir);
    torch::manual_seed(1);
    Fixture f;
    std::vector<std::pair<std::string, std::string>> seeds;
    auto keep = [&](const std::string& name) { seeds.emplace_back(name, file_bytes(dir + "/" + name + ".pt")); };
    train::save_checkpoint(dir + "/fresh.pt", *f.model, &f.optimizer, 0);
    keep("fresh");
    use(f);   // AdamW now has moments and a step count
    train::save_checkpoint(dir + "/trained.pt", *f.model, &f.optimizer, 1);
    keep("trained");
    train::save_checkpoint(dir + "/no-optimizer.pt", *f.model, nullptr, 7);
    keep("no-optimizer");
    train::save_weights(dir + "/exported-half.pt", *f.model, true);
    keep("exported-half");
    train::save_weights(dir + "/exported-omitted.pt", *f.model, false, "last.");
    keep("exported-omitted");
    return seeds;
}

}  // namespace soul::fuzz
