// Volume ↔ torch::Tensor. Only for translation units that may include LibTorch (core, tests
// built with QT_NO_KEYWORDS); the ui layer never sees this header (it is not on its include path).
#pragma once

#include "soul/volume.h"

#include <torch/torch.h>

namespace soul {

// A float32 tensor of shape [frames, Z, Y, X] (a view of the voxel order, copied).
torch::Tensor to_tensor(const Volume& volume);

// A volume on `like`'s grid from a tensor of shape [frames, Z, Y, X] or [Z, Y, X].
Volume from_tensor(const torch::Tensor& tensor, const Volume& like);

}  // namespace soul
