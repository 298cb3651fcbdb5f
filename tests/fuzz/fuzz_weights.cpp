// Fuzz target: the weight-file readers (core/io/weight_files.h): PyTorch state dicts in both of
// torch.save's formats (the zip and its pickle, the legacy pickles and raw storages) and
// safetensors. Every tensor a read returns must lie inside its storage. Seeds: small state dicts
// and a safetensors file written by tests/core/metric_reference.py fuzz-seeds.
#include "fuzz_targets.h"
#include "io/weight_files.h"

#include <cstdlib>

namespace soul::fuzz {

void weights(const uint8_t* data, size_t size) {
    const bool state_dict = size >= 1 && (data[0] == 'P' || data[0] == 0x80);
    const std::string path = write_scratch(state_dict ? "weights.pth" : "weights.safetensors", data, size);
    expect_clean([&] {
        const auto tensors = state_dict ? read_pytorch_state_dict(path) : read_safetensors(path);
        volatile uint8_t touched = 0;
        for (const auto& t : tensors) {
            // The tensor's first and last bytes, which the reader promised lie inside its storage
            // (the sanitizer build sees a read past the buffer).
            bool empty = false;
            uint64_t last = 0;
            for (size_t d = 0; d < t.shape.size(); ++d) {
                empty |= t.shape[d] == 0;
                if (t.shape[d] > 0) last += static_cast<uint64_t>(t.shape[d] - 1) * static_cast<uint64_t>(t.stride[d]);
            }
            if (empty) continue;
            touched = touched + t.data()[0] + t.data()[(last + 1) * tensor_type_size(t.type) - 1];
        }
    });
}

}  // namespace soul::fuzz
