// PyTorch state dicts read without Python (weight_files.h).
#include "weight_files.h"

#include "zip_records.h"

#include "soul/error.h"
#include "soul/limits.h"
#include "soul/printable.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <unordered_map>

namespace soul {
namespace {

constexpr const char* kWhat = "a readable PyTorch state dict (damaged, cut short, or not saved by torch.save)";
// torch/serialization.py: MAGIC_NUMBER = 0x1950a86a20f9469cfc6c, pickled as LONG1 (little-endian).
constexpr uint8_t kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocol = 1001;
// Deeper nesting than a state dict ever has is damage (and would exhaust the stack elsewhere).
constexpr size_t kMaxStack = 1 << 20;

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct StorageRef {
    std::string key;
    TensorType type = TensorType::F32;
};

struct Value {
    enum Kind { None, Bool, Int, Float, Text, Tuple, List, Dict, Global, Storage, Tensor, Opaque } kind = None;
    int64_t number = 0;
    double real = 0;
    std::string text, module;                          // Text; Global: module + text (the name)
    std::vector<ValuePtr> items;                       // Tuple, List
    std::vector<std::pair<ValuePtr, ValuePtr>> pairs;  // Dict
    StorageRef storage;                                // Storage
    StoredTensor tensor;                               // Tensor (storage filled in later)
    std::string storage_key;                           // Tensor
};

ValuePtr make(Value::Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
}

bool storage_type_of(const std::string& name, TensorType& type) {
    static const std::map<std::string, TensorType> kTypes = {
        {"FloatStorage", TensorType::F32}, {"DoubleStorage", TensorType::F64}, {"HalfStorage", TensorType::F16},
        {"BFloat16Storage", TensorType::BF16}, {"LongStorage", TensorType::I64}, {"IntStorage", TensorType::I32},
        {"ShortStorage", TensorType::I16}, {"CharStorage", TensorType::I8}, {"ByteStorage", TensorType::U8},
        {"BoolStorage", TensorType::Bool}};
    const auto it = kTypes.find(name);
    if (it == kTypes.end()) return false;
    type = it->second;
    return true;
}

// The restricted unpickler. `persistent` turns a persistent id (torch's storage tuple) into a value.
class Unpickler {
public:
    Unpickler(const std::string& path, const uint8_t* data, size_t size, std::function<ValuePtr(const ValuePtr&)> persistent)
        : path_(path), p_(data), size_(size), persistent_(std::move(persistent)) {}

