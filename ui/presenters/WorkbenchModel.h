// WorkbenchModel: what the reconstruction workbench shows, with no widget and no Qt (ITK-SNAP's
// presenter tier): the session, the trial, the sampler settings, the streams switched off, the
// decoder of the comparison column, the request in flight and its variants, the results on
// screen, the denoising frames, and the view description a figure export writes. WorkbenchPanel
// only couples its widgets to it and to the ReconstructionRunner; tests drive it directly.
#pragma once

#include "soul/figure.h"
#include "soul/reconstruct.h"

#include <optional>
#include <string>
#include <vector>

namespace soului {

class WorkbenchModel {
public:
    // What one reconstruction asks of the engine: the trial with every stream on and the samples
    // asked for; then, one sample each, the trial with the chosen streams off (when any) and with
    // the comparison decoder.
    struct Request {
        soul::TrialRef trial;
        soul::ReconstructionSettings settings;
        std::vector<soul::ReconstructionSettings> variants;
        int ablationVariant = -1, comparisonVariant = -1;
    };
    enum class Column { None, Ablation, Comparison };

    // A new session: everything shown is cleared; `groups` are the stream groups the dataset has.
    void openSession(std::string run, std::string data, std::vector<std::string> groups);
    const std::string& run() const { return m_run; }
    const std::string& data() const { return m_data; }

    void setTrial(const soul::TrialRef& trial);
    bool hasTrial() const { return m_hasTrial; }
    const soul::TrialRef& trial() const { return m_trial; }

    // Throws soul::Error naming the setting when it is out of bounds (soul::validate).
    void setSampler(const soul::SamplerSettings& sampler);
    const soul::SamplerSettings& sampler() const { return m_sampler; }
    // A group the dataset does not have is never off. streamsOff() is in soul::nsd::kStreamGroups' order.
    void setStreamOff(const std::string& group, bool off);
    std::vector<std::string> streamsOff() const;
    void setComparisonDecoder(const std::string& name) { m_comparisonDecoder = name; }
    const std::string& comparisonDecoder() const { return m_comparisonDecoder; }

    // The settings of the reconstruction itself (every stream on).
    soul::ReconstructionSettings settings() const;
    // What to ask the engine for now; nullopt without a trial.
    std::optional<Request> nextRequest() const;
    // The runner took `request` as number `number`: its results are the ones to show from now on,
    // the frames start again, and the variants of an older request are dropped when they arrive.
    void started(int number, const Request& request);
    int current() const { return m_current; }

    // Results delivered by the runner; false (None) for a request that is not the current one.
    bool acceptPreview(int number, const soul::DenoisePreview& preview);
    bool acceptResult(int number, const soul::Reconstruction& result);
    Column acceptVariant(int number, int index, const soul::Reconstruction& result);
    // Every variant of the current request is in.
    bool comparisonComplete() const { return m_variantsIn == m_request.variants.size() && m_current > 0; }

    // The denoising frames of the current reconstruction (sample 0), in step order.
    const std::vector<soul::DenoisePreview>& frames() const { return m_frames; }
    // What is on screen; empty samples when nothing is.
    const soul::Reconstruction& result() const { return m_result; }
    const soul::Reconstruction& ablation() const { return m_ablation; }
    const soul::Reconstruction& comparison() const { return m_comparison; }
    // The settings that made result().
    const soul::ReconstructionSettings& resultSettings() const { return m_request.settings; }

    // The view description of a figure of what is on screen (soul/figure.h); throws soul::Error
    // when nothing is on screen yet.
    soul::ViewDescription viewDescription(const std::string& kind, int scale) const;
    // The comparison and denoising figures composed from what is on screen (no engine call).
    soul::RgbImage figure(const std::string& kind, int scale) const;

private:
    std::string m_run, m_data;
    std::vector<std::string> m_groups;
    soul::TrialRef m_trial;
    bool m_hasTrial = false;
    soul::SamplerSettings m_sampler;
    std::vector<std::string> m_off;
    std::string m_comparisonDecoder = "baseline";
    int m_current = 0;
    Request m_request;
    size_t m_variantsIn = 0;
    std::vector<soul::DenoisePreview> m_frames;
    soul::Reconstruction m_result, m_ablation, m_comparison;
};

}  // namespace soului
