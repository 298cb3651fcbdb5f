// Training metrics read back from the device in blocks (see metrics_log.h).
#include "metrics_log.h"

#include <nlohmann/json.hpp>

namespace soul::train {

MetricsLog::MetricsLog(std::ostream& out, std::function<void(const TrainMetrics&)> on_metrics)
    : out_(out), on_metrics_(std::move(on_metrics)) {}

void MetricsLog::add(TrainMetrics step, const std::map<std::string, torch::Tensor>& losses) {
    if (steps_.empty()) block_started_ = std::chrono::steady_clock::now();
    std::vector<std::string> keys;
    for (const auto& [name, value] : losses) {
        keys.push_back(name);
        // float64 on the device, so that reading it gives exactly what .item<double>() gave.
        values_.push_back(value.detach().reshape({}).to(torch::kDouble));
    }
    keys_.push_back(std::move(keys));
    steps_.push_back(std::move(step));
}

bool MetricsLog::due() const {
    if (steps_.empty()) return false;
    return steps_.size() >= kBlockSteps ||
           std::chrono::duration<double>(std::chrono::steady_clock::now() - block_started_).count() >= kBlockSeconds;
}

void MetricsLog::flush() {
    if (steps_.empty()) return;
    const torch::Tensor host = values_.empty() ? torch::Tensor() : torch::stack(values_).to(torch::kCPU);   // the block's one sync
    const double* read = host.defined() ? host.data_ptr<double>() : nullptr;
    std::string lines;
    for (size_t i = 0; i < steps_.size(); ++i) {
        TrainMetrics& m = steps_[i];
        for (const auto& key : keys_[i]) m.values[key] = *read++;
        nlohmann::json line = {{"stage", m.stage}, {"step", m.step}, {"steps", m.steps}, {"epoch", m.epoch}, {"time", m.seconds}};
        for (const auto& [k, v] : m.values) line[k] = v;
        lines += line.dump() + "\n";
    }
    out_ << lines << std::flush;
    for (const auto& m : steps_)
        if (on_metrics_) on_metrics_(m);
    last_ = steps_.back();
    has_last_ = true;
    steps_.clear();
    keys_.clear();
    values_.clear();
}

}  // namespace soul::train
