// The training metrics log (metrics.jsonl, one JSON object per step) written in blocks: a step's
// loss tensors stay on the device until a block is read back with one copy, instead of one
// .item() per loss term per step, each of which waits for the device to finish all queued work.
#pragma once

#include "soul/train.h"

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace soul::train {

class MetricsLog {
public:
    // A block is read when it holds this many steps or is this old, whichever comes first: on a
    // GPU, steps of milliseconds are read a hundred at a time; on a CPU, a step of a second or
    // more is read at once, so the studio's curves stay live.
    static constexpr size_t kBlockSteps = 100;
    static constexpr double kBlockSeconds = 1.0;

    MetricsLog(std::ostream& out, std::function<void(const TrainMetrics&)> on_metrics);
    // One step: its numbers known on the host (stage, step, time, lr in values) and its losses,
    // scalar tensors on the device. The tensors are detached and kept until the block is read.
    void add(TrainMetrics step, const std::map<std::string, torch::Tensor>& losses);
    bool due() const;
    // Reads the pending steps (one device→host copy), writes their lines and calls on_metrics
    // for each, in order. Cheap when nothing is pending.
    void flush();
    // The last step read back (values complete), or nullptr before the first flush.
    const TrainMetrics* last() const { return has_last_ ? &last_ : nullptr; }

private:
    std::ostream& out_;
    std::function<void(const TrainMetrics&)> on_metrics_;
    std::vector<TrainMetrics> steps_;
    std::vector<std::vector<std::string>> keys_;      // per pending step, its loss names in order
    std::vector<torch::Tensor> values_;               // every pending loss, flattened, as float64 scalars
    std::chrono::steady_clock::time_point block_started_ = std::chrono::steady_clock::now();
    TrainMetrics last_;
    bool has_last_ = false;
};

}  // namespace soul::train