    // Reads one pickle from `at`; returns its value and moves `at` past its STOP.
    ValuePtr load(size_t& at) {
        at_ = at;
        stack_.clear();
        marks_.clear();
        memo_.clear();
        for (;;) {
            const uint8_t op = byte();
            switch (op) {
                case 0x80: byte(); break;                         // PROTO
                case 0x95: bytes(8); break;                       // FRAME
                case '.': {                                       // STOP
                    at = at_;
                    return pop();
                }
                case '(': marks_.push_back(stack_.size()); break; // MARK
                case 'N': push(make(Value::None)); break;
                case 0x88: case 0x89: {                           // NEWTRUE, NEWFALSE
                    auto v = make(Value::Bool);
                    v->number = op == 0x88;
                    push(v);
                    break;
                }
                case 'K': push_int(static_cast<int64_t>(zip::le(bytes(1), 1))); break;
                case 'M': push_int(static_cast<int64_t>(zip::le(bytes(2), 2))); break;
                case 'J': push_int(static_cast<int32_t>(zip::le(bytes(4), 4))); break;
                case 0x8a: {                                      // LONG1
                    const size_t n = zip::le(bytes(1), 1);
                    const uint8_t* b = bytes(n);
                    if (n > 8) {
                        auto v = make(Value::Opaque);
                        v->text.assign(reinterpret_cast<const char*>(b), n);
                        push(v);
                    } else {
                        uint64_t u = n ? zip::le(b, static_cast<int>(n)) : 0;
                        if (n && n < 8 && (b[n - 1] & 0x80)) u |= ~uint64_t(0) << (8 * n);
                        push_int(static_cast<int64_t>(u));
                    }
                    break;
                }
                case 'G': {                                       // BINFLOAT, big-endian
                    const uint8_t* b = bytes(8);
                    uint64_t u = 0;
                    for (int i = 0; i < 8; ++i) u = (u << 8) | b[i];
                    double d;
                    std::memcpy(&d, &u, sizeof d);
                    auto v = make(Value::Float);
                    v->real = d;
                    push(v);
                    break;
                }
                case 'X': push_text(zip::le(bytes(4), 4)); break;  // BINUNICODE
                case 0x8c: case 'U': case 'C': push_text(zip::le(bytes(1), 1)); break;
                case 'T': case 'B': push_text(zip::le(bytes(4), 4)); break;
                case 0x8d: case 0x8e: push_text(zip::le(bytes(8), 8)); break;
                case ')': push(make(Value::Tuple)); break;
                case ']': push(make(Value::List)); break;
                case '}': push(make(Value::Dict)); break;
                case 't': {                                       // TUPLE
                    auto v = make(Value::Tuple);
                    v->items = pop_to_mark();
                    push(v);
                    break;
                }
                case 0x85: case 0x86: case 0x87: {                // TUPLE1..3
                    auto v = make(Value::Tuple);
                    v->items.resize(op - 0x84);
                    for (size_t i = v->items.size(); i-- > 0;) v->items[i] = pop();
                    push(v);
                    break;
                }
                case 'a': {                                       // APPEND
                    auto item = pop();
                    list_of(top())->items.push_back(item);
                    break;
                }
                case 'e': {                                       // APPENDS
                    auto items = pop_to_mark();
                    auto& list = list_of(top())->items;
                    list.insert(list.end(), items.begin(), items.end());
                    break;
                }
                case 's': {                                       // SETITEM
                    auto value = pop();
                    auto key = pop();
                    dict_of(top())->pairs.emplace_back(key, value);
                    break;
                }
                case 'u': {                                       // SETITEMS
                    auto items = pop_to_mark();
                    if (items.size() % 2) damaged("SETITEMS with an odd number of items");
                    auto& pairs = dict_of(top())->pairs;
                    for (size_t i = 0; i < items.size(); i += 2) pairs.emplace_back(items[i], items[i + 1]);
                    break;
                }
                case 'q': memo_[zip::le(bytes(1), 1)] = top(); break;  // BINPUT
                case 'r': memo_[zip::le(bytes(4), 4)] = top(); break;  // LONG_BINPUT
                case 0x94: memo_[memo_.size()] = top(); break;          // MEMOIZE
                case 'h': push(memo(zip::le(bytes(1), 1))); break;      // BINGET
                case 'j': push(memo(zip::le(bytes(4), 4))); break;      // LONG_BINGET
                case 'c': {                                       // GLOBAL
                    auto v = make(Value::Global);
                    v->module = line();
                    v->text = line();
                    push(v);
                    break;
                }
                case 0x93: {                                      // STACK_GLOBAL
                    auto name = pop(), module = pop();
                    if (name->kind != Value::Text || module->kind != Value::Text) damaged("STACK_GLOBAL without two names");
                    auto v = make(Value::Global);
                    v->module = module->text;
                    v->text = name->text;
                    push(v);
                    break;
                }
                case 'Q': push(persistent_(pop())); break;       // BINPERSID
                case 'R': {                                       // REDUCE
                    auto args = pop();
                    auto callable = pop();
                    push(reduce(callable, args));
                    break;
                }
                case 0x81: {                                      // NEWOBJ: an object this reader does not build
                    pop();
                    pop();
                    push(make(Value::Opaque));
                    break;
                }
                case 'b': pop(); break;                           // BUILD: the state of an object is not needed
                case '0': pop(); break;                           // POP
                case '1': pop_to_mark(); break;                   // POP_MARK
                case '2': push(top()); break;                     // DUP
                default:
                    damaged("pickle opcode 0x" + hex(op) + " at byte " + std::to_string(at_ - 1) + " is not one a state dict uses");
            }
        }
    }

private:
    [[noreturn]] void damaged(const std::string& problem) const { throw Error(path_, std::string("is not ") + kWhat + ": " + problem); }
    static std::string hex(uint8_t b) {
        char s[3];
        std::snprintf(s, sizeof s, "%02x", b);
        return s;
    }
    uint8_t byte() { return *bytes(1); }
    const uint8_t* bytes(size_t n) {
        if (n > size_ - at_) damaged("its pickle ends inside an opcode at byte " + std::to_string(at_));
        const uint8_t* b = p_ + at_;
        at_ += n;
        return b;
    }
    std::string line() {
        const void* nl = at_ < size_ ? std::memchr(p_ + at_, '\n', size_ - at_) : nullptr;
        if (!nl) damaged("its pickle ends inside a name");
        const size_t end = static_cast<size_t>(static_cast<const uint8_t*>(nl) - p_);
        std::string s(reinterpret_cast<const char*>(p_ + at_), end - at_);
        at_ = end + 1;
        return s;
    }
    void push(ValuePtr v) {
        if (stack_.size() >= kMaxStack) damaged("its pickle nests deeper than a state dict can");
        stack_.push_back(std::move(v));
    }
    void push_int(int64_t n) {
        auto v = make(Value::Int);
        v->number = n;
        push(v);
    }
    void push_text(uint64_t n) {
        auto v = make(Value::Text);
        if (n > size_ - at_) damaged("its pickle ends inside a string at byte " + std::to_string(at_));
        const uint8_t* b = bytes(static_cast<size_t>(n));
        v->text.assign(reinterpret_cast<const char*>(b), static_cast<size_t>(n));
        push(v);
    }
    ValuePtr pop() {
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) damaged("its pickle takes from an empty stack");
        auto v = stack_.back();
        stack_.pop_back();
        return v;
    }
    ValuePtr& top() {
        if (stack_.empty()) damaged("its pickle takes from an empty stack");
        return stack_.back();
    }
    std::vector<ValuePtr> pop_to_mark() {
        if (marks_.empty()) damaged("its pickle closes a mark it never opened");
        std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
        stack_.resize(marks_.back());
        marks_.pop_back();
        return items;
    }
    ValuePtr memo(uint64_t index) {
        const auto it = memo_.find(index);
        if (it == memo_.end()) damaged("its pickle uses memo entry " + std::to_string(index) + " before storing it");
        return it->second;
    }
    ValuePtr& list_of(ValuePtr& v) {
        if (v->kind != Value::List) damaged("its pickle appends to something that is not a list");
        return v;
    }
    ValuePtr& dict_of(ValuePtr& v) {
        if (v->kind != Value::Dict) damaged("its pickle sets an item of something that is not a dict");
        return v;
    }
    std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what) {
        if (v->kind != Value::Tuple) damaged(std::string("a tensor's ") + what + " is not a tuple");
        std::vector<int64_t> out;
        for (const auto& item : v->items) {
            if (item->kind != Value::Int || item->number < 0) damaged(std::string("a tensor's ") + what + " holds something other than sizes");
            out.push_back(item->number);
        }
        return out;
    }
    ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
        if (callable->kind != Value::Global) return make(Value::Opaque);
        const std::string name = callable->module + "." + callable->text;
        if (name == "collections.OrderedDict") return make(Value::Dict);
        if (args->kind != Value::Tuple) return make(Value::Opaque);
        if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
            if (args->items.size() < 4 || args->items[0]->kind != Value::Storage || args->items[1]->kind != Value::Int)
                damaged("a tensor is rebuilt from arguments of the wrong kind");
            auto v = make(Value::Tensor);
            v->tensor.type = args->items[0]->storage.type;
            v->storage_key = args->items[0]->storage.key;
            v->tensor.offset = args->items[1]->number;
            v->tensor.shape = int_tuple(args->items[2], "size");
            v->tensor.stride = int_tuple(args->items[3], "stride");
            if (v->tensor.offset < 0 || v->tensor.shape.size() != v->tensor.stride.size()) damaged("a tensor has a size and a stride of different ranks");
            return v;
        }
        if ((name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") && !args->items.empty() &&
            args->items[0]->kind == Value::Tensor)
            return args->items[0];
        return make(Value::Opaque);
    }

    std::string path_;
    const uint8_t* p_;
    size_t size_, at_ = 0;
    std::function<ValuePtr(const ValuePtr&)> persistent_;
    std::vector<ValuePtr> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, ValuePtr> memo_;
};

