// Weight files of published networks, read without Python and without LibTorch, every name,
// shape, type and extent checked; errors name the file and the key:
//   - PyTorch state dicts as torch.save() writes them (`.pth`, `.pth.tar`: torchvision's and
//     SwAV's published weights), both of its layouts: the zip format (PyTorch ≥ 1.6: a zip of
//     `data.pkl` and one record per storage) and the legacy format (a sequence of pickles followed
//     by the raw storages: magic number, protocol, system info, the object, the storage keys;
//     torch/serialization.py `_legacy_save`). The pickle is read by a restricted unpickler that
//     runs no code: it knows the opcodes of pickle protocols 2–5 (CPython's Lib/pickletools.py)
//     and builds only dicts, lists, tuples, numbers, strings and tensors
//     (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`); any other object stays an inert
//     placeholder.
//   - safetensors files (Hugging Face's format, github.com/huggingface/safetensors: an 8-byte
//     little-endian header length, a JSON header of name → {dtype, shape, data_offsets}, then the
//     data), memory-mapped.
// Every tensor's extent is checked against its storage, every storage against the file and the
// memory budget (soul/limits.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace soul {

// A stored tensor's element type (safetensors' dtype names; soul::StoredType is a volume's voxel type).
enum class TensorType { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };

size_t tensor_type_size(TensorType type);
const char* tensor_type_name(TensorType type);

// A tensor as a weight file stores it: little-endian elements of `type` in memory the file's
// reader keeps alive (a buffer, or a memory mapping) for as long as `storage` is held.
struct StoredTensor {
    std::string name;
    TensorType type = TensorType::F32;
    std::vector<int64_t> shape, stride;
    int64_t offset = 0;                       // in elements, from `storage`
    std::shared_ptr<const uint8_t> storage;   // the first byte of the tensor's storage
    const uint8_t* data() const { return storage.get() + static_cast<uint64_t>(offset) * tensor_type_size(type); }
};

// The tensors of the safetensors file at `path`, by name; the file stays mapped while
// any of them is held. Throws soul::Error(path, ...) naming the key: a bad header, an unknown
// dtype, a shape that does not match its byte range, data past the end, overlapping tensors.
std::vector<StoredTensor> read_safetensors(const std::string& path);

// The tensors of the state dict in `path`, in the file's order. A checkpoint that wraps its
// weights ({"state_dict": {...}} or {"model": {...}}) is unwrapped; entries that are not tensors
// are skipped. Throws soul::Error(path, ...) naming what is wrong.
std::vector<StoredTensor> read_pytorch_state_dict(const std::string& path);

}  // namespace soul
