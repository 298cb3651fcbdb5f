// Encoder benchmarks (issue "The SoulDiffuser fMRI encoders"): the selective scan, sequential vs
// chunked parallel; and training samples/s of each module (forward, backward, AdamW step) in C++
// and — in the same run — the same architectures written in Debian's python3-torch
// (bench/encoders_torch.py), on the shapes of a prepared dataset and a config.
//
// Usage: bench_encoders --data PREPARED [--config models/configs/phantom-small.json] [--steps 10]
//                       [--python /usr/bin/python3]
#include "model/selective_scan.h"
#include "soul/runtime.h"
#include "train/encoder_run.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using Clock = std::chrono::steady_clock;
using namespace soul;

namespace {

template <typename F>
double seconds_per_call(F&& f, int repeats) {
    f();   // warm-up
    const auto t0 = Clock::now();
    for (int i = 0; i < repeats; ++i) f();
    return std::chrono::duration<double>(Clock::now() - t0).count() / repeats;
}

}  // namespace

int main(int argc, char** argv) {
    std::string data, config = std::string(SOUL_SOURCE_DIR) + "/models/configs/phantom-small.json", python = "/usr/bin/python3";
    int steps = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--data") data = argv[i + 1];
        else if (a == "--config") config = argv[i + 1];
        else if (a == "--steps") steps = std::atoi(argv[i + 1]);
        else if (a == "--python") python = argv[i + 1];
    }
    if (data.empty()) {
        std::fprintf(stderr, "usage: bench_encoders --data PREPARED [--config FILE] [--steps N] [--python PATH]\n");
        return 2;
    }
    const int threads = init_compute_threads();
    std::printf("LibTorch %s, %d threads\n\n", torch_version().c_str(), threads);
    const model::EncoderConfig c = model::read_encoder_config(config);

    // 1. Selective scan on SSMNet's global sequence shape.
    {
        const auto dataset = std::make_unique<PreparedDataset>(data);
        const std::vector<int16_t> ijk(dataset->voxel_ijk(), dataset->voxel_ijk() + dataset->voxels() * 3);
        const std::vector<int8_t> stream(dataset->voxel_stream(), dataset->voxel_stream() + dataset->voxels());
        const int64_t L = model::make_token_layout(model::stream_regions(stream), ijk, stream, c.ssm_patch).tokens();
        const int64_t B = c.batch_size, E = c.ssm_width * c.ssm_expand, N = c.ssm_state;
        torch::manual_seed(0);
        const torch::Tensor u = torch::randn({B, L, E}).requires_grad_(true), delta = torch::softplus(torch::randn({B, L, E}));
        const torch::Tensor A = -torch::rand({E, N}), Bm = torch::randn({B, L, N}), Cm = torch::randn({B, L, N}), D = torch::ones({E});
        int64_t chunk = 32;
        auto run = [&](bool fast) {
            return [&, fast] {
                const torch::Tensor y = fast ? model::selective_scan(u, delta, A, Bm, Cm, D, chunk) : model::selective_scan_reference(u, delta, A, Bm, Cm, D);
                y.sum().backward();
            };
        };
        const double seq = seconds_per_call(run(false), 3);
        std::printf("selective scan, forward+backward, B=%lld L=%lld E=%lld N=%lld\n", (long long)B, (long long)L, (long long)E, (long long)N);
        std::printf("  %-34s %8.1f ms\n", "sequential (reference)", seq * 1e3);
        for (int64_t k : {4, 8, 16, 32}) {
            chunk = k;
            const double par = seconds_per_call(run(true), 3);
            std::printf("  chunked parallel scan, chunk %-5lld %8.1f ms   (%.2fx)\n", (long long)k, par * 1e3, seq / par);
        }
        std::printf("\n");
    }

    // 2. Training samples/s per module.
    model::CaptionTokenizer tokenizer = model::CaptionTokenizer::fit({"a red bag in the center"});
    train::TrainData d = train::load_train_data(data, c, tokenizer, torch::kCPU);
    train::RunModels m = train::build_models(c, d, 2000);
    const int64_t B = c.batch_size;
    const torch::Tensor betas = d.train_betas.narrow(0, 0, B);
    const torch::Tensor images = d.images.index_select(0, d.train_image.narrow(0, 0, B));
    const torch::Tensor target = torch::nn::functional::normalize(torch::randn({B, c.embed_dim}), torch::nn::functional::NormalizeFuncOptions().dim(1));
    const torch::Tensor tokens = torch::randint(1, 2000, {B, c.max_tokens}, torch::kLong);
    auto trainer = [&](torch::nn::Module& module, std::function<torch::Tensor()> loss) {
        module.train();
        auto opt = std::make_shared<torch::optim::AdamW>(module.parameters(), torch::optim::AdamWOptions(1e-4));
        return [opt, loss] {
            opt->zero_grad();
            loss().backward();
            opt->step();
        };
    };
    struct Entry {
        const char* name;
        double cpp;
    };
    std::vector<Entry> entries;
    entries.push_back({"embedding space (image+text)", B / seconds_per_call(trainer(*m.embedding, [&] {
                           return model::clip_loss(m.embedding->image(images), m.embedding->text(tokens), m.embedding->logit_scale);
                       }), steps)});
    entries.push_back({"fMRI-SSMNet", B / seconds_per_call(trainer(*m.ssmnet, [&] {
                           const auto o = m.ssmnet->forward(betas);
                           return (o.embedding - target).pow(2).sum() + (o.image - images).pow(2).mean();
                       }), steps)});
    entries.push_back({"fMRI-SemBERT", B / seconds_per_call(trainer(*m.sembert, [&] { return (m.sembert->forward(betas) - target).pow(2).sum(); }), steps)});
    entries.push_back({"fMRI-EdgeColorNet decoder", B / seconds_per_call(trainer(*m.edgecolor, [&] {
                           const auto o = m.edgecolor->forward(betas);
                           return o.palette.pow(2).mean() + o.edges.pow(2).mean();
                       }), steps)});
    entries.push_back({"flattened baseline (MLP)", B / seconds_per_call(trainer(*m.baseline, [&] {
                           const auto o = m.baseline->forward(betas);
                           return (o.embedding - target).pow(2).sum() + (o.caption - target).pow(2).sum() + o.image.pow(2).mean() + o.palette.pow(2).mean();
                       }), steps)});

    // The same shapes for python3-torch.
    const auto ssm_layout = model::make_token_layout(model::stream_regions(d.stream), d.ijk, d.stream, c.ssm_patch);
    const auto sem_layout = model::make_token_layout({model::sembert_region()}, d.ijk, d.stream, c.sem_patch);
    nlohmann::json shapes = {{"batch", B}, {"voxels", d.dataset->voxels()}, {"image_size", c.image_size}, {"embed_dim", c.embed_dim},
                             {"ssm", {{"width", c.ssm_width}, {"state", c.ssm_state}, {"expand", c.ssm_expand}, {"patch", c.ssm_patch}, {"global_layers", c.ssm_global_layers},
                                      {"token_readout", c.ssm_token_readout}, {"per_patch_weights", c.ssm_per_patch_weights}}},
                             {"sem", {{"width", c.sem_width}, {"heads", c.sem_heads}, {"layers", c.sem_layers}, {"patch", c.sem_patch},
                                      {"token_readout", c.sem_token_readout}, {"per_patch_weights", c.sem_per_patch_weights}}},
                             {"ec", {{"hidden", c.ec_hidden}, {"voxels", model::edgecolor_voxels(d.stream).size(0)}}},
                             {"flat_hidden", c.flat_hidden}, {"steps", steps}, {"threads", threads}};
    shapes["ssm"]["region_tokens"] = nlohmann::json::array();
    for (const auto& g : ssm_layout.gather) shapes["ssm"]["region_tokens"].push_back(g.size(0));
    shapes["sem"]["tokens"] = sem_layout.tokens();
    const std::string shapes_path = "/tmp/bench_encoders_shapes.json", result_path = "/tmp/bench_encoders_python.json";
    std::ofstream(shapes_path) << shapes.dump();
    const std::string command = python + " " + SOUL_SOURCE_DIR + "/bench/encoders_torch.py " + shapes_path + " " + result_path;
    nlohmann::json py;
    if (std::system(command.c_str()) == 0) py = nlohmann::json::parse(std::ifstream(result_path));
    else std::printf("(python3-torch run failed: %s)\n", command.c_str());

    std::printf("training samples/s (forward, backward, AdamW; batch %lld, CPU)\n", (long long)B);
    std::printf("  %-32s %14s %18s\n", "module", "C++ LibTorch", "python3-torch");
    for (const auto& e : entries) {
        const double p = py.contains(e.name) ? py[e.name].get<double>() : 0.0;
        std::printf("  %-32s %14.1f %18.1f\n", e.name, e.cpp, p);
    }
    return 0;
}
