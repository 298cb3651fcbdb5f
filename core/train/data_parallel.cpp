// Data-parallel training over c10d's TCPStore and ProcessGroupGloo (see data_parallel.h).
// Gloo moves host memory: on CUDA the bucket is copied to the host and back (NCCL would keep it on
// the device; Debian's LibTorch has no NCCL, see docs/distributed.md).
#include "data_parallel.h"

#include "soul/error.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <numeric>

#ifdef SOUL_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace soul::train {

namespace {

// c10d's messages carry a C++ backtrace after their first line.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string rank_text(int rank, int world) { return "rank " + std::to_string(rank) + " of " + std::to_string(world); }

// "host:port" (IPv4 address or name); the port defaults to c10d's 29500.
std::pair<std::string, int> split_master(const std::string& master) {
    const auto colon = master.rfind(':');
    if (colon == std::string::npos) return {master, 29500};
    const std::string host = master.substr(0, colon), port_text = master.substr(colon + 1);
    char* end = nullptr;
    const long port = std::strtol(port_text.c_str(), &end, 10);
    if (host.empty() || port_text.empty() || *end != '\0' || port < 1 || port > 65535)
        throw Error("--master must be HOST:PORT with a port from 1 to 65535, not '" + master + "'");
    return {host, static_cast<int>(port)};
}

}  // namespace

#ifdef SOUL_HAVE_GLOO
struct DataParallel::Group {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};
#else
struct DataParallel::Group {};
#endif

DataParallel::DataParallel(const DistributedOptions& o) : rank_(o.rank), world_(o.world_size), timeout_seconds_(o.timeout_seconds) {
    if (world_ < 1) throw Error("--world-size must be at least 1, not " + std::to_string(world_));
    if (rank_ < 0 || rank_ >= world_) throw Error("--rank must be from 0 to " + std::to_string(world_ - 1) + ", not " + std::to_string(rank_));
    if (timeout_seconds_ <= 0) throw Error("the distributed timeout must be positive");
    if (world_ == 1) return;
    const auto [host, port] = split_master(o.master);
#ifdef SOUL_HAVE_GLOO
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds_ * 1000));
    group_ = std::make_unique<Group>();
    try {
        c10d::TCPStoreOptions store_options;
        store_options.port = static_cast<uint16_t>(port);
        store_options.isServer = rank_ == 0;
        store_options.numWorkers = static_cast<size_t>(world_);
        store_options.waitWorkers = true;
        store_options.timeout = timeout;
        group_->store = c10::make_intrusive<c10d::TCPStore>(host, store_options);
        auto options = c10d::ProcessGroupGloo::Options::create(timeout);
        // The interface Gloo binds: GLOO_SOCKET_IFNAME as torchrun reads it; the loopback address
        // for a local run; else the address this machine's name resolves to.
        if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface)
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
        else if (host == "127.0.0.1" || host == "localhost")
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
            options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        options->threads = 2;
        group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, rank_, world_, options);
    } catch (const std::exception& e) {
        group_.reset();
        throw Error(rank_text(rank_, world_) + " could not meet the others at " + o.master + " within " + std::to_string(static_cast<int>(timeout_seconds_)) +
                    " s (a rank did not start, or the address is wrong): " + first_line(e.what()));
    }
#else
    (void)host;
    (void)port;
    throw Error("this build has no multi-process training: it was built without Gloo's headers (Debian package libgloo-dev); install it and rebuild");
#endif
}

DataParallel::~DataParallel() = default;

BatchSlice DataParallel::slice(int64_t global) const {
    BatchSlice s;
    s.global = global;
    for (int r = 0; r < world_; ++r) s.counts.push_back(global / world_ + (r < global % world_ ? 1 : 0));
    for (int r = 0; r < rank_; ++r) s.offset += s.counts[static_cast<size_t>(r)];
    s.count = s.counts[static_cast<size_t>(rank_)];
    return s;
}

#ifdef SOUL_HAVE_GLOO
namespace {
template <typename F>
void collective(int rank, int world, const std::string& what, F&& run) {
    try {
        run();
    } catch (const std::exception& e) {
        throw Error(rank_text(rank, world) + ": " + what + " failed, another rank ended or cannot be reached (" + first_line(e.what()) +
                    "); the run stops, its last checkpoint is kept: continue with --resume");
    }
}
}  // namespace
#endif

