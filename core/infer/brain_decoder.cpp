// The brain decoders (brain_decoder.h). Ridge regression as the field's linear baseline: Takagi &
// Nishimoto 2023 and Brain-Diffuser (Ozcelik & VanRullen 2023) decode their conditions from voxels
// with it; here in its dual form (Saunders et al. 1998, "Ridge regression learning algorithm in dual
// variables"): with far more voxels than training rows the (N, N) kernel is small, and a prediction
// is kernel × alpha, so no (V, K) weight matrix is ever held.
#include "brain_decoder.h"

#include "../model/ridge_solve.h"
#include "../model/targets.h"
#include "../util/fnv1a.h"
#include "soul/data_paths.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <system_error>
#include <vector>

namespace soul::infer {

namespace F = torch::nn::functional;

namespace {

class SoulDiffuserDecoder final : public BrainDecoder {
public:
    explicit SoulDiffuserDecoder(train::RunModels& models) : m_(models) {}
    std::string title() const override { return "SoulDiffuser"; }
    DecodedConditions decode(const torch::Tensor& b, const Progress&) override {
        DecodedConditions d;
        const model::SSMNetOutput s = m_.ssmnet->forward(b);
        d.embedding = s.embedding;
        d.low_level = s.image;
        d.caption = m_.sembert->forward(b);
        const model::EdgeColorOutput e = m_.edgecolor->forward(b);
        d.palette = e.palette;
        d.edges = e.edges;
        return d;
    }

private:
    train::RunModels& m_;
};

class FlatMlpDecoder final : public BrainDecoder {
public:
    explicit FlatMlpDecoder(train::RunModels& models) : m_(models) {}
    std::string title() const override { return "flattened baseline (MLP)"; }
    DecodedConditions decode(const torch::Tensor& b, const Progress&) override {
        const model::FlatOutput f = m_.baseline->forward(b);
        return {f.embedding, f.image, f.caption, f.palette, f.edges};
    }

private:
    train::RunModels& m_;
};

// Voxels per block of the kernel products: bounds the copies, and a cancelled fit stops within one
// block (about 0.1 s on 2 cores).
constexpr int64_t kKernelChunk = 1024;
const std::vector<double> kRidgeLambdas = {1, 10, 100, 1e3, 1e4, 1e5};   // penalties on standardised betas
constexpr double kRidgeValidation = 0.2;   // the last fifth of the training rows chooses the penalty
constexpr size_t kKernelsCached = 4;       // training kernels kept in the cache folder, newest first

namespace fs = std::filesystem;

// The training kernel depends only on the training betas: the dataset's file and the rows a run
// trains on (a validation split holds some out). A cache file per (dataset, rows), in the user's
// cache folder, so a second open of the same run and dataset skips the kernel (soul::user_cache_dir).
std::string kernel_cache_file(const train::TrainData& d) {
    Fnv1a key;
    auto mix = [&](const void* p, size_t n) { key.mix(p, n); };
    std::error_code ec;
    const fs::path data = fs::absolute(fs::path(d.dataset->manifest().path) / "data.bin", ec);
    const std::string path = data.string();
    mix(path.data(), path.size());
    const auto size = fs::file_size(data, ec);
    const auto modified = fs::last_write_time(data, ec).time_since_epoch().count();
    mix(&size, sizeof size);
    mix(&modified, sizeof modified);
    const torch::Tensor rows = d.train_image.to(torch::kCPU, torch::kLong).contiguous();
    mix(rows.data_ptr(), static_cast<size_t>(rows.numel()) * sizeof(int64_t));
    const int64_t voxels = d.train_betas.size(1);
    mix(&voxels, sizeof voxels);
    char name[64];
    std::snprintf(name, sizeof name, "ridge-kernel-%016llx.pt", static_cast<unsigned long long>(key.hash));
    return (fs::path(user_cache_dir()) / name).string();
}

// Keeps the newest few kernels: each is (N, N) doubles, tens of MB.
void trim_kernel_cache(const fs::path& folder) {
    std::error_code ec;
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    for (const auto& entry : fs::directory_iterator(folder, ec))
        if (entry.path().filename().string().rfind("ridge-kernel-", 0) == 0) files.emplace_back(entry.last_write_time(ec), entry.path());
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = kKernelsCached; i < files.size(); ++i) fs::remove(files[i].second, ec);
}

class RidgeDecoder final : public BrainDecoder {
public:
    explicit RidgeDecoder(train::LoadedRun& run) : run_(run) {}
    std::string title() const override { return "ridge regression"; }

    DecodedConditions decode(const torch::Tensor& b, const Progress& progress) override {
        if (!alpha_.defined()) fit(progress);
        torch::NoGradGuard no_grad;
        const torch::Tensor y = (kernel(b.to(torch::kFloat)).mm(alpha_) + y_mean_).to(torch::kFloat);
        const int64_t m = b.size(0), s = run_.config.image_size;
        int64_t at = 0;
        auto take = [&](int64_t width) {
            const torch::Tensor t = y.narrow(1, at, width);
            at += width;
            return t;
        };
        DecodedConditions out;
        out.low_level = take(3 * s * s).reshape({m, 3, s, s}).clamp(0, 1);
        out.caption = F::normalize(take(caption_dim_), F::NormalizeFuncOptions().dim(1));
        out.palette = take(3 * model::kPaletteSide * model::kPaletteSide).reshape({m, 3, model::kPaletteSide, model::kPaletteSide}).clamp(0, 1);
        out.edges = take(s * s).reshape({m, 1, s, s}).clamp(0, 1);
        return out;
    }

private:
    // Standardised betas (X − μ)·s, a block of voxels.
    torch::Tensor standardised_block(const torch::Tensor& b, int64_t first, int64_t width) const {
        return (b.narrow(1, first, width) - mean_.narrow(0, first, width)) * scale_.narrow(0, first, width);
    }

