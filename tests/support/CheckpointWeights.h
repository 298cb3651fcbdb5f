// Every parameter of a stage checkpoint (`<stage>.pt`), flattened into one tensor: what the
// training suites compare between runs. Header-only: soul_test_support does not link LibTorch.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace soultest {

inline torch::Tensor checkpoint_weights(const std::string& checkpoint) {
    torch::serialize::InputArchive archive, model;
    archive.load_from(checkpoint);
    archive.read("model", model);
    std::vector<torch::Tensor> all;
    for (const auto& key : model.keys()) {
        torch::Tensor t;
        if (model.try_read(key, t)) all.push_back(t.flatten());
    }
    return all.empty() ? torch::zeros({0}) : torch::cat(all);
}

}  // namespace soultest
