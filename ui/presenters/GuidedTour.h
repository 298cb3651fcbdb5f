// GuidedTour: the teaching mode's short tour of the dual-stream hypothesis, written for a class.
// Each step is a page of text and what the workbench does for it: which pathways to switch off
// (the "streams off" column then shows what is lost), which contribution output to chart, and
// which tab to bring forward. Qt-free: the panel applies the steps.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace soului {

struct TourStep {
    std::string title;
    std::string text;                   // HTML (paragraphs, <b>, <i>)
    std::vector<std::string> streamsOff;// groups switched off for this step (the rest on)
    std::string output;                 // the contribution output to chart, if any
    std::string tab;                    // "denoising", "contributions" or "" (stay)
};

// The tour, in order.
const std::vector<TourStep>& guidedTour();

// What the loaded model's evaluation measured when the step's pathways were off: a paragraph (HTML)
// quoting the double dissociation of `report` (report.json of `souldiffuser evaluate`, which the
// run keeps in evaluation-reconstruction/), each change with what the phantom predicted and
// whether it held. "" for a step with no pathway off; a pointer to `evaluate` when there is no report.
std::string measuredDissociation(const nlohmann::json& report, const std::vector<std::string>& streamsOff);

}  // namespace soului
