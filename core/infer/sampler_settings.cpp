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
    return {{"steps", s.steps},         {"cfg", s.cfg},
            {"eta", s.eta},             {"strength", s.strength},
            {"w_color", s.w_color},     {"w_edge", s.w_edge},
            {"seed", s.seed},           {"samples", s.samples},
            {"use_caption", s.use_caption}, {"use_palette", s.use_palette},
            {"use_edges", s.use_edges}, {"use_init", s.use_init}};
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
    read_key(j, "steps", s.steps, source);
    read_key(j, "cfg", s.cfg, source);
    read_key(j, "eta", s.eta, source);
    read_key(j, "strength", s.strength, source);
    read_key(j, "w_color", s.w_color, source);
    read_key(j, "w_edge", s.w_edge, source);
    read_key(j, "seed", s.seed, source);
    read_key(j, "samples", s.samples, source);
    read_key(j, "use_caption", s.use_caption, source);
    read_key(j, "use_palette", s.use_palette, source);
    read_key(j, "use_edges", s.use_edges, source);
    read_key(j, "use_init", s.use_init, source);
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
