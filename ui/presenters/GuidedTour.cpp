#include "GuidedTour.h"

#include "soul/nsd_layout.h"

#include <cstdio>

namespace soului {

const std::vector<TourStep>& guidedTour() {
    static const std::vector<TourStep> steps = {
        {"1. From brain to image",
         "<p>On the left is a picture a person (here: the phantom subject) looked at. While they looked, the scanner "
         "measured how strongly each small cube of visual cortex, a <i>voxel</i>, responded. The brain views show those "
         "responses, coloured by the pathway each voxel belongs to.</p>"
         "<p>SoulDiffuser reads the responses and draws what it thinks was seen: the <b>reconstruction</b>. It never sees "
         "the picture itself. Pick a trial from the list and compare the two.</p>",
         {}, "", ""},
        {"2. The picture is painted step by step",
         "<p>The image is made by a diffusion model. It starts from noise and, step by step, removes the noise it "
         "predicts, steered by what the brain responses say: a caption, a colour palette and an edge map.</p>"
         "<p>Press <b>Play</b> under <i>Denoising</i>: the left image is the noisy picture at each step, the right one "
         "the model's guess of the finished picture.</p>",
         {}, "", "denoising"},
        {"3. The early visual stream: where the light fell",
         "<p>The <b>early</b> visual areas (V1–V3, at the back of the head) respond to light, colour and edges at each "
         "place of the visual field: a map of the picture, drawn on cortex.</p>"
         "<p>We have switched the early stream off: its voxels are set to their average. Look at the <b>streams off</b> "
         "column: the colours, the edges and the layout of the picture are lost, while the caption can survive.</p>",
         {soul::nsd::kEarlyGroup}, "palette", ""},
        {"4. The ventral stream: what it is",
         "<p>The <b>ventral</b> pathway runs from the back of the head down along the temporal lobe. It answers "
         "<i>what</i> is seen: a dress, a boot, a bag. SoulDiffuser's caption decoder (SemBERT) reads only these voxels.</p>"
         "<p>With the ventral stream off, the <b>caption</b> in the streams-off column changes, while colours and layout "
         "stay: those come from the early stream. Compare with step 3: early off loses the colours and the layout but "
         "keeps the caption. Each stream loses what the other keeps: a <i>double dissociation</i>, the kind of evidence "
         "neuropsychology uses to say that two abilities live in different places.</p>",
         {soul::nsd::kVentralGroup}, "caption", ""},
        {"5. The dorsal stream: where it is",
         "<p>The <b>dorsal</b> pathway runs up into the parietal lobe. It answers <i>where</i> things are and how to reach "
         "them. In the phantom, parietal voxels are tuned to the object's position.</p>"
         "<p>With the dorsal stream off, the object's place is what can suffer, never what the object is. In the phantom, "
         "place is also on the early stream's map of the picture, so the loss is small. Open <b>Stream contributions</b> "
         "and press <b>Compute</b> to see which voxels the model used for the output <i>position</i>.</p>",
         {soul::nsd::kDorsalGroup}, "position", "contributions"},
        {"6. The lateral stream: both",
         "<p>The <b>lateral</b> occipital and temporal areas sit between the two pathways and carry some of each: "
         "object category and object position. Switch it off and compare with steps 4 and 5.</p>",
         {soul::nsd::kLateralGroup}, "category", ""},
        {"7. Checking the model against the truth",
         "<p>Real brains do not tell us which voxels carry what. The phantom subject does: it was built with known "
         "tuning. Under <b>Stream contributions</b>, the left map shows where the model found the evidence for an "
         "output (its attribution, seen from above); the right map shows the voxels that really carry it.</p>"
         "<p>When the two agree, the model has learned the brain's division of labour; the number under them says how "
         "much of the evidence falls on the right voxels, against what a blind guess would give.</p>",
         {}, "palette", "contributions"},
    };
    return steps;
}

std::string measuredDissociation(const nlohmann::json& report, const std::vector<std::string>& streamsOff) {
    if (streamsOff.empty()) return "";
    std::string pathway;
    for (const auto& group : streamsOff) pathway += (pathway.empty() ? "" : " + ") + group;
    const nlohmann::json* dissociation = report.is_object() && report.contains("dissociation") ? &report["dissociation"] : nullptr;
    if (!dissociation || !dissociation->contains("rows") || !(*dissociation)["rows"].is_array())
        return "<p><i>Measured: this model has no evaluation with the dissociation table yet; <tt>souldiffuser evaluate RUN</tt> "
               "makes one.</i></p>";
    const nlohmann::json *none = nullptr, *off = nullptr;
    for (const auto& row : (*dissociation)["rows"]) {
        if (!row.is_object() || row.value("part", "") != "images") continue;
        if (row.value("pathway_off", "") == "none") none = &row;
        if (row.value("pathway_off", "") == pathway) off = &row;
    }
    if (!none || !off) return "<p><i>Measured: this model's evaluation has no row with " + pathway + " off.</i></p>";
    struct Measure {
        const char* key;
        const char* name;
    };
    static const Measure measures[] = {{"category", "category"}, {"position_error", "position error"}, {"palette_delta_e", "palette ΔE"}, {"edge_r", "edge r"}};
    std::string text = "<p><b>Measured for this model</b> (<tt>souldiffuser evaluate</tt>, " + std::to_string(report.value("test_images", 0)) +
                       " test images), all streams → " + pathway + " off:";
    for (const Measure& m : measures) {
        const auto a = none->find(m.key), b = off->find(m.key);
        if (a == none->end() || b == off->end() || !a->is_number() || !b->is_number()) continue;
        char numbers[64];
        std::snprintf(numbers, sizeof numbers, "%.2f → %.2f", a->get<double>(), b->get<double>());
        text += std::string("<br>") + m.name + " " + numbers;
        if (off->contains("predicted") && (*off)["predicted"].contains(m.key)) {
            const nlohmann::json& held = off->value("held", nlohmann::json::object()).value(m.key, nlohmann::json());
            text += " (the phantom predicts <i>" + (*off)["predicted"][m.key].get<std::string>() + "</i>: " +
                    (held.is_boolean() ? (held.get<bool>() ? "held" : "did not hold") : "untestable") + ")";
        }
    }
    return text + "</p>";
}

}  // namespace soului
