// Checkpoints (checkpoint.h): LibTorch's own archive format (torch::serialize), read through its
// reader, with every value checked against the model before use.
#include "checkpoint.h"

#include "../io/isolated.h"
#include "../io/torch_archive.h"
#include "soul/checksum.h"
#include "soul/error.h"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <type_traits>
#include <vector>

namespace fs = std::filesystem;

namespace soul::train {

namespace {

// The child that opens an archive first gets this long, plus the time to read the file at a slow
// disk's pace, before it counts as hung.
constexpr double kChildSeconds = 60;
constexpr double kChildBytesPerSecond = 50e6;

// Writes an archive to a temporary name, then renames it: a checkpoint is whole or absent. Returns
// the file's checksum, for run.json.
std::string save_atomically(torch::serialize::OutputArchive& archive, const std::string& path) {
    const std::string temporary = path + ".partial";
    try {
        archive.save_to(temporary);
    } catch (const c10::Error& e) {
        throw Error(path, std::string("cannot be written: ") + e.what_without_backtrace());
    }
    const std::string checksum = file_checksum(temporary);
    fs::rename(temporary, path);
    return checksum;
}

// Whether a tensor is one an exported checkpoint leaves out (names under `omitted`).
bool is_omitted(const std::string& name, const std::string& omitted) { return !omitted.empty() && name.rfind(omitted, 0) == 0; }

// Every named tensor of a module, parameters then buffers.
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(torch::nn::Module& model) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value());
    for (const auto& item : model.named_buffers()) out.emplace_back(item.key(), item.value());
    return out;
}

// LibTorch's message without its backtrace, on one line. Its TorchScript reader (which archives
// go through) throws its own std::runtime_error, with the offending source quoted on more lines.
std::string torch_message(const std::exception& e) {
    const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
    std::string text = torch_error ? torch_error->what_without_backtrace() : e.what();
    return text.substr(0, text.find('\n'));
}

// NaN or infinity in a floating tensor would run silently into every image made with it.
void check_finite(const std::string& path, const std::string& name, const torch::Tensor& t) {
    if (t.is_floating_point() && t.numel() > 0 && !torch::isfinite(t).all().item<bool>())
        throw Error(path, "has non-finite values (NaN or infinity) in '" + name + "'; it is damaged");
}

// One named tensor ("first.weight") from a module's archive: nested by submodule as Module::save
// writes it, or flat as save_weights does. Read into an empty tensor, so LibTorch hands over what
// the file holds instead of writing it into the module's own.
bool read_tensor(torch::serialize::InputArchive& archive, const std::string& name, bool nested, torch::Tensor& out) {
    const size_t dot = nested ? name.find('.') : std::string::npos;
    if (dot == std::string::npos) return archive.try_read(name, out);
    torch::serialize::InputArchive child;
    if (!archive.try_read(name.substr(0, dot), child)) return false;
    return read_tensor(child, name.substr(dot + 1), nested, out);
}

// Every parameter and buffer of the model from the archive, checked (present unless `omitted`,
// the same shape, a number of the same kind, finite) and copied into the model, converted to its
// type. Not LibTorch's Module::load: up to 1.13 it sets a parameter to the stored tensor's bytes
// whatever their type (a double checkpoint read into a float model gives garbage, silently) and
// takes any shape.
void load_tensors(const std::string& path, torch::serialize::InputArchive& archive, bool nested, const std::string& omitted,
                  torch::nn::Module& model) {
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : named_tensors(model)) {
        torch::Tensor stored;
        if (!read_tensor(archive, name, nested, stored)) {
            if (is_omitted(name, omitted)) continue;
            throw Error(path, "has no weights for '" + name + "' (another config or dataset?)");
        }
        if (stored.sizes() != tensor.sizes()) throw Error(path, "has weights of another shape for '" + name + "' (another config or dataset?)");
        if (stored.is_floating_point() != tensor.is_floating_point() || stored.is_complex())
            throw Error(path, "has weights of another kind for '" + name + "' (" + std::string(c10::toString(stored.scalar_type())) + ")");
        check_finite(path, name, stored);
        tensor.copy_(stored.to(tensor.dtype()));
    }
}

// The optimizer's state is keyed by each parameter's TensorImpl: its address printed as text up to
// LibTorch 1.13, the address itself from 2.0 on.
template <class StateMap>
typename StateMap::key_type state_key(const StateMap&, const torch::Tensor& parameter) {
    using Key = typename StateMap::key_type;
    if constexpr (std::is_same_v<Key, std::string>) {
        std::ostringstream text;
        text << parameter.unsafeGetTensorImpl();
        return text.str();
    } else {
        return static_cast<Key>(parameter.unsafeGetTensorImpl());
    }
}

