#include "soul/volume_tensor.h"

#include "soul/error.h"

namespace soul {

torch::Tensor to_tensor(const Volume& volume) {
    const auto& d = volume.dims;
    return torch::from_blob(const_cast<float*>(volume.voxels.data()), {volume.frames, d[2], d[1], d[0]},
                            torch::kFloat32)
        .clone();
}

Volume from_tensor(const torch::Tensor& tensor, const Volume& like) {
    const auto& d = like.dims;
    torch::Tensor t = tensor.to(torch::kCPU, torch::kFloat32).contiguous();
    if (t.dim() == 3) t = t.unsqueeze(0);
    if (t.dim() != 4 || t.size(1) != d[2] || t.size(2) != d[1] || t.size(3) != d[0])
        throw Error("tensor of shape " + std::string(c10::str(t.sizes())) + " does not match the volume grid");
    Volume v = Volume::zeros_like(like);
    v.frames = t.size(0);
    v.voxels.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    return v;
}

}  // namespace soul
