// One check and one JSON form of the sampler's settings (soul/sampler.h, settings_json.h).
#include "settings_json.h"

#include "soul/error.h"

#include <cmath>
#include <sstream>

namespace soul {

namespace {

template <typename T>
void check_range(const std::string& context, const char* option, T value, T lo, T hi) {
    // Written so that NaN fails: every comparison with NaN is false.
    if (std::isfinite(static_cast<double>(value)) && value >= lo && value <= hi) return;
    std::ostringstream s;
    s << context << ": " << option << " must be in [" << lo << ", " << hi << "], not " << value;
    throw Error(s.str());
}

template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
    const auto it = j.find(key);
    if (it == j.end()) return;
    try {
        out = it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(source, std::string("settings: '") + key + "' has the wrong type (" + it->type_name() + ")");
    }
}

// Every setting with its JSON key, visited in one place by the writer and the reader.
template <typename Settings, typename Visit>
void for_each_field(Settings& s, Visit&& visit) {
    visit("steps", s.steps);
    visit("cfg", s.cfg);
    visit("eta", s.eta);
    visit("strength", s.strength);
    visit("w_color", s.w_color);
    visit("w_edge", s.w_edge);
    visit("seed", s.seed);
    visit("samples", s.samples);
    visit("use_caption", s.use_caption);
    visit("use_palette", s.use_palette);
    visit("use_edges", s.use_edges);
    visit("use_init", s.use_init);
}

}  // namespace

void validate(const SamplerSettings& s, const std::string& context) {
    using namespace sampler_bounds;
    check_range<int64_t>(context, "--steps", s.steps, 1, kMaxSteps);
    check_range(context, "--cfg", s.cfg, 0.0, kMaxGuidance);
    check_range(context, "--eta", s.eta, 0.0, 1.0);
    check_range(context, "--strength", s.strength, 0.0, 1.0);
    check_range(context, "--w-color", s.w_color, 0.0, kMaxAdapterWeight);
    check_range(context, "--w-edge", s.w_edge, 0.0, kMaxAdapterWeight);
    check_range<int64_t>(context, "--samples", s.samples, 1, kMaxSamples);
    check_range<uint64_t>(context, "--seed", s.seed, 0, kMaxSeed);
}

nlohmann::json to_json(const SamplerSettings& s) {
    nlohmann::json j = nlohmann::json::object();
    for_each_field(s, [&](const char* key, const auto& value) { j[key] = value; });
    return j;
}

nlohmann::json to_json(const ReconstructionSettings& s) {
    nlohmann::json j = to_json(s.sampler);
    j["ablate"] = s.ablate;
    j["decoder"] = s.decoder;
    return j;
}

SamplerSettings sampler_from_json(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source, "settings must be a JSON object");
    SamplerSettings s;
    for_each_field(s, [&](const char* key, auto& value) { read_key(j, key, value, source); });
    try {
        validate(s, "settings");
    } catch (const Error& e) {
        throw Error(source, e.what());
    }
    return s;
}

ReconstructionSettings reconstruction_settings_from_json(const nlohmann::json& j, const std::string& source) {
    ReconstructionSettings r;
    r.sampler = sampler_from_json(j, source);
    read_key(j, "ablate", r.ablate, source);
    read_key(j, "decoder", r.decoder, source);
    return r;
}

}  // namespace soul