std::vector<double> DataParallel::sum_gradients(const std::vector<torch::Tensor>& parameters, const std::vector<double>& flags) {
    if (!active()) return flags;
#ifdef SOUL_HAVE_GLOO
    // One flat float32 bucket on the host: every gradient, whether each has one on any rank (a
    // parameter no rank's step reached keeps no gradient, so AdamW skips it as with one rank),
    // then the flags.
    std::vector<torch::Tensor> parts;
    std::vector<double> has_gradient;
    for (const auto& p : parameters) {
        parts.push_back(p.grad().defined() ? p.grad().detach().to(torch::kCPU, torch::kFloat).flatten() : torch::zeros({p.numel()}, torch::kFloat));
        has_gradient.push_back(p.grad().defined() ? 1.0 : 0.0);
    }
    parts.push_back(torch::tensor(has_gradient, torch::kDouble).to(torch::kFloat));
    parts.push_back(torch::tensor(std::vector<double>(flags), torch::kDouble).to(torch::kFloat));
    std::vector<torch::Tensor> bucket{torch::cat(parts)};
    const auto started = std::chrono::steady_clock::now();
    collective(rank_, world_, "summing the gradients", [&] { group_->gloo->allreduce(bucket)->wait(); });
    last_sum_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    int64_t at = 0;
    const int64_t gradients = std::accumulate(parameters.begin(), parameters.end(), int64_t(0), [](int64_t n, const torch::Tensor& p) { return n + p.numel(); });
    const torch::Tensor reached = bucket[0].narrow(0, gradients, static_cast<int64_t>(parameters.size()));
    for (size_t i = 0; i < parameters.size(); ++i) {
        const torch::Tensor& p = parameters[i];
        const torch::Tensor summed = bucket[0].narrow(0, at, p.numel()).view(p.sizes());
        at += p.numel();
        if (reached[static_cast<int64_t>(i)].item<float>() == 0) continue;
        if (p.grad().defined()) p.mutable_grad().copy_(summed);
        else const_cast<torch::Tensor&>(p).mutable_grad() = summed.to(p.device(), p.scalar_type()).clone();
    }
    at += static_cast<int64_t>(parameters.size());
    std::vector<double> summed_flags;
    for (size_t i = 0; i < flags.size(); ++i) summed_flags.push_back(bucket[0][at + static_cast<int64_t>(i)].item<double>());
    return summed_flags;
#else
    return flags;
#endif
}

torch::Tensor DataParallel::gather(const torch::Tensor& local, const BatchSlice& s) {
    if (!active()) return local;
#ifdef SOUL_HAVE_GLOO
    // Gloo gathers equal shapes: every rank's rows padded to the largest count, sent as float32.
    const int64_t most = *std::max_element(s.counts.begin(), s.counts.end());
    torch::Tensor mine = local.detach().to(torch::kCPU, torch::kFloat).contiguous();
    if (mine.size(0) < most) {
        std::vector<int64_t> pad_shape = mine.sizes().vec();
        pad_shape[0] = most - mine.size(0);
        mine = torch::cat({mine, torch::zeros(pad_shape, mine.options())});
    }
    std::vector<torch::Tensor> inputs{mine};
    std::vector<std::vector<torch::Tensor>> outputs(1);
    for (int r = 0; r < world_; ++r) outputs[0].push_back(torch::empty_like(mine));
    collective(rank_, world_, "gathering a batch", [&] { group_->gloo->allgather(outputs, inputs)->wait(); });
    std::vector<torch::Tensor> rows;
    for (int r = 0; r < world_; ++r)
        rows.push_back(r == rank_ ? local : outputs[0][static_cast<size_t>(r)].narrow(0, 0, s.counts[static_cast<size_t>(r)]).to(local.device(), local.scalar_type()));
    return torch::cat(rows, 0);
#else
    return local;
#endif
}

torch::Tensor DataParallel::sum(torch::Tensor values) {
    if (!active()) return values;
#ifdef SOUL_HAVE_GLOO
    std::vector<torch::Tensor> bucket{values.detach().to(torch::kCPU, torch::kDouble).contiguous()};
    collective(rank_, world_, "summing the metrics", [&] { group_->gloo->allreduce(bucket)->wait(); });
    return bucket[0].to(values.device(), values.scalar_type());
#else
    return values;
#endif
}

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
    if (!active() || tensors.empty()) return;
#ifdef SOUL_HAVE_GLOO
    std::vector<torch::Tensor> parts;
    for (const auto& t : tensors) parts.push_back(t.detach().to(torch::kCPU, torch::kFloat).flatten());
    std::vector<torch::Tensor> bucket{torch::cat(parts)};
    collective(rank_, world_, "sharing rank 0's weights", [&] { group_->gloo->broadcast(bucket)->wait(); });
    torch::NoGradGuard no_grad;
    int64_t at = 0;
    for (const auto& t : tensors) {
        const_cast<torch::Tensor&>(t).copy_(bucket[0].narrow(0, at, t.numel()).view(t.sizes()));
        at += t.numel();
    }
#endif
}

void DataParallel::barrier(const std::string& what) {
    if (!active()) return;
#ifdef SOUL_HAVE_GLOO
    collective(rank_, world_, "waiting for every rank (" + what + ")", [&] { group_->gloo->barrier()->wait(); });
#else
    (void)what;
#endif
}

void check_batch_split(const std::string& stage, int64_t items, int64_t global_batch, int world_size) {
    const int64_t last = items % global_batch;
    if (world_size > 1 && (items < world_size || (last != 0 && last < world_size)))
        throw Error("stage " + stage + ": its " + std::to_string(items) + " items end each epoch with a batch of " + std::to_string(last ? last : items) +
                    ", fewer rows than the " + std::to_string(world_size) + " ranks; change batch_size or the number of ranks");
}

}  // namespace soul::train
