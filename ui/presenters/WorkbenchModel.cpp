#include "WorkbenchModel.h"

#include "soul/error.h"
#include "soul/nsd_layout.h"

#include <algorithm>

namespace soului {

// By value: a caller may pass this model's own run() and data().
void WorkbenchModel::openSession(std::string run, std::string data, std::vector<std::string> groups) {
    const soul::SamplerSettings sampler = m_sampler;
    const std::string decoder = m_comparisonDecoder;
    *this = WorkbenchModel();
    m_sampler = sampler;
    m_comparisonDecoder = decoder;
    m_run = std::move(run);
    m_data = std::move(data);
    m_groups = std::move(groups);
}

void WorkbenchModel::setTrial(const soul::TrialRef& trial) {
    m_trial = trial;
    m_hasTrial = true;
}

void WorkbenchModel::setSampler(const soul::SamplerSettings& sampler) {
    soul::validate(sampler, "workbench");
    m_sampler = sampler;
}

void WorkbenchModel::setStreamOff(const std::string& group, bool off) {
    const auto it = std::find(m_off.begin(), m_off.end(), group);
    if (off && it == m_off.end()) m_off.push_back(group);
    if (!off && it != m_off.end()) m_off.erase(it);
}

std::vector<std::string> WorkbenchModel::streamsOff() const {
    std::vector<std::string> off;
    for (const char* group : soul::nsd::kStreamGroups)
        if (std::count(m_off.begin(), m_off.end(), group) && std::count(m_groups.begin(), m_groups.end(), group)) off.push_back(group);
    return off;
}

soul::ReconstructionSettings WorkbenchModel::settings() const {
    soul::ReconstructionSettings s;
    s.sampler = m_sampler;
    return s;
}

std::optional<WorkbenchModel::Request> WorkbenchModel::nextRequest() const {
    if (!m_hasTrial) return std::nullopt;
    Request r;
    r.trial = m_trial;
    r.settings = settings();
    soul::ReconstructionSettings single = r.settings;
    single.sampler.samples = 1;
    if (const auto off = streamsOff(); !off.empty()) {
        soul::ReconstructionSettings ablated = single;
        ablated.ablate = off;
        r.ablationVariant = static_cast<int>(r.variants.size());
        r.variants.push_back(ablated);
    }
    soul::ReconstructionSettings compared = single;
    compared.decoder = m_comparisonDecoder;
    r.comparisonVariant = static_cast<int>(r.variants.size());
    r.variants.push_back(compared);
    return r;
}

void WorkbenchModel::started(int number, const Request& request) {
    m_current = number;
    m_request = request;
    m_variantsIn = 0;
    m_frames.clear();
    if (request.ablationVariant < 0) m_ablation = {};
}

bool WorkbenchModel::acceptPreview(int number, const soul::DenoisePreview& preview) {
    if (number != m_current) return false;
    if (preview.step == 0) m_frames.clear();
    m_frames.push_back(preview);
    return true;
}

bool WorkbenchModel::acceptResult(int number, const soul::Reconstruction& result) {
    if (number != m_current || result.samples.empty()) return false;
    m_result = result;
    return true;
}

WorkbenchModel::Column WorkbenchModel::acceptVariant(int number, int index, const soul::Reconstruction& result) {
    if (number != m_current || result.samples.empty()) return Column::None;
    ++m_variantsIn;
    if (index == m_request.ablationVariant) {
        m_ablation = result;
        return Column::Ablation;
    }
    if (index == m_request.comparisonVariant) {
        m_comparison = result;
        return Column::Comparison;
    }
    return Column::None;
}

soul::ViewDescription WorkbenchModel::viewDescription(const std::string& kind, int scale) const {
    if (m_result.samples.empty()) throw soul::Error("select a trial and wait for its reconstruction first");
    soul::ViewDescription view;
    view.run = m_run;
    view.data = m_data;
    view.kind = kind;
    view.trials = {m_result.trial};
    view.settings = m_request.settings;
    view.scale = scale;
    return view;
}

soul::RgbImage WorkbenchModel::figure(const std::string& kind, int scale) const {
    if (m_result.samples.empty()) throw soul::Error("select a trial and wait for its reconstruction first");
    if (kind == "comparison") return soul::compose_comparison({m_result}, scale);
    if (kind == "denoising") return soul::compose_denoising(m_frames, scale);
    throw soul::Error("unknown figure '" + kind + "' (comparison, denoising)");
}

}  // namespace soului
