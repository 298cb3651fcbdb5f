#include "TuningMaps.h"

#include "soul/error.h"
#include "soul/phantom_layout.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace soului {

namespace {

constexpr uint8_t kSilhouette = 70;   // grey of visual voxels that carry nothing
constexpr float kVisible = 0.02f;     // values below this show the silhouette
constexpr double kTopPercentile = 0.99;   // |attribution| at this percentile is drawn at full scale

// The "hot" colour map: black, red, yellow, white.
void hot(float t, uint8_t* rgb) {
    const float c[3] = {std::clamp(3 * t, 0.0f, 1.0f), std::clamp(3 * t - 1, 0.0f, 1.0f), std::clamp(3 * t - 2, 0.0f, 1.0f)};
    for (int i = 0; i < 3; ++i) rgb[i] = static_cast<uint8_t>(std::lround(255 * c[i]));
}

}  // namespace

bool TuningMaps::available(const std::string& root) {
    namespace layout = soul::phantom_layout;
    return !root.empty() && fs::exists(layout::ground_truth(root, layout::kStream)) && fs::exists(layout::ground_truth(root, layout::kPrfSize));
}

TuningMaps::TuningMaps(const std::string& root) {
    auto read = [&](const char* name) {
        const soul::Volume v = soul::read_nifti(soul::phantom_layout::ground_truth(root, name));
        if (m_dims == std::array<int64_t, 3>{0, 0, 0}) m_dims = v.dims;
        if (v.dims != m_dims) throw soul::Error(v.path, "is not on the grid of the other ground-truth maps");
        return v;
    };
    namespace layout = soul::phantom_layout;
    const soul::Volume stream = read(layout::kStream), size = read(layout::kPrfSize), category = read(layout::kPreferredCategory),
                       x = read(layout::kPositionX), y = read(layout::kPositionY);
    const size_t n = stream.voxels.size();
    m_visual.resize(n);
    m_receptiveField.resize(n);
    m_category.resize(n);
    m_position.resize(n);
    for (size_t i = 0; i < n; ++i) {
        m_visual[i] = stream.voxels[i] > 0;
        m_receptiveField[i] = m_visual[i] && size.voxels[i] > 0;
        m_category[i] = m_visual[i] && category.voxels[i] >= 0;
        m_position[i] = m_visual[i] && (x.voxels[i] != 0 || y.voxels[i] != 0);
    }
}

bool TuningMaps::covers(const std::string& output) const {
    return output == "palette" || output == "edges" || output == "low-level image" || output == "position" || output == "category" ||
           output == "caption" || output == "embedding";
}

std::string TuningMaps::description(const std::string& output) const {
    if (output == "position") return "position-tuned voxels (lateral and parietal cortex)";
    if (output == "category" || output == "caption" || output == "embedding") return "category-tuned voxels (patches in ventral and lateral cortex)";
    return "voxels with a population receptive field (early and midventral cortex)";
}

const std::vector<uint8_t>& TuningMaps::maskOf(const std::string& output) const {
    if (output == "position") return m_position;
    if (output == "category" || output == "caption" || output == "embedding") return m_category;
    return m_receptiveField;
}

std::pair<double, double> TuningMaps::share(const std::string& output, const soul::Volume& attribution) const {
    if (attribution.dims != m_dims) throw soul::Error(attribution.path, "is not on the grid of the phantom's ground truth");
    const std::vector<uint8_t>& mask = maskOf(output);
    double inside = 0, total = 0, tuned = 0, visual = 0;
    for (size_t i = 0; i < mask.size(); ++i) {
        if (!m_visual[i]) continue;
        const double a = std::abs(attribution.voxels[i]);
        total += a;
        visual += 1;
        if (mask[i]) {
            inside += a;
            tuned += 1;
        }
    }
    return {total > 0 ? inside / total : 0.0, visual > 0 ? tuned / visual : 0.0};
}

soul::RgbImage TuningMaps::project(const std::vector<float>& value) const {
    const int64_t w = m_dims[0], h = m_dims[1];
    soul::RgbImage image;
    image.width = w;
    image.height = h;
    image.pixels.assign(static_cast<size_t>(w * h * 3), 0);
    for (int64_t j = 0; j < h; ++j)
        for (int64_t i = 0; i < w; ++i) {
            bool visual = false;
            float top = 0;
            for (int64_t k = 0; k < m_dims[2]; ++k) {
                const size_t n = static_cast<size_t>((k * h + j) * w + i);
                visual = visual || m_visual[n];
                top = std::max(top, value[n]);
            }
            uint8_t* rgb = image.pixels.data() + ((h - 1 - j) * w + i) * 3;   // anterior up
            if (top >= kVisible) hot(top, rgb);
            else if (visual) std::fill(rgb, rgb + 3, kSilhouette);
        }
    return image;
}

soul::Volume TuningMaps::truthVolume(const std::string& output, const soul::Volume& like) const {
    if (like.dims != m_dims) throw soul::Error(like.path, "is not on the grid of the phantom's ground truth");
    const std::vector<uint8_t>& mask = maskOf(output);
    soul::Volume truth = soul::Volume::zeros_like(like);
    for (size_t i = 0; i < mask.size(); ++i) truth.voxels[i] = mask[i] ? 1.0f : 0.0f;
    return truth;
}

soul::RgbImage TuningMaps::truthProjection(const std::string& output) const {
    // Per column the fraction of its visual voxels that are tuned, put back on every voxel of it.
    const std::vector<uint8_t>& mask = maskOf(output);
    const int64_t w = m_dims[0], h = m_dims[1];
    std::vector<float> value(mask.size(), 0.0f);
    for (int64_t j = 0; j < h; ++j)
        for (int64_t i = 0; i < w; ++i) {
            float tuned = 0, visual = 0;
            for (int64_t k = 0; k < m_dims[2]; ++k) {
                const size_t n = static_cast<size_t>((k * h + j) * w + i);
                visual += m_visual[n];
                tuned += mask[n];
            }
            if (visual > 0) value[static_cast<size_t>(j * w + i)] = tuned / visual;
        }
    return project(value);
}

soul::RgbImage TuningMaps::attributionProjection(const soul::Volume& attribution) const {
    if (attribution.dims != m_dims) throw soul::Error(attribution.path, "is not on the grid of the phantom's ground truth");
    // Scaled to a high percentile, not the maximum: a few voxels with large gradients would
    // otherwise leave the rest black.
    std::vector<float> magnitudes;
    for (size_t i = 0; i < m_visual.size(); ++i)
        if (m_visual[i]) magnitudes.push_back(std::abs(attribution.voxels[i]));
    float top = 0;
    if (!magnitudes.empty()) {
        auto at = magnitudes.begin() + static_cast<std::ptrdiff_t>(kTopPercentile * static_cast<double>(magnitudes.size() - 1));
        std::nth_element(magnitudes.begin(), at, magnitudes.end());
        top = *at;
    }
    std::vector<float> value(m_visual.size(), 0.0f);
    for (size_t i = 0; i < value.size(); ++i)
        if (m_visual[i] && top > 0) value[i] = std::min(1.0f, std::abs(attribution.voxels[i]) / top);
    return project(value);
}

}  // namespace soului
