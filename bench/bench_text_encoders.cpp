// Text encoder benchmark (issue "Research scale"): seconds (best of 3) to encode a batch of
// captions with the full-size CLIP ViT-L/14 text tower (Stable Diffusion 1.x's text encoder,
// 77 tokens) and bert-base-uncased (32 tokens), in the engine (core/pretrained) and, in the same
// run, in PyTorch's own transformer layers with the same architecture (bench/text_encoders_torch.py;
// Debian 12 packages no transformers). Weights are random: speed does not depend on them.
//
// Usage: bench_text_encoders [--batch 8] [--python /usr/bin/python3]
#include "pretrained/text_encoders.h"
#include "soul/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using Clock = std::chrono::steady_clock;
using namespace soul;

namespace {

constexpr int kRepeats = 3;             // the best of three: the machine's cores are shared
constexpr int64_t kBertTokens = 32;     // a long caption in WordPiece pieces

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <typename F>
double best_of(F&& f) {
    f();   // warm-up
    double best = 1e30;
    for (int r = 0; r < kRepeats; ++r) {
        const auto t0 = Clock::now();
        f();
        best = std::min(best, seconds_since(t0));
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    std::string python = "/usr/bin/python3";
    int64_t batch = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--batch") batch = std::atoll(argv[i + 1]);
        else if (a == "--python") python = argv[i + 1];
    }
    const int threads = init_compute_threads();
    std::printf("LibTorch %s, %d threads, batch %lld\n\n", torch_version().c_str(), threads, static_cast<long long>(batch));
    torch::manual_seed(0);
    torch::NoGradGuard no_grad;
    pretrained::ClipTextModel clip(pretrained::ClipTextConfig{});
    clip->eval();
    const auto clip_ids = torch::randint(0, 49406, {batch, pretrained::ClipTextConfig{}.positions});
    const double clip_seconds = best_of([&] { clip->forward(clip_ids, 49407); });
    pretrained::BertModel bert(pretrained::BertConfig{});
    bert->eval();
    const auto bert_ids = torch::randint(0, 30522, {batch, kBertTokens});
    const auto bert_mask = torch::ones({batch, kBertTokens}, torch::kInt64);
    const double bert_seconds = best_of([&] { bert->forward(bert_ids, bert_mask); });

    const std::string result = "/tmp/bench_text_encoders_torch.json";
    const std::string command = python + " " + SOUL_SOURCE_DIR + "/bench/text_encoders_torch.py " + std::to_string(batch) + " " +
                                std::to_string(threads) + " " + result;
    nlohmann::json reference;
    if (std::system(command.c_str()) == 0) reference = nlohmann::json::parse(std::ifstream(result));
    auto theirs = [&](const char* name) {
        return reference.contains(name) ? std::to_string(reference[name].get<double>()).substr(0, 5) : std::string("—");
    };
    std::printf("| batch of %lld | engine (s) | PyTorch nn.TransformerEncoder (s) |\n|---|---|---|\n", static_cast<long long>(batch));
    std::printf("| CLIP ViT-L/14 text, 77 tokens | %.3f | %s |\n", clip_seconds, theirs("clip").c_str());
    std::printf("| bert-base-uncased, %lld tokens | %.3f | %s |\n", static_cast<long long>(kBertTokens), bert_seconds, theirs("bert").c_str());
    return 0;
}
