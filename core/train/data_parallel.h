// Data-parallel training over LibTorch's c10d (docs/distributed.md): ranks meet through a
// TCPStore at the master address and talk through ProcessGroupGloo. The trainer keeps one global
// batch per step, of which each rank computes its slice; gradients are summed across ranks in one
// flat bucket, so every rank applies the same update and the weights stay equal.
//
// Reference: Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel Training"
// (VLDB 2020) — the bucketed all-reduce of DistributedDataParallel, here one bucket per step.
#pragma once

#include "soul/train.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace soul::train {

// A global batch split across ranks: this rank's rows are global.narrow(0, offset, count).
struct BatchSlice {
    int64_t offset = 0, count = 0, global = 0;
    std::vector<int64_t> counts;   // every rank's count, in rank order
    // This rank's share of the global batch, the weight of its per-row mean losses.
    double share() const { return global > 0 ? static_cast<double>(count) / static_cast<double>(global) : 0.0; }
};

class DataParallel {
public:
    // World size 1: every call is the identity and nothing is opened. Otherwise joins the others
    // (rank 0 serves the TCPStore); throws soul::Error naming this rank when they do not all
    // arrive within the timeout.
    explicit DataParallel(const DistributedOptions& options);
    ~DataParallel();
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    int rank() const { return rank_; }
    int world_size() const { return world_; }
    bool is_main() const { return rank_ == 0; }
    bool active() const { return world_ > 1; }

    // The global batch of `global` rows split as evenly as possible, lower ranks taking the extra.
    BatchSlice slice(int64_t global) const;
    // Sums, across ranks, the gradients of `parameters` and the flags (one flat bucket, one
    // all-reduce); returns the summed flags. A parameter without a gradient counts as zeros.
    std::vector<double> sum_gradients(const std::vector<torch::Tensor>& parameters, const std::vector<double>& flags);
    // Every rank's rows of `local` (count rows each, as `slice` says), concatenated in rank order.
    // This rank's rows are `local` itself, so its gradient flows back; the others' are constants.
    torch::Tensor gather(const torch::Tensor& local, const BatchSlice& slice);
    // Sums a tensor across ranks (in place, and returned).
    torch::Tensor sum(torch::Tensor values);
    // Wall seconds the last sum_gradients spent in the all-reduce (its communication cost).
    double last_sum_seconds() const { return last_sum_seconds_; }
    // Rank 0's values of the tensors, copied into everyone's (weights at the start of a stage).
    void broadcast(const std::vector<torch::Tensor>& tensors);
    // Waits for every rank (rank 0 has written the run folder; everyone has finished a stage).
    void barrier(const std::string& what);

private:
    struct Group;
    std::unique_ptr<Group> group_;
    int rank_ = 0, world_ = 1;
    double timeout_seconds_ = 0;
    double last_sum_seconds_ = 0;
};

// The number of items in the batch's last step must leave every rank at least one row.
void check_batch_split(const std::string& stage, int64_t items, int64_t global_batch, int world_size);

}  // namespace soul::train
