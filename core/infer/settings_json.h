// The JSON form of the sampler's and the reconstruction's settings: one writer and one reader for
// settings.json beside every reconstruction, the view description of a figure and the reports.
#pragma once

#include "soul/reconstruct.h"
#include "soul/sampler.h"

#include <nlohmann/json.hpp>

namespace soul {

// Flat keys: steps, cfg, eta, strength, w_color, w_edge, seed, samples, use_caption, use_palette,
// use_edges, use_init.
nlohmann::json to_json(const SamplerSettings& settings);
// The sampler's keys plus ablate and decoder.
nlohmann::json to_json(const ReconstructionSettings& settings);
// Missing keys keep their defaults; a key of the wrong type throws soul::Error naming `source`
// and the key. The values are validated.
SamplerSettings sampler_from_json(const nlohmann::json& j, const std::string& source);
ReconstructionSettings reconstruction_settings_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace soul
