// A published checkpoint into a metric network, key for key (metric_nets.h), through the one
// weight loader of the pretrained networks (core/pretrained/load_weights.h).
#include "metric_nets.h"

#include "../pretrained/load_weights.h"

namespace soul::metrics {

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_keys(MetricNetwork& net) { return pretrained::expected_keys(net); }

void load_network(MetricNetwork& net, const NetFile& spec, const std::string& path) {
    pretrained::WeightLayout layout{spec.name, {}, spec.unused_prefixes, {}};
    if (*spec.strip_prefix) layout.strip_prefixes.push_back(spec.strip_prefix);
    pretrained::load_weights(net, path, layout);
}

}  // namespace soul::metrics
