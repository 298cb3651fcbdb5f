// safetensors files, memory-mapped (weight_files.h). The format: github.com/huggingface/safetensors
// (README "Format"): u64 little-endian N, N bytes of UTF-8 JSON {name: {"dtype", "shape",
// "data_offsets": [begin, end]}, "__metadata__": {...}}, then the byte buffer the offsets index.
#include "weight_files.h"

#include "soul/error.h"
#include "soul/limits.h"
#include "soul/printable.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

namespace soul {
namespace {

// The format's own limit on the header (safetensors' MAX_HEADER_SIZE, 100 MB).
constexpr uint64_t kMaxHeader = 100'000'000;

class Mapping {
public:
    explicit Mapping(const std::string& path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw Error(path, "cannot be opened");
        struct stat st {};
        if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd_);
            throw Error(path, "is not a file");
        }
        size_ = static_cast<uint64_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
            if (p == MAP_FAILED) {
                ::close(fd_);
                throw Error(path, "cannot be mapped into memory");
            }
            data_ = static_cast<const uint8_t*>(p);
        }
    }
    ~Mapping() {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
        if (fd_ >= 0) ::close(fd_);
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    const uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }

private:
    int fd_ = -1;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
};

bool type_of(const std::string& name, TensorType& type) {
    static const std::map<std::string, TensorType> kTypes = {
        {"F32", TensorType::F32}, {"F64", TensorType::F64}, {"F16", TensorType::F16}, {"BF16", TensorType::BF16}, {"I64", TensorType::I64},
        {"I32", TensorType::I32}, {"I16", TensorType::I16}, {"I8", TensorType::I8},   {"U8", TensorType::U8},     {"BOOL", TensorType::Bool}};
    const auto it = kTypes.find(name);
    if (it == kTypes.end()) return false;
    type = it->second;
    return true;
}

}  // namespace

std::vector<StoredTensor> read_safetensors(const std::string& path) {
    auto mapping = std::make_shared<const Mapping>(path);
    auto bad = [&](const std::string& problem) { return Error(path, "is not a readable safetensors file: " + problem); };
    if (mapping->size() < 8) throw bad("shorter than its 8-byte header length");
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | mapping->data()[i];
    if (header_size > kMaxHeader) throw bad("its header claims " + std::to_string(header_size) + " bytes (the format allows 100 MB)");
    if (header_size > mapping->size() - 8) throw bad("its header claims " + std::to_string(header_size) + " bytes; the file has " + std::to_string(mapping->size() - 8) + " after the length (cut short?)");
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(mapping->data() + 8, mapping->data() + 8 + header_size);
    } catch (const nlohmann::json::exception& e) {
        throw bad(std::string("its header is not JSON (") + e.what() + ")");
    }
    if (!header.is_object()) throw bad("its header is not a JSON object");
    const uint64_t buffer_start = 8 + header_size, buffer_size = mapping->size() - buffer_start;
    const std::shared_ptr<const uint8_t> buffer(mapping, mapping->data() + buffer_start);
    std::vector<StoredTensor> tensors;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;   // to find overlaps
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        const std::string what = "tensor '" + printable(name) + "'";
        if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
            throw bad(what + " lacks dtype, shape or data_offsets");
        StoredTensor t;
        t.name = name;
        if (!entry["dtype"].is_string() || !type_of(entry["dtype"].get<std::string>(), t.type))
            throw bad(what + " has dtype " + printable(entry["dtype"].dump()) + ", which this reader does not know");
        uint64_t elements = 1;
        if (!entry["shape"].is_array()) throw bad(what + " has a shape that is not a list");
        for (const auto& d : entry["shape"]) {
            if (!d.is_number_unsigned()) throw bad(what + " has a shape with something other than sizes");
            t.shape.push_back(d.get<int64_t>());
            elements = checked_product(path, elements, d.get<uint64_t>(), what);
        }
        const auto& offsets = entry["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
            throw bad(what + " has data_offsets that are not two byte offsets");
        const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
        if (begin > end) throw bad(what + " ends before it begins");
        if (end > buffer_size) throw bad(what + " reaches byte " + std::to_string(end) + " of a " + std::to_string(buffer_size) + "-byte buffer (cut short?)");
        if (checked_product(path, elements, tensor_type_size(t.type), what) != end - begin)
            throw bad(what + " has " + std::to_string(end - begin) + " bytes for " + std::to_string(elements) + " elements of " + tensor_type_name(t.type));
        // Row-major, as the format stores every tensor.
        t.stride.assign(t.shape.size(), 1);
        for (size_t d = t.shape.size(); d-- > 1;) t.stride[d - 1] = t.stride[d] * t.shape[d];
        t.storage = std::shared_ptr<const uint8_t>(buffer, buffer.get() + begin);
        ranges.emplace_back(begin, end);
        tensors.push_back(std::move(t));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second) throw bad("two tensors overlap at byte " + std::to_string(ranges[i].first));
    return tensors;
}

}  // namespace soul
