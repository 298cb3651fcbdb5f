// Checking a port against its PyTorch reference: the tensors a reference script wrote
// (tests/core/*_reference.py, safetensors), the largest difference relative to the reference's
// scale, and a module's keys and shapes against a published key list (PublishedKeys.h).
#pragma once

#include "PublishedKeys.h"
#include "io/weight_files.h"
#include "pretrained/load_weights.h"

#include <QtTest>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace soultest {

inline std::map<std::string, torch::Tensor> readTensors(const std::string& path) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& t : soul::read_safetensors(path)) {
        const auto type = t.type == soul::TensorType::I64 ? torch::kInt64 : torch::kFloat32;
        out[t.name] = torch::from_blob(const_cast<uint8_t*>(t.data()), t.shape, t.stride, torch::TensorOptions().dtype(type)).clone();
    }
    return out;
}

// max |ours − expected| / max(1, max |expected|).
inline double relativeError(const torch::Tensor& ours, const torch::Tensor& expected) {
    return (ours.to(torch::kFloat32) - expected).abs().max().item<double>() / std::max(1.0, expected.abs().max().item<double>());
}

// The module's keys and shapes are exactly the published file's.
inline void compareKeys(torch::nn::Module& net, const std::map<std::string, std::vector<int64_t>>& published) {
    const auto keys = soul::pretrained::expected_keys(net);
    QCOMPARE(int(keys.size()), int(published.size()));
    for (const auto& [key, shape] : keys) {
        QVERIFY2(published.count(key), key.c_str());
        QVERIFY2(published.at(key) == shape, key.c_str());
    }
}

}  // namespace soultest
