// Training metrics read back from the device in blocks (see metrics_log.h).
#include "metrics_log.h"

#include "soul/error.h"
#include "soul/json_text.h"

#include <nlohmann/json.hpp>

#include <fstream>

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
        lines += json_text(line) + "\n";
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

namespace soul {

std::vector<TrainMetrics> read_metrics(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, "cannot be read (is its folder a run folder?)");
    std::vector<TrainMetrics> metrics;
    std::string text;
    for (int64_t line = 1; std::getline(in, text); ++line) {
        if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
        const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        auto bad = [&] { return Error(path, "line " + std::to_string(line) + ": not a metrics record (stage, step, loss)"); };
        if (j.is_discarded() || !j.is_object() || !j.contains("stage") || !j.contains("loss")) throw bad();
        try {
            TrainMetrics m;
            m.stage = j.at("stage").get<std::string>();
            m.step = j.value("step", int64_t(0));
            m.steps = j.value("steps", int64_t(0));
            m.epoch = j.value("epoch", int64_t(0));
            m.seconds = j.value("time", 0.0);
            for (const auto& [key, value] : j.items())
                if (value.is_number() && key != "step" && key != "steps" && key != "epoch" && key != "time") m.values[key] = value.get<double>();
            if (!m.values.count("loss")) throw bad();
            metrics.push_back(std::move(m));
        } catch (const nlohmann::json::exception&) {
            throw bad();
        }
    }
    return metrics;
}

}  // namespace soul
