// Hilbert ordering, token layout and tokenizer (see voxel_tokens.h).
#include "voxel_tokens.h"

#include "soul/nsd_layout.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace soul::model {

namespace {
constexpr int kPositionFrequencies = 4;   // Fourier features per axis: sin/cos of 2^f π x
}

uint64_t hilbert_index(uint32_t x, uint32_t y, uint32_t z, int bits) {
    uint32_t X[3] = {x, y, z};
    const uint32_t top = 1u << (bits - 1);
    for (uint32_t q = top; q > 1; q >>= 1) {   // inverse undo of the excess work
        const uint32_t p = q - 1;
        for (int i = 0; i < 3; ++i) {
            if (X[i] & q) {
                X[0] ^= p;
            } else {
                const uint32_t t = (X[0] ^ X[i]) & p;
                X[0] ^= t;
                X[i] ^= t;
            }
        }
    }
    for (int i = 1; i < 3; ++i) X[i] ^= X[i - 1];   // Gray encode
    uint32_t t = 0;
    for (uint32_t q = top; q > 1; q >>= 1)
        if (X[2] & q) t ^= q - 1;
    for (auto& v : X) v ^= t;
    uint64_t h = 0;
    for (int b = bits - 1; b >= 0; --b)
        for (int i = 0; i < 3; ++i) h = (h << 1) | ((X[i] >> b) & 1u);
    return h;
}

std::vector<Region> stream_regions(const std::vector<int8_t>& voxel_stream) {
    std::map<int, int64_t> count;
    for (int8_t s : voxel_stream) ++count[s];
    std::vector<Region> regions;
    for (int code = 1; code <= 7; ++code)
        if (count[code] > 0) regions.push_back({nsd::kStreamNames[static_cast<size_t>(code)], {code}});
    if (count[0] > 0 || regions.empty()) regions.push_back({"unlabelled", {0}});
    return regions;
}

Region region_of(const std::string& name, const std::vector<int>& codes) { return {name, codes}; }

int64_t TokenLayout::tokens() const {
    int64_t n = 0;
    for (const auto& g : gather) n += g.size(0);
    return n;
}

TokenLayout make_token_layout(const std::vector<Region>& regions, const std::vector<int16_t>& ijk, const std::vector<int8_t>& stream,
                              int64_t patch) {
    TokenLayout layout;
    layout.patch = patch;
    layout.voxels = static_cast<int64_t>(stream.size());
    std::array<int, 3> lo{INT32_MAX, INT32_MAX, INT32_MAX}, hi{INT32_MIN, INT32_MIN, INT32_MIN};
    for (size_t v = 0; v < stream.size(); ++v)
        for (int a = 0; a < 3; ++a) {
            lo[static_cast<size_t>(a)] = std::min<int>(lo[static_cast<size_t>(a)], ijk[v * 3 + static_cast<size_t>(a)]);
            hi[static_cast<size_t>(a)] = std::max<int>(hi[static_cast<size_t>(a)], ijk[v * 3 + static_cast<size_t>(a)]);
        }
    int bits = 1;
    while ((1 << bits) <= std::max({hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]})) ++bits;
    std::vector<Region> used = regions;
    bool any = false;
    for (const auto& r : used)
        for (int8_t s : stream) any |= std::count(r.codes.begin(), r.codes.end(), s) > 0;
    for (const auto& region : used) {
        std::vector<std::pair<uint64_t, int64_t>> order;
        for (size_t v = 0; v < stream.size(); ++v)
            if (!any || std::count(region.codes.begin(), region.codes.end(), stream[v]))
                order.push_back({hilbert_index(static_cast<uint32_t>(ijk[v * 3] - lo[0]), static_cast<uint32_t>(ijk[v * 3 + 1] - lo[1]),
                                               static_cast<uint32_t>(ijk[v * 3 + 2] - lo[2]), bits),
                                 static_cast<int64_t>(v)});
        if (order.empty()) continue;
        std::sort(order.begin(), order.end());
        const int64_t tokens = (static_cast<int64_t>(order.size()) + patch - 1) / patch;
        torch::Tensor gather = torch::full({tokens, patch}, layout.voxels, torch::kLong);
        torch::Tensor centre = torch::zeros({tokens, 3});
        auto g = gather.accessor<int64_t, 2>();
        auto c = centre.accessor<float, 2>();
        for (int64_t t = 0; t < tokens; ++t) {
            int64_t n = 0;
            for (int64_t p = 0; p < patch && t * patch + p < static_cast<int64_t>(order.size()); ++p, ++n) {
                const int64_t v = order[static_cast<size_t>(t * patch + p)].second;
                g[t][p] = v;
                for (int a = 0; a < 3; ++a)
                    c[t][a] += static_cast<float>(2.0 * (ijk[static_cast<size_t>(v * 3 + a)] - lo[static_cast<size_t>(a)]) /
                                                      std::max(1, hi[static_cast<size_t>(a)] - lo[static_cast<size_t>(a)]) - 1.0);
            }
            for (int a = 0; a < 3; ++a) c[t][a] /= static_cast<float>(n);
        }
        layout.names.push_back(region.name);
        layout.gather.push_back(gather);
        layout.centre.push_back(centre);
    }
    return layout;
}

VoxelTokenizerImpl::VoxelTokenizerImpl(int64_t patch, int64_t width, int64_t tokens) : patch_(patch), tokens_(tokens) {
    const int64_t groups = std::max<int64_t>(tokens, 1);
    conv_ = register_module("conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(groups, groups * width, patch).stride(patch).groups(groups)));
    position_ = register_module("position", torch::nn::Linear(3 * 2 * kPositionFrequencies, width));
}

torch::Tensor VoxelTokenizerImpl::forward(const torch::Tensor& padded, const torch::Tensor& gather, const torch::Tensor& centre) {
    const torch::Tensor seq = padded.index_select(1, gather.reshape({-1}));                 // B T·P
    const torch::Tensor tokens = tokens_ > 0 ? conv_(seq.view({seq.size(0), tokens_, patch_})).view({seq.size(0), tokens_, -1})   // B T W
                                             : conv_(seq.unsqueeze(1)).transpose(1, 2);
    const torch::Tensor freqs = torch::pow(2.0, torch::arange(kPositionFrequencies, centre.options())) * M_PI;
    const torch::Tensor angles = (centre.unsqueeze(-1) * freqs).reshape({centre.size(0), -1});
    const torch::Tensor fourier = torch::cat({torch::sin(angles), torch::cos(angles)}, -1);
    return tokens + position_(fourier).unsqueeze(0);
}

torch::Tensor pad_betas(const torch::Tensor& betas) { return torch::cat({betas, torch::zeros({betas.size(0), 1}, betas.options())}, 1); }

}  // namespace soul::model
