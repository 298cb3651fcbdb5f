// From a prepared dataset's voxels to token sequences that keep the volume's 3D structure
// (box a of the method): the voxels of each region are ordered along a 3D Hilbert curve, cut
// into patches of consecutive voxels (one token each, by a 1D convolution), and each token gets
// an embedding of its voxels' mean 3D position.
//
// Why a Hilbert curve: consecutive voxels on it are always neighbours in the volume, and voxels
// close in the volume are mostly close on it (Moon et al. 2001, "Analysis of the clustering
// properties of the Hilbert space-filling curve"). A raster (x fastest) order jumps a whole row
// or slice between consecutive voxels; a Morton (Z) order jumps at every power of two. A patch of
// the Hilbert sequence is therefore a compact 3D blob of cortex, which is what a token should be.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace soul::model {

// Skilling's transform (J. Skilling 2004, "Programming the Hilbert curve", AIP Conf. Proc. 707):
// the position of (x, y, z) along the 3D Hilbert curve filling a cube of side 2^bits.
uint64_t hilbert_index(uint32_t x, uint32_t y, uint32_t z, int bits);

struct Region {
    std::string name;
    std::vector<int> codes;          // NSD stream codes that belong to it
};
// NSD's seven streams, one region each, plus "unlabelled" (code 0) when such voxels exist.
std::vector<Region> stream_regions(const std::vector<int8_t>& voxel_stream);
// One region of the given codes ("ventral" = midventral + ventral, ...); all voxels if none match.
Region region_of(const std::string& name, const std::vector<int>& codes);

// Where each region's tokens take their voxels from. Built once from the dataset's voxel table.
struct TokenLayout {
    int64_t patch = 0, voxels = 0;
    std::vector<std::string> names;
    std::vector<torch::Tensor> gather;      // per region: (tokens × patch) voxel indices; `voxels` = padding
    std::vector<torch::Tensor> centre;      // per region: (tokens, 3) mean position in [−1, 1]
    int64_t tokens() const;
};
TokenLayout make_token_layout(const std::vector<Region>& regions, const std::vector<int16_t>& ijk, const std::vector<int8_t>& stream,
                              int64_t patch);

// Region → tokens: (B, voxels) betas → (B, tokens, width), conv tokeniser + position embedding.
// With `tokens` = 0 one filter bank slides over the whole sequence (weights shared by all
// patches); with `tokens` = the region's token count the convolution is grouped, one filter bank
// per patch, so that each patch of cortex is read with its own weights, as a voxel-wise linear
// model reads it, while the sequence, the 3D position embedding and what follows stay the same.
class VoxelTokenizerImpl : public torch::nn::Module {
public:
    VoxelTokenizerImpl(int64_t patch, int64_t width, int64_t tokens = 0);
    torch::Tensor forward(const torch::Tensor& padded_betas, const torch::Tensor& gather, const torch::Tensor& centre);

private:
    int64_t patch_, tokens_;
    torch::nn::Conv1d conv_{nullptr};
    torch::nn::Linear position_{nullptr};
};
TORCH_MODULE(VoxelTokenizer);

// betas (B, V) with a zero column appended, the target of the padding index.
torch::Tensor pad_betas(const torch::Tensor& betas);

}  // namespace soul::model