// torch.save's persistent id of a storage: ('storage', storage_type, key, location, numel[, view]).
ValuePtr storage_of(const std::string& path, const ValuePtr& pid) {
    auto refuse = [&](const std::string& problem) -> ValuePtr { throw Error(path, std::string("is not ") + kWhat + ": " + problem); };
    if (pid->kind != Value::Tuple || pid->items.size() < 5 || pid->items[0]->kind != Value::Text || pid->items[0]->text != "storage")
        return refuse("a persistent id that is not a storage");
    const auto& type = pid->items[1];
    StorageRef ref;
    if (type->kind != Value::Global || !storage_type_of(type->text, ref.type))
        return refuse("a storage of type '" + printable(type->module + "." + type->text) + "', which this reader does not know");
    if (pid->items[2]->kind != Value::Text) return refuse("a storage without a key");
    if (pid->items.size() > 5 && pid->items[5]->kind != Value::None)
        return refuse("a storage view (saved by PyTorch before 0.4), which this reader does not support; re-save it with a current PyTorch");
    ref.key = pid->items[2]->text;
    auto v = make(Value::Storage);
    v->storage = ref;
    return v;
}

// The tensors of a loaded object, unwrapped from a checkpoint dict.
std::vector<ValuePtr> tensors_of(const std::string& path, const ValuePtr& root) {
    if (root->kind != Value::Dict) throw Error(path, "holds a pickled object that is not a dict of tensors (a whole model? save its state_dict())");
    bool has_tensor = false;
    for (const auto& [key, value] : root->pairs) has_tensor |= value->kind == Value::Tensor;
    if (!has_tensor)
        for (const char* wrapper : {"state_dict", "model", "module", "teacher", "student"})
            for (const auto& [key, value] : root->pairs)
                if (key->kind == Value::Text && key->text == wrapper && value->kind == Value::Dict) return tensors_of(path, value);
    std::vector<ValuePtr> out;
    for (const auto& [key, value] : root->pairs) {
        if (value->kind != Value::Tensor) continue;
        if (key->kind != Value::Text) throw Error(path, "has a tensor whose key is not text");
        value->tensor.name = key->text;
        out.push_back(value);
    }
    if (out.empty()) throw Error(path, "holds a dict without tensors: not a state dict");
    return out;
}

