// The double dissociation of the visual streams (Teuber 1955; Ungerleider & Mishkin 1982, "what"
// and "where"; Goodale & Milner 1992): one pathway's voxels at their training mean at a time, and
// what survives of the object's identity, place, colour and edges, in the final images and in the
// conditions the encoders hand the generator. On a phantom each cell also says what the
// phantom's forward model predicts (phantom_carrying_weight) and whether the measurement held.
#pragma once

#include "../infer/pipeline.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace soul::eval {

using infer::DecodedConditions;
using infer::Pipeline;

struct DissociationInput {
    torch::Tensor images;                                   // (N) the test images shown
    std::map<std::string, DecodedConditions> conditions;    // per row name
    std::map<std::string, torch::Tensor> generated;         // per row name: (N, 3, G, G)
};

struct DissociationReport {
    std::string markdown;
    nlohmann::json json;
    RgbImage figure;   // trials × pathway off
};

// What the ground truth predicts for a pathway that holds `share` of a thing's carrying weight
// (tuning weight × voxels): "kept" (none), "may lower" (under half), "lowered", "lost" (all).
std::string dissociation_prediction(double share);

struct DissociationVerdict {
    bool testable = false;   // false: with every stream on the score is already at the floor
    bool held = false;
};
// Whether a prediction held, from the per-image scores (N) with every stream on and with the
// pathway off; `floor`: the score of a guess (chance, the centre, the mean palette, edge r 0).
DissociationVerdict dissociation_verdict(const std::string& predicted, const torch::Tensor& none, const torch::Tensor& row, double floor,
                                         bool higher_is_better);

DissociationReport dissociation_report(Pipeline& pipeline, const DissociationInput& input, int64_t figure_rows);

}  // namespace soul::eval