    // The standardised betas times the standardised training betas, transposed: (B, N).
    torch::Tensor kernel(const torch::Tensor& b) const {
        const torch::Tensor& x = run_.data.train_betas;
        torch::Tensor k = torch::zeros({b.size(0), x.size(0)}, b.options().dtype(torch::kFloat64));
        for (int64_t c = 0; c < x.size(1); c += kKernelChunk) {
            const int64_t w = std::min(kKernelChunk, x.size(1) - c);
            k += torch::mm(standardised_block(b, c, w), standardised_block(x, c, w).t()).to(torch::kFloat64);
        }
        return k;
    }

    void fit(const Progress& progress) {
        torch::NoGradGuard no_grad;
        const train::TrainData& d = run_.data;
        const torch::Tensor& x = d.train_betas;
        const int64_t n = x.size(0), voxels = x.size(1);
        if (!mean_.defined()) {
            mean_ = x.mean(0);
            scale_ = 1.0 / x.std(0, /*unbiased=*/false).clamp_min(1e-8);
            gram_ = torch::zeros({n, n}, x.options().dtype(torch::kFloat64));
            gram_voxels_ = 0;
            read_cached_kernel(n);
        }
        // The training kernel, a block of voxels at a time. A cancelled fit keeps the blocks it has
        // summed, and the next call goes on from there: the studio asks again with every trial.
        while (gram_voxels_ < voxels) {
            progress.check();
            const int64_t w = std::min(kKernelChunk, voxels - gram_voxels_);
            const torch::Tensor block = standardised_block(x, gram_voxels_, w);
            gram_ += torch::mm(block, block.t()).to(torch::kFloat64);
            gram_voxels_ += w;
            if (gram_voxels_ == voxels) write_cached_kernel();
        }
        const torch::Tensor gram = gram_;
        // The targets: each training row's image at the encoders' size, its captions' mean
        // embedding, palette and edges, flattened side by side.
        const torch::Tensor caption = train::mean_caption_embedding(run_.models.embedding, d, d.train_image);
        caption_dim_ = caption.size(1);
        std::vector<torch::Tensor> parts;
        for (const torch::Tensor& t : {d.images.index_select(0, d.train_image), caption, d.palettes.index_select(0, d.train_image),
                                       d.edges.index_select(0, d.train_image)})
            parts.push_back(t.to(torch::kFloat64).flatten(1));
        const torch::Tensor y = torch::cat(parts, 1);
        y_mean_ = y.mean(0);
        const torch::Tensor centred = y - y_mean_;
        const int64_t held = static_cast<int64_t>(static_cast<double>(n) * kRidgeValidation), fitted = n - held;
        double chosen = kRidgeLambdas.front();
        double best = std::numeric_limits<double>::infinity();
        for (double lambda : kRidgeLambdas) {
            progress.check();
            const torch::Tensor alpha = model::solve_ridge(gram.narrow(0, 0, fitted).narrow(1, 0, fitted), centred.narrow(0, 0, fitted), lambda);
            const double error =
                (gram.narrow(0, fitted, held).narrow(1, 0, fitted).mm(alpha) - centred.narrow(0, fitted, held)).pow(2).mean().item<double>();
            if (error < best) {
                best = error;
                chosen = lambda;
            }
        }
        alpha_ = model::solve_ridge(gram, centred, chosen);
        gram_ = torch::Tensor();
    }

    // The kernel of an earlier open, when the cache has it for these training betas; a cache file
    // that cannot be read or has another shape is made again.
    void read_cached_kernel(int64_t n) {
        const std::string file = kernel_cache_file(run_.data);
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) return;
        try {
            torch::Tensor gram;
            torch::load(gram, file);
            if (gram.dim() != 2 || gram.size(0) != n || gram.size(1) != n || gram.scalar_type() != torch::kFloat64) return;
            gram_ = gram.to(gram_.device());
            gram_voxels_ = run_.data.train_betas.size(1);
        } catch (const c10::Error&) {
            fs::remove(file, ec);
        }
    }

    // Best effort: a cache folder that cannot be written only costs the next open the kernel.
    void write_cached_kernel() const {
        const fs::path file = kernel_cache_file(run_.data);
        std::error_code ec;
        fs::create_directories(file.parent_path(), ec);
        const fs::path partial = file.string() + ".partial";
        try {
            torch::save(gram_.to(torch::kCPU), partial.string());
            fs::rename(partial, file, ec);
            if (ec) fs::remove(partial, ec);
            trim_kernel_cache(file.parent_path());
        } catch (const c10::Error&) {
            fs::remove(partial, ec);
        }
    }

    train::LoadedRun& run_;
    torch::Tensor mean_, scale_;     // (V) training statistics of the betas
    torch::Tensor alpha_, y_mean_;   // (N, K), (K)
    torch::Tensor gram_;             // (N, N) the training kernel while it is summed
    int64_t gram_voxels_ = 0;        // voxels summed into it so far
    int64_t caption_dim_ = 0;
};

}  // namespace

std::unique_ptr<BrainDecoder> make_souldiffuser_decoder(train::RunModels& models) { return std::make_unique<SoulDiffuserDecoder>(models); }
std::unique_ptr<BrainDecoder> make_flat_mlp_decoder(train::RunModels& models) { return std::make_unique<FlatMlpDecoder>(models); }
std::unique_ptr<BrainDecoder> make_ridge_decoder(train::LoadedRun& run) { return std::make_unique<RidgeDecoder>(run); }

}  // namespace soul::infer