struct StorageBytes {
    std::shared_ptr<const std::vector<uint8_t>> buffer;
    uint64_t offset = 0, size = 0;   // bytes
};

// Fills in each tensor's storage and checks that the tensor lies inside it.
std::vector<StoredTensor> attach(const std::string& path, const std::vector<ValuePtr>& tensors, const std::map<std::string, StorageBytes>& storages) {
    std::vector<StoredTensor> out;
    for (const auto& v : tensors) {
        StoredTensor t = v->tensor;
        const std::string what = "tensor '" + printable(t.name) + "'";
        const auto it = storages.find(v->storage_key);
        if (it == storages.end()) throw Error(path, what + " refers to storage '" + printable(v->storage_key) + "', which the file does not hold");
        t.storage = std::shared_ptr<const uint8_t>(it->second.buffer, it->second.buffer->data() + it->second.offset);
        const uint64_t elements = it->second.size / tensor_type_size(t.type);
        uint64_t last = static_cast<uint64_t>(t.offset);
        bool empty = false;
        for (size_t d = 0; d < t.shape.size(); ++d) {
            if (t.shape[d] == 0) empty = true;
            else last += static_cast<uint64_t>(t.shape[d] - 1) * static_cast<uint64_t>(t.stride[d]);
        }
        if (!empty && last >= elements)
            throw Error(path, what + " reaches element " + std::to_string(last) + " of a storage of " + std::to_string(elements) + " (cut short?)");
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<uint8_t> whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot be opened");
    in.seekg(0, std::ios::end);
    const auto size = static_cast<uint64_t>(in.tellg());
    check_memory_budget(path, size, "the state dict");
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    if (!in) throw Error(path, "cannot be read");
    return bytes;
}

std::vector<StoredTensor> read_legacy(const std::string& path) {
    const auto buffer = std::make_shared<const std::vector<uint8_t>>(whole_file(path));
    const std::vector<uint8_t>& file = *buffer;
    // The storages' types, from the persistent ids of the object.
    std::map<std::string, TensorType> types;
    auto recording = [&](const ValuePtr& pid) {
        auto v = storage_of(path, pid);
        types[v->storage.key] = v->storage.type;
        return v;
    };
    Unpickler unpickler(path, file.data(), file.size(), recording);
    size_t at = 0;
    unpickler.load(at);   // the magic number, checked by the caller
    const auto protocol = unpickler.load(at);
    if (protocol->kind != Value::Int || protocol->number != kLegacyProtocol)
        throw Error(path, "is a legacy PyTorch file of protocol " + std::to_string(protocol->number) + "; this reader knows 1001");
    const auto sys_info = unpickler.load(at);
    if (sys_info->kind == Value::Dict)
        for (const auto& [key, value] : sys_info->pairs)
            if (key->kind == Value::Text && key->text == "little_endian" && value->kind == Value::Bool && !value->number)
                throw Error(path, "was saved on a big-endian machine; this reader reads little-endian files");
    // The object; its storages follow, in the order of the keys pickled after it.
    const auto root = unpickler.load(at);
    const auto keys = unpickler.load(at);
    if (keys->kind != Value::List) throw Error(path, std::string("is not ") + kWhat + ": its storage keys are not a list");
    std::map<std::string, StorageBytes> storages;
    for (const auto& key : keys->items) {
        if (key->kind != Value::Text || !types.count(key->text)) throw Error(path, "lists storage keys that its object does not use");
        const size_t element = tensor_type_size(types[key->text]);
        if (file.size() - at < 8) throw Error(path, "is cut short: storage '" + printable(key->text) + "' is missing");
        const uint64_t count = zip::le(&file[at], 8);
        at += 8;
        const uint64_t bytes = checked_product(path, count, element, "storage '" + printable(key->text) + "'");
        if (bytes > file.size() - at)
            throw Error(path, "is cut short: storage '" + printable(key->text) + "' claims " + std::to_string(bytes) + " bytes, " +
                                  std::to_string(file.size() - at) + " are left");
        storages[key->text] = {buffer, at, bytes};
        at += bytes;
    }
    return attach(path, tensors_of(path, root), storages);
}

std::vector<StoredTensor> read_zip(const std::string& path) {
    zip::ArchiveFile file(path, kWhat);
    const auto entries = zip::central_directory(file);
    const zip::Entry* pickle = nullptr;
    for (const auto& entry : entries) {
        const std::string suffix = "data.pkl";
        if (entry.name.size() >= suffix.size() && entry.name.compare(entry.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
            entry.name.find('/') == entry.name.size() - suffix.size() - 1)
            pickle = &entry;
    }
    if (!pickle) file.damaged("it has no data.pkl record");
    const std::string prefix = pickle->name.substr(0, pickle->name.size() - 8);
    for (const auto& entry : entries)
        if (entry.name == prefix + "byteorder") {
            const auto order = zip::read_record(file, entry, zip::data_offset(file, entry), true);
            if (std::string(order.begin(), order.end()) != "little") throw Error(path, "was saved big-endian; this reader reads little-endian files");
        }
    const std::vector<uint8_t> bytes = zip::read_record(file, *pickle, zip::data_offset(file, *pickle), true);
    auto persistent = [&](const ValuePtr& pid) { return storage_of(path, pid); };
    Unpickler unpickler(path, bytes.data(), bytes.size(), persistent);
    size_t at = 0;
    const auto tensors = tensors_of(path, unpickler.load(at));
    std::map<std::string, StorageBytes> storages;
    for (const auto& t : tensors) {
        const std::string key = t->storage_key;
        if (storages.count(key)) continue;
        const std::string record = prefix + "data/" + key;
        const zip::Entry* entry = nullptr;
        for (const auto& e : entries)
            if (e.name == record) entry = &e;
        if (!entry) throw Error(path, "tensor '" + printable(t->tensor.name) + "' refers to record '" + printable(record) + "', which the archive does not hold");
        auto record_bytes = std::make_shared<const std::vector<uint8_t>>(zip::read_record(file, *entry, zip::data_offset(file, *entry), true));
        storages[key] = {record_bytes, 0, record_bytes->size()};
    }
    return attach(path, tensors, storages);
}

}  // namespace

size_t tensor_type_size(TensorType type) {
    switch (type) {
        case TensorType::F64: case TensorType::I64: return 8;
        case TensorType::F32: case TensorType::I32: return 4;
        case TensorType::F16: case TensorType::BF16: case TensorType::I16: return 2;
        case TensorType::I8: case TensorType::U8: case TensorType::Bool: return 1;
    }
    return 1;
}

const char* tensor_type_name(TensorType type) {
    switch (type) {
        case TensorType::F32: return "float32";
        case TensorType::F64: return "float64";
        case TensorType::F16: return "float16";
        case TensorType::BF16: return "bfloat16";
        case TensorType::I64: return "int64";
        case TensorType::I32: return "int32";
        case TensorType::I16: return "int16";
        case TensorType::I8: return "int8";
        case TensorType::U8: return "uint8";
        case TensorType::Bool: return "bool";
    }
    return "?";
}

std::vector<StoredTensor> read_pytorch_state_dict(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot be opened");
    uint8_t head[14] = {};
    in.read(reinterpret_cast<char*>(head), sizeof head);
    const auto got = static_cast<size_t>(in.gcount());
    if (got >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return read_zip(path);
    // Legacy: PROTO 2, then LONG1 of 10 bytes holding the magic number.
    if (got == sizeof head && head[0] == 0x80 && head[2] == 0x8a && head[3] == 10 && std::memcmp(head + 4, kLegacyMagic, 10) == 0)
        return read_legacy(path);
    if (got >= 1 && head[0] == 0x80)
        throw Error(path, "is a pickle without torch.save's header: not a PyTorch state dict (a plain pickle cannot be read safely)");
    throw Error(path, std::string("is not ") + kWhat + ": it starts neither as a zip archive nor with torch.save's legacy header");
}

}  // namespace soul
