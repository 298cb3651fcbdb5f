// Fuzz target `checkpoint`: a stage checkpoint or an exported model's weights (LibTorch archives,
// core/train/checkpoint.h) loaded into a small module with AdamW, as `train --resume` and every
// inference command load them. Each input is loaded as given and with its records' CRC-32s made
// right (else almost every mutation stops at the CRC check). Beyond the one-line contract,
// whatever loads must be usable: one training step and one forward pass run on it, so a checkpoint
// that loads but leaves a tensor of another shape or type behind is a finding. The archive is read
// by LibTorch's own reader (not instrumented for coverage: this target mutates blindly inside it
// and finds what our checks miss).
#include "fuzz_targets.h"

#include "train/checkpoint.h"

#include <zlib.h>

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

uint32_t le32(const std::string& b, size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
    return v;
}
void put_le32(std::string& b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// The same archive with every stored record's CRC-32 made right again (in its local header and in
// the directory), so that mutations inside a record get past the CRC check and reach LibTorch's
// reader, as fuzzers of checksummed formats do. Leaves what it cannot follow as it is.
std::string with_matching_crcs(std::string b) {
    constexpr uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50;
    for (size_t at = 0; at + 46 <= b.size(); ++at) {
        if (le32(b, at) != kCentral) continue;
        const uint32_t method = le32(b, at + 10) & 0xffff, size = le32(b, at + 20), local = le32(b, at + 42);
        if (method != 0 || local + 30ull > b.size() || le32(b, local) != kLocal) continue;
        const size_t data = local + 30ull + (le32(b, local + 26) & 0xffff) + (le32(b, local + 28) & 0xffff);
        if (data > b.size() || size > b.size() - data) continue;
        const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(b.data() + data), size));
        put_le32(b, at + 16, crc);
        put_le32(b, local + 14, crc);
    }
    return b;
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
    const std::string as_given(reinterpret_cast<const char*>(data), size);
    for (const std::string& bytes : {as_given, with_matching_crcs(as_given)}) {
        const std::string path = write_scratch("stage.pt", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        for (const bool resume : {true, false}) {
            torch::manual_seed(0);
            Fixture f;
            expect_clean([&] {
                train::load_checkpoint(path, *f.model, resume ? &f.optimizer : nullptr);
                use(f);
            });
        }
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
