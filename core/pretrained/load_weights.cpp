// A published weight file into a module, key for key (load_weights.h).
#include "load_weights.h"

#include "../io/weight_files.h"
#include "soul/error.h"
#include "soul/printable.h"

#include <map>

namespace soul::pretrained {
namespace {

torch::Dtype torch_type(TensorType type) {
    switch (type) {
        case TensorType::F32: return torch::kFloat32;
        case TensorType::F64: return torch::kFloat64;
        case TensorType::F16: return torch::kFloat16;
        case TensorType::BF16: return torch::kBFloat16;
        case TensorType::I64: return torch::kInt64;
        case TensorType::I32: return torch::kInt32;
        case TensorType::I16: return torch::kInt16;
        case TensorType::I8: return torch::kInt8;
        case TensorType::U8: return torch::kUInt8;
        case TensorType::Bool: return torch::kBool;
    }
    return torch::kFloat32;
}


bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string module_key(std::string key, const WeightLayout& layout) {
    for (const auto& prefix : layout.strip_prefixes)
        if (starts_with(key, prefix)) {
            key = key.substr(prefix.size());
            break;
        }
    for (const auto& [old_suffix, suffix] : layout.renamed_suffixes)
        if (ends_with(key, old_suffix)) key = key.substr(0, key.size() - old_suffix.size()) + suffix;
    return layout.rename ? layout.rename(key) : key;
}

}  // namespace

namespace {
std::vector<StoredTensor> read_weight_file(const std::string& path) {
    return ends_with(path, ".safetensors") ? read_safetensors(path) : read_pytorch_state_dict(path);
}
}  // namespace

std::vector<std::string> weight_names(const std::string& path) {
    std::vector<std::string> names;
    for (const auto& t : read_weight_file(path)) names.push_back(t.name);
    return names;
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
}

WeightShapes weight_shapes(const std::string& path) {
    WeightShapes shapes;
    for (const auto& t : read_weight_file(path)) shapes.emplace(t.name, t.shape);
    return shapes;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_keys(torch::nn::Module& net) {
    std::vector<std::pair<std::string, std::vector<int64_t>>> keys;
    for (const auto& p : net.named_parameters()) keys.emplace_back(p.key(), p.value().sizes().vec());
    for (const auto& b : net.named_buffers()) keys.emplace_back(b.key(), b.value().sizes().vec());
    return keys;
}

namespace {

std::map<std::string, torch::Tensor> module_tensors(torch::nn::Module& net) {
    std::map<std::string, torch::Tensor> targets;
    for (const auto& p : net.named_parameters()) targets[p.key()] = p.value();
    for (const auto& b : net.named_buffers()) targets[b.key()] = b.value();
    return targets;
}

// The shape a stored tensor is read with into `target`: its own, or a 1×1 convolution's as a
// linear layer's where the layout says so.
std::vector<int64_t> read_shape(const std::vector<int64_t>& stored, const torch::Tensor& target, const WeightLayout& layout) {
    if (layout.linear_from_1x1_convolution && stored.size() == 4 && stored[2] == 1 && stored[3] == 1 && target.dim() == 2)
        return {stored[0], stored[1]};
    return stored;
}

// Each of the module's tensors → the index in `stored` (name, shape) of the one that fills it,
// after the layout's renaming: soul::Error(path, ...) for a key of another network, a key
// missing, a shape that differs.
std::map<std::string, size_t> match_keys(const std::map<std::string, torch::Tensor>& targets, const std::string& path,
                                         const std::vector<std::pair<std::string, std::vector<int64_t>>>& stored, const WeightLayout& layout) {
    std::map<std::string, size_t> by_key;
    for (size_t i = 0; i < stored.size(); ++i) {
        const std::string key = module_key(stored[i].first, layout);
        bool unused = false;
        for (const auto& prefix : layout.unused_prefixes) unused |= starts_with(key, prefix);
        if (!unused) by_key[key] = i;
    }
    for (const auto& [key, i] : by_key)
        if (!targets.count(key))
            throw Error(path, std::string("has key '") + printable(stored[i].first) + "', which " + layout.network +
                                  " does not have: the weights of another network (or another variant)?");
    for (const auto& [key, target] : targets) {
        const auto it = by_key.find(key);
        if (it == by_key.end()) throw Error(path, std::string("lacks key '") + key + "' of " + layout.network + " (another network, or cut short?)");
        const auto& [name, shape] = stored[it->second];
        if (read_shape(shape, target, layout) != target.sizes().vec())
            throw Error(path, "key '" + printable(name) + "' has shape " + shape_text(shape) + " where " + layout.network + " has " +
                                  shape_text(target.sizes().vec()));
    }
    return by_key;
}

}  // namespace

void check_weight_shapes(torch::nn::Module& net, const std::string& path, const WeightShapes& shapes, const WeightLayout& layout) {
    match_keys(module_tensors(net), path, {shapes.begin(), shapes.end()}, layout);
}

void load_weights(torch::nn::Module& net, const std::string& path, const WeightLayout& layout) {
    const std::vector<StoredTensor> stored = read_weight_file(path);
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
    for (const auto& t : stored) shapes.emplace_back(t.name, t.shape);
    std::map<std::string, torch::Tensor> targets = module_tensors(net);
    const std::map<std::string, size_t> by_key = match_keys(targets, path, shapes, layout);
    std::map<std::string, torch::Tensor> loaded;
    for (const auto& [key, target] : targets) {
        const StoredTensor& t = stored[by_key.at(key)];
        const bool integral = !torch::isFloatingType(target.scalar_type());
        const bool stored_integral = t.type != TensorType::F32 && t.type != TensorType::F64 && t.type != TensorType::F16 && t.type != TensorType::BF16;
        if (integral != stored_integral)
            throw Error(path, "key '" + printable(t.name) + "' holds " + tensor_type_name(t.type) + " where " + layout.network + " needs " +
                                  (integral ? "integers" : "floating point"));
        std::vector<int64_t> stride = t.stride;
        const std::vector<int64_t> shape = read_shape(t.shape, target, layout);
        stride.resize(shape.size());
        auto view = torch::from_blob(const_cast<uint8_t*>(t.data()), shape, stride, torch::TensorOptions().dtype(torch_type(t.type)));
        loaded[key] = view.to(target.scalar_type()).clone();
    }
    torch::NoGradGuard no_grad;
    for (auto& [key, target] : targets) target.copy_(loaded[key]);
}

}  // namespace soul::pretrained