// AdamW's settings and moments, as loaded: the moments must have their parameter's shape (else the
// first step fails inside LibTorch), the settings must be numbers AdamW can use.
void check_adamw(const std::string& path, torch::optim::Optimizer& optimizer) {
    auto& state = optimizer.state();
    for (auto& group : optimizer.param_groups()) {
        if (auto* o = dynamic_cast<torch::optim::AdamWOptions*>(&group.options())) {
            const auto [beta1, beta2] = o->betas();
            const bool sane = std::isfinite(o->lr()) && o->lr() >= 0 && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 &&
                              std::isfinite(o->eps()) && o->eps() > 0 && std::isfinite(o->weight_decay()) && o->weight_decay() >= 0;
            if (!sane) throw Error(path, "has optimizer settings AdamW cannot use (learning rate, betas, eps or weight decay out of range)");
        }
        for (const auto& p : group.params()) {
            const auto it = state.find(state_key(state, p));
            if (it == state.end()) continue;
            const auto* s = dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get());
            if (!s) throw Error(path, "has optimizer state of another optimizer (not AdamW)");
            if (s->step() < 0) throw Error(path, "has a negative optimizer step count");
            for (const torch::Tensor* moment : {&s->exp_avg(), &s->exp_avg_sq()}) {
                if (!moment->defined() || moment->sizes() != p.sizes() || moment->scalar_type() != p.scalar_type())
                    throw Error(path, "has optimizer state of another shape than the model's weights (another config or dataset?)");
                check_finite(path, "optimizer state", *moment);
            }
            if (s->exp_avg_sq().numel() > 0 && (s->exp_avg_sq() < 0).any().item<bool>())
                throw Error(path, "has a negative second moment in its optimizer state; it is damaged");
        }
    }
}

// LibTorch's TorchScript reader, which every archive goes through, crashes on some malformed
// source records (a segfault in ScriptTypeParser::parseClassConstant; found by fuzzing with the
// records' CRCs made right, as a hand-made archive would have them). The archive is opened once
// in a child process first (core/io/isolated.h), on one thread and onto the CPU (a forked child
// must not touch CUDA or OpenMP's pool), so that a crash is a message here.
void open_in_child(const std::string& path) {
    std::error_code ec;
    const uintmax_t size = fs::file_size(path, ec);
    const double timeout = kChildSeconds + (ec ? 0.0 : static_cast<double>(size) / kChildBytesPerSecond);
    run_isolated(
        path, 0,
        [&](void*) {
            torch::set_num_threads(1);
            torch::serialize::InputArchive archive;
            try {
                archive.load_from(path, torch::Device(torch::kCPU));
            } catch (const std::exception& e) {
                throw Error(path, "is not a readable checkpoint (damaged, cut short, or not a LibTorch archive): " + torch_message(e));
            }
        },
        [](const void*) {}, timeout);
}

}  // namespace

std::string save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer, int64_t step) {
    torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
    model.save(model_archive);
    archive.write("model", model_archive);
    if (optimizer) {
        optimizer->save(optimizer_archive);
        archive.write("optimizer", optimizer_archive);
    }
    archive.write("step", torch::tensor(step));
    return save_atomically(archive, path);
}

std::string save_weights(const std::string& path, torch::nn::Module& model, bool half, const std::string& omitted) {
    torch::serialize::OutputArchive archive, weights;
    for (auto& [name, tensor] : named_tensors(model)) {
        if (is_omitted(name, omitted)) continue;
        const torch::Tensor t = tensor.detach().cpu();
        weights.write(name, half && t.is_floating_point() ? t.to(torch::kHalf) : t);
    }
    if (!omitted.empty()) weights.write("omitted", c10::IValue(omitted));
    archive.write("weights", weights);
    archive.write("step", torch::tensor(int64_t{0}));
    return save_atomically(archive, path);
}

int64_t load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer, const std::string& checksum) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path, "no such file (a stage checkpoint)");
    if (!fs::is_regular_file(path, ec)) throw Error(path, "is not a file (a stage checkpoint)");
    if (!checksum.empty()) {
        const std::string found = file_checksum(path);
        if (found != checksum)
            throw Error(path, "is damaged: its checksum is " + found + ", not the " + checksum + " recorded in run.json when it was written "
                              "(a disk or copy error?); restore the file or train the stage again");
    }
    check_torch_archive(path);
    open_in_child(path);
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path);
    } catch (const std::exception& e) {
        throw Error(path, "is not a readable checkpoint (damaged, cut short, or not a LibTorch archive): " + torch_message(e));
    }
    try {
        torch::serialize::InputArchive model_archive, optimizer_archive;
        if (archive.try_read("weights", model_archive)) {
            // An exported checkpoint: flat names and an "omitted" prefix for the parts only
            // training needs (left as built).
            c10::IValue omitted;
            if (model_archive.try_read("omitted", omitted) && !omitted.isString()) throw Error(path, "its 'omitted' entry is not text");
            load_tensors(path, model_archive, false, omitted.isString() ? omitted.toStringRef() : std::string(), model);
        } else if (archive.try_read("model", model_archive)) {
            load_tensors(path, model_archive, true, std::string(), model);
        } else {
            throw Error(path, "holds neither a model nor exported weights (not a SoulDiffuser checkpoint)");
        }
        if (optimizer) {
            if (!archive.try_read("optimizer", optimizer_archive))
                throw Error(path, "has no optimizer state (an exported model?); training resumes only from a stage checkpoint it wrote");
            optimizer->load(optimizer_archive);
            check_adamw(path, *optimizer);
        }
        torch::Tensor step;
        archive.read("step", step);
        if (step.numel() != 1 || step.is_floating_point() || step.is_complex() || step.scalar_type() == torch::kBool)
            throw Error(path, "its 'step' is not one whole number");
        const int64_t steps_done = step.item<int64_t>();
        if (steps_done < 0) throw Error(path, "its 'step' is negative (" + std::to_string(steps_done) + ")");
        return steps_done;
    } catch (const c10::Error& e) {
        throw Error(path, "does not fit this model (another config or dataset?): " + torch_message(e));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(path, "is not a readable checkpoint: " + torch_message(e));
    }
}

}  // namespace soul::train
