// The phantom's forward model (docs/phantom.md): stimulus features and each visual voxel's tuning.
// Early visual cortex: population receptive fields (Dumoulin & Wandell 2008) with retinotopy
// smooth over cortex (eccentricity growing from the occipital pole forward, polar angle from the
// height relative to the calcarine sulcus, the contralateral hemifield) and sizes growing with
// eccentricity, over contrast, edge energy and colour-opponent features. Ventral: category
// patches plus colour (hV4/midventral). Dorsal: object position and size. Lateral: a mix.
#include "phantom_model.h"
#include "phantom_rng.h"

#include "soul/nsd_layout.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace soul::phantom {
namespace {

constexpr double kPi = 3.141592653589793;
// Eccentricity (field units: the image's half-width is 1) at the pole and at the front of V3.
constexpr double kEccentricityPole = 0.06, kEccentricityFront = 1.3;
// pRF size σ = a + b · eccentricity (sizes grow linearly with eccentricity in human V1–V3).
constexpr double kPrfSizeBase = 0.05, kPrfSizeSlope = 0.2;
// Height above/below the calcarine line (mm) that reaches a vertical meridian.
constexpr double kMeridianHeightMm = 12.0;
// pRFs are truncated at this many σ.
constexpr double kPrfSupport = 2.5;
// Category patch width (mm) and position tuning width (field units).
constexpr double kPatchWidthMm = 5.0;
constexpr double kPositionWidth = 0.45;
// Smoothness of the random maps of preferences over cortex (voxels), and how many there are.
constexpr double kFieldSigmaVoxels = 2.5;
constexpr uint64_t kPreferenceFields = 17;
// Spread of the per-voxel signal gain (log-normal, mean 1): voxels differ in SNR as in NSD.
constexpr double kGainLogSd = 0.7;
// Weight of the exemplar-specific shape tuning in ventral and lateral cortex.
constexpr float kShapeWeight = 0.5f;
// Nominal tuning weights of each stream (docs/phantom.md, "Forward model").
constexpr float kEarlyLuminance = 1.0f, kEarlyContrast = 0.3f, kEarlyEdges = 0.3f, kEarlyOpponent = 0.4f;
constexpr float kMidventralMaps = 0.2f, kMidventralOpponent = 0.8f, kMidventralColour = 0.8f, kMidventralCategory = 0.3f;
constexpr float kVentralCategory = 0.35f, kVentralColour = 0.25f;
constexpr float kLateralCategory = 0.6f, kLateralPosition = 0.6f;
constexpr float kParietalPosition = 0.7f, kParietalSize = 0.5f;

std::array<double, 3> ras_of(const Volume& grid, int64_t n) {
    const auto [i, j, k] = grid.ijk(n);
    return grid.ijk_to_ras.apply(static_cast<double>(i), static_cast<double>(j), static_cast<double>(k));
}

// Farthest-point sampling of `count` patch centres among `points` (deterministic from `rng`).
std::vector<std::array<double, 3>> patch_centres(const std::vector<std::array<double, 3>>& points, int count, Rng& rng) {
    std::vector<std::array<double, 3>> centres;
    if (points.empty()) return centres;
    centres.push_back(points[static_cast<size_t>(rng.below(static_cast<int64_t>(points.size())))]);
    std::vector<double> nearest(points.size(), 1e30);
    while (static_cast<int>(centres.size()) < count) {
        size_t best = 0;
        for (size_t p = 0; p < points.size(); ++p) {
            const auto& c = centres.back();
            const double d = (points[p][0] - c[0]) * (points[p][0] - c[0]) + (points[p][1] - c[1]) * (points[p][1] - c[1]) +
                             (points[p][2] - c[2]) * (points[p][2] - c[2]);
            nearest[p] = std::min(nearest[p], d);
            if (nearest[p] > nearest[best]) best = p;
        }
        centres.push_back(points[best]);
    }
    return centres;
}

}  // namespace

void gaussian_smooth(std::vector<float>& data, const std::array<int64_t, 3>& dims, double sigma) {
    const int radius = static_cast<int>(std::ceil(3 * sigma));
    std::vector<double> kernel(static_cast<size_t>(2 * radius + 1));
    for (int r = -radius; r <= radius; ++r) kernel[static_cast<size_t>(r + radius)] = std::exp(-0.5 * r * r / (sigma * sigma));
    const double total = std::accumulate(kernel.begin(), kernel.end(), 0.0);
    for (double& k : kernel) k /= total;
    std::vector<float> line;
    for (int axis = 0; axis < 3; ++axis) {
        const int64_t length = dims[axis];
        const int64_t stride = axis == 0 ? 1 : axis == 1 ? dims[0] : dims[0] * dims[1];
        const int64_t lines = dims[0] * dims[1] * dims[2] / length;
        line.resize(static_cast<size_t>(length));
        for (int64_t l = 0; l < lines; ++l) {
            // The first voxel of line l along `axis`.
            int64_t base;
            if (axis == 0) base = l * dims[0];
            else if (axis == 1) base = (l / dims[0]) * dims[0] * dims[1] + l % dims[0];
            else base = l;
            for (int64_t p = 0; p < length; ++p) line[static_cast<size_t>(p)] = data[static_cast<size_t>(base + p * stride)];
            for (int64_t p = 0; p < length; ++p) {
                double sum = 0;
                for (int r = -radius; r <= radius; ++r) {
                    const int64_t q = std::clamp<int64_t>(p + r, 0, length - 1);
                    sum += kernel[static_cast<size_t>(r + radius)] * line[static_cast<size_t>(q)];
                }
                data[static_cast<size_t>(base + p * stride)] = static_cast<float>(sum);
            }
        }
    }
}

std::vector<float> smooth_field(const std::array<int64_t, 3>& dims, double sigma, uint64_t seed_key) {
    Rng rng(seed_key);
    std::vector<float> field(static_cast<size_t>(dims[0] * dims[1] * dims[2]));
    for (float& v : field) v = static_cast<float>(rng.normal());
    gaussian_smooth(field, dims, sigma);
    double sum = 0, sq = 0;
    for (float v : field) {
        sum += v;
        sq += static_cast<double>(v) * v;
    }
    const double mean = sum / field.size(), sd = std::sqrt(std::max(1e-12, sq / field.size() - mean * mean));
    for (float& v : field) v = static_cast<float>((v - mean) / sd);
    return field;
}

Features stimulus_features(const Scene& scene, const std::vector<uint8_t>& rgb, int size, const IdxImages& objects) {
    Features f;
    // Shape code: the object's 28 × 28 pixels pooled to 7 × 7 and projected on six fixed
    // pseudo-random directions (the same for every phantom), roughly unit variance.
    {
        const uint8_t* object = objects.pixels.data() + static_cast<size_t>(scene.fmnist_index) * objects.rows * objects.cols;
        std::array<double, 49> pooled{};
        for (int64_t y = 0; y < objects.rows; ++y)
            for (int64_t x = 0; x < objects.cols; ++x)
                pooled[static_cast<size_t>((y * 7 / objects.rows) * 7 + x * 7 / objects.cols)] += object[y * objects.cols + x] / (255.0 * 16);
        for (size_t d = 0; d < f.shape.size(); ++d) {
            Rng direction(key(0x5ba9e, d));
            double sum = 0;
            for (double p : pooled) sum += direction.normal() * (p - 0.3);
            f.shape[d] = static_cast<float>(sum / 2.0);
        }
    }
    f.category = scene.category;
    f.x = scene.x;
    f.y = scene.y;
    f.size = scene.size;
    const auto& c = kPhantomColours[static_cast<size_t>(scene.object_colour)].rgb;
    const double r = c[0] / 255.0, g = c[1] / 255.0, b = c[2] / 255.0;
    f.hue = std::atan2(std::sqrt(3.0) * (g - b), 2 * r - g - b);
    const double mx = std::max({r, g, b}), mn = std::min({r, g, b});
    f.saturation = mx > 0 ? (mx - mn) / mx : 0;

    const int cell = size / kFeatureGrid;
    std::vector<double> lum(static_cast<size_t>(size) * size);
    for (size_t p = 0; p < lum.size(); ++p) lum[p] = (rgb[p * 3] + rgb[p * 3 + 1] + rgb[p * 3 + 2]) / (3 * 255.0);
    f.maps.assign(static_cast<size_t>(kFeatureMaps * kFeatureGrid * kFeatureGrid), 0.0f);
    for (int gy = 0; gy < kFeatureGrid; ++gy)
        for (int gx = 0; gx < kFeatureGrid; ++gx) {
            double sum = 0, sq = 0, edge = 0, rg = 0, by = 0;
            for (int y = gy * cell; y < (gy + 1) * cell; ++y)
                for (int x = gx * cell; x < (gx + 1) * cell; ++x) {
                    const size_t p = static_cast<size_t>(y) * size + x;
                    sum += lum[p];
                    sq += lum[p] * lum[p];
                    // Sobel gradient magnitude.
                    auto L = [&](int xx, int yy) {
                        return lum[static_cast<size_t>(std::clamp(yy, 0, size - 1)) * size + std::clamp(xx, 0, size - 1)];
                    };
                    const double sx = L(x + 1, y - 1) + 2 * L(x + 1, y) + L(x + 1, y + 1) - L(x - 1, y - 1) - 2 * L(x - 1, y) - L(x - 1, y + 1);
                    const double sy = L(x - 1, y + 1) + 2 * L(x, y + 1) + L(x + 1, y + 1) - L(x - 1, y - 1) - 2 * L(x, y - 1) - L(x + 1, y - 1);
                    edge += std::sqrt(sx * sx + sy * sy);
                    const double R = rgb[p * 3] / 255.0, G = rgb[p * 3 + 1] / 255.0, B = rgb[p * 3 + 2] / 255.0;
                    rg += R - G;
                    by += B - (R + G) / 2;
                }
            const double n = static_cast<double>(cell) * cell;
            const size_t at = (static_cast<size_t>(gy) * kFeatureGrid + gx) * kFeatureMaps;
            f.maps[at] = static_cast<float>(sum / n);                                                       // luminance
            f.maps[at + 1] = static_cast<float>(std::sqrt(std::max(0.0, sq / n - (sum / n) * (sum / n))));  // contrast
            f.maps[at + 2] = static_cast<float>(edge / n);                                                  // edge energy
            f.maps[at + 3] = static_cast<float>(rg / n);                                                    // red−green
            f.maps[at + 4] = static_cast<float>(by / n);                                                    // blue−yellow
        }
    return f;
}

Tuning build_tuning(const Anatomy& an, uint64_t seed) {
    const Volume& grid = an.streams;
    const auto dims = grid.dims;
    const size_t V = an.visual.size();
    Tuning t;
    t.prf_x.assign(V, 0);
    t.prf_y.assign(V, 0);
    t.prf_size.assign(V, 0);
    t.feature_weight.assign(V, {0, 0, 0, 0, 0});
    t.colour_weight.assign(V, 0);
    t.hue_pref.assign(V, 0);
    t.category_affinity.assign(V, {});
    t.category_weight.assign(V, 0);
    t.position_weight.assign(V, 0);
    t.pos_x.assign(V, 0);
    t.pos_y.assign(V, 0);
    t.size_weight.assign(V, 0);
    t.preferred_category.assign(V, -1);
    t.shape_weight.assign(V, {});
    t.gain.assign(V, 1);

    // Smooth random maps of preferences over cortex.
    std::vector<std::vector<float>> field;
    for (uint64_t f = 0; f < kPreferenceFields; ++f) field.push_back(smooth_field(dims, kFieldSigmaVoxels, key(seed, kFieldPurpose, f)));
    auto F = [&](int which, int64_t n) { return std::clamp(field[static_cast<size_t>(which)][static_cast<size_t>(n)], -2.5f, 2.5f); };

    // Retinotopy reference per hemisphere: the calcarine line z = a + b·y (least squares), and
    // the y extent of early cortex.
    struct Hemi {
        double sy = 0, sz = 0, syy = 0, syz = 0, n = 0, ymin = 1e9, ymax = -1e9;
        double a = 0, b = 0;
    } hemi[2];
    for (size_t v = 0; v < V; ++v) {
        const int64_t n = an.visual[v];
        const auto ras = ras_of(grid, n);
        Hemi& h = hemi[ras[0] < 0 ? 0 : 1];
        const int roi = static_cast<int>(an.visualrois.voxels[static_cast<size_t>(n)]);
        if (an.streams.voxels[static_cast<size_t>(n)] == nsd::kEarly) {
            h.ymin = std::min(h.ymin, ras[1]);
            h.ymax = std::max(h.ymax, ras[1]);
        }
        if (roi == nsd::kV1d || roi == nsd::kV1v) {
            h.sy += ras[1];
            h.sz += ras[2];
            h.syy += ras[1] * ras[1];
            h.syz += ras[1] * ras[2];
            h.n += 1;
        }
    }
    for (Hemi& h : hemi) {
        const double det = h.n * h.syy - h.sy * h.sy;
        h.b = std::abs(det) > 1e-9 ? (h.n * h.syz - h.sy * h.sz) / det : 0;
        h.a = h.n > 0 ? (h.sz - h.b * h.sy) / h.n : 0;
    }

    // Category patches: 10 per stream and hemisphere, farthest-point centres, categories shuffled.
    std::map<std::pair<int, int>, std::vector<std::array<double, 3>>> points;
    for (size_t v = 0; v < V; ++v) {
        const int64_t n = an.visual[v];
        const int stream = static_cast<int>(an.streams.voxels[static_cast<size_t>(n)]);
        const auto ras = ras_of(grid, n);
        points[{stream, ras[0] < 0 ? 0 : 1}].push_back(ras);
    }
    std::map<std::pair<int, int>, std::vector<std::pair<std::array<double, 3>, int>>> patches;
    for (const auto& [group, pts] : points) {
        if (group.first != nsd::kVentral && group.first != nsd::kLateral && group.first != nsd::kMidlateral &&
            group.first != nsd::kMidventral)
            continue;
        Rng rng(key(seed, kPatchPurpose, static_cast<uint64_t>(group.first * 2 + group.second)));
        const auto centres = patch_centres(pts, kCategories, rng);
        std::array<int, kCategories> order;
        std::iota(order.begin(), order.end(), 0);
        for (int c = kCategories - 1; c > 0; --c) std::swap(order[static_cast<size_t>(c)], order[static_cast<size_t>(rng.below(c + 1))]);
        for (size_t c = 0; c < centres.size(); ++c) patches[group].push_back({centres[c], order[c]});
    }

    for (size_t v = 0; v < V; ++v) {
        const int64_t n = an.visual[v];
        const int stream = static_cast<int>(an.streams.voxels[static_cast<size_t>(n)]);
        const int roi = static_cast<int>(an.visualrois.voxels[static_cast<size_t>(n)]);
        const auto ras = ras_of(grid, n);
        const int side = ras[0] < 0 ? 0 : 1;
        const Hemi& h = hemi[side];

        const bool has_prf = stream == nsd::kEarly || stream == nsd::kMidventral;
        if (has_prf) {
            const double along = std::clamp((ras[1] - h.ymin) / std::max(1.0, h.ymax - h.ymin), 0.0, 1.0);
            const double ecc = kEccentricityPole * std::exp(along * std::log(kEccentricityFront / kEccentricityPole));
            // Above the calcarine line → lower visual field; left hemisphere → right hemifield.
            const double height = std::clamp((ras[2] - (h.a + h.b * ras[1])) / kMeridianHeightMm, -1.0, 1.0);
            const double angle = -height * kPi / 2;
            const double hemifield = side == 0 ? 1.0 : -1.0;
            t.prf_x[v] = static_cast<float>(hemifield * ecc * std::cos(angle));
            t.prf_y[v] = static_cast<float>(ecc * std::sin(angle));
            double sigma = kPrfSizeBase + kPrfSizeSlope * ecc;
            if (roi == nsd::kV2d || roi == nsd::kV2v) sigma *= 1.3;
            if (roi == nsd::kV3d || roi == nsd::kV3v) sigma *= 1.6;
            if (stream == nsd::kMidventral) sigma *= 2.5;
            t.prf_size[v] = static_cast<float>(sigma);
        }
        switch (stream) {
            case nsd::kEarly:
                t.feature_weight[v] = {kEarlyLuminance + 0.2f * F(0, n), kEarlyContrast + 0.1f * F(1, n), kEarlyEdges + 0.1f * F(2, n),
                                       kEarlyOpponent * F(3, n), kEarlyOpponent * F(4, n)};
                break;
            case nsd::kMidventral:
                t.feature_weight[v] = {kMidventralMaps, kMidventralMaps, kMidventralMaps, kMidventralOpponent * F(3, n), kMidventralOpponent * F(4, n)};
                t.colour_weight[v] = kMidventralColour;
                t.category_weight[v] = kMidventralCategory;
                break;
            case nsd::kVentral:
                t.category_weight[v] = kVentralCategory;
                t.colour_weight[v] = kVentralColour;
                break;
            case nsd::kMidlateral:
            case nsd::kLateral:
                t.category_weight[v] = kLateralCategory;
                t.position_weight[v] = kLateralPosition;
                break;
            case nsd::kMidparietal:
            case nsd::kParietal:
                t.position_weight[v] = kParietalPosition;
                t.size_weight[v] = kParietalSize * F(9, n);
                break;
            default:
                break;
        }
        t.hue_pref[v] = static_cast<float>(std::atan2(F(5, n), F(6, n)));
        t.gain[v] = static_cast<float>(std::exp(kGainLogSd * F(10, n) - 0.5 * kGainLogSd * kGainLogSd));
        // Exemplar-specific shape tuning in ventral and lateral cortex: category is not all they
        // carry. (Shape correlates with category, so dorsal cortex gets none: it stays blind to it.)
        if (stream == nsd::kVentral || stream == nsd::kLateral || stream == nsd::kMidlateral)
            for (int d = 0; d < 6; ++d) t.shape_weight[v][static_cast<size_t>(d)] = kShapeWeight * F(11 + d, n);
        t.pos_x[v] = static_cast<float>(0.8 * std::tanh(F(7, n)));
        t.pos_y[v] = static_cast<float>(0.8 * std::tanh(F(8, n)));
        auto it = patches.find({stream, side});
        if (it != patches.end() && t.category_weight[v] > 0) {
            std::array<float, kCategories> a{};
            for (const auto& [centre, category] : it->second) {
                const double d2 = (ras[0] - centre[0]) * (ras[0] - centre[0]) + (ras[1] - centre[1]) * (ras[1] - centre[1]) +
                                  (ras[2] - centre[2]) * (ras[2] - centre[2]);
                a[static_cast<size_t>(category)] = std::max(a[static_cast<size_t>(category)],
                                                            static_cast<float>(std::exp(-0.5 * d2 / (kPatchWidthMm * kPatchWidthMm))));
            }
            const float top = *std::max_element(a.begin(), a.end());
            for (float& x : a) x = top > 0 ? x / top : 0;
            t.category_affinity[v] = a;
            t.preferred_category[v] = static_cast<int>(std::max_element(a.begin(), a.end()) - a.begin());
        }
    }
    // pRFs as sparse weights over the feature cells, truncated at kPrfSupport σ, summing to 1.
    constexpr int G = kFeatureGrid;
    t.prf_begin.assign(V + 1, 0);
    for (size_t v = 0; v < V; ++v) {
        t.prf_begin[v] = static_cast<uint32_t>(t.prf_cell.size());
        if (t.prf_size[v] <= 0) continue;
        const double s = t.prf_size[v], cx = t.prf_x[v], cy = t.prf_y[v];
        const double to_cell = G / 2.0;
        const int x0 = std::max(0, static_cast<int>(std::floor((cx - kPrfSupport * s + 1) * to_cell)));
        const int x1 = std::min(G - 1, static_cast<int>(std::ceil((cx + kPrfSupport * s + 1) * to_cell)));
        const int y0 = std::max(0, static_cast<int>(std::floor((1 - (cy + kPrfSupport * s)) * to_cell)));
        const int y1 = std::min(G - 1, static_cast<int>(std::ceil((1 - (cy - kPrfSupport * s)) * to_cell)));
        const size_t first = t.prf_weight.size();
        double total = 0;
        for (int gy = y0; gy <= y1; ++gy)
            for (int gx = x0; gx <= x1; ++gx) {
                const double dx = (gx + 0.5) / to_cell - 1 - cx, dy = 1 - (gy + 0.5) / to_cell - cy;
                const double d2 = (dx * dx + dy * dy) / (s * s);
                if (d2 > kPrfSupport * kPrfSupport) continue;
                const double w = std::exp(-0.5 * d2);
                t.prf_cell.push_back(static_cast<uint16_t>(gy * G + gx));
                t.prf_weight.push_back(static_cast<float>(w));
                total += w;
            }
        for (size_t e = first; e < t.prf_weight.size(); ++e) t.prf_weight[e] = static_cast<float>(t.prf_weight[e] / total);
    }
    t.prf_begin[V] = static_cast<uint32_t>(t.prf_cell.size());
    t.mean.assign(V, 0);
    t.scale.assign(V, 1);
    return t;
}

void raw_response(const Tuning& t, const Features& f, float* out) {
    const size_t V = t.prf_x.size();
    for (size_t v = 0; v < V; ++v) {
        double r = 0;
        if (t.prf_begin[v + 1] > t.prf_begin[v]) {
            float acc[kFeatureMaps] = {0, 0, 0, 0, 0};
            for (uint32_t e = t.prf_begin[v]; e < t.prf_begin[v + 1]; ++e) {
                const float w = t.prf_weight[e];
                const float* cell = f.maps.data() + static_cast<size_t>(t.prf_cell[e]) * kFeatureMaps;
                for (int m = 0; m < kFeatureMaps; ++m) acc[m] += w * cell[m];
            }
            for (int m = 0; m < kFeatureMaps; ++m) r += t.feature_weight[v][static_cast<size_t>(m)] * acc[m];
        }
        if (t.colour_weight[v] != 0) r += t.colour_weight[v] * f.saturation * std::cos(f.hue - t.hue_pref[v]);
        if (t.category_weight[v] != 0) r += t.category_weight[v] * t.category_affinity[v][static_cast<size_t>(f.category)];
        if (t.position_weight[v] != 0) {
            const double dx = f.x - t.pos_x[v], dy = f.y - t.pos_y[v];
            r += t.position_weight[v] * std::exp(-(dx * dx + dy * dy) / (2 * kPositionWidth * kPositionWidth));
        }
        if (t.size_weight[v] != 0) r += t.size_weight[v] * (f.size - 0.525) / 0.13;
        for (size_t d = 0; d < f.shape.size(); ++d) r += t.shape_weight[v][d] * f.shape[d];
        out[v] = static_cast<float>(r);
    }
}

}  // namespace soul::phantom

namespace soul {

double phantom_carrying_weight(int stream, PhantomFeature feature) {
    using namespace phantom;
    // Exemplar shape (ventral, lateral) predicts the category, so it counts towards it.
    switch (feature) {
        case PhantomFeature::Category:
            return stream == nsd::kMidventral ? kMidventralCategory
                 : stream == nsd::kVentral    ? kVentralCategory + kShapeWeight
                 : stream == nsd::kMidlateral || stream == nsd::kLateral ? kLateralCategory + kShapeWeight
                 : 0.0;
        // The retinotopic maps show where the object is as well as what it looks like.
        case PhantomFeature::Position:
            return stream == nsd::kEarly      ? kEarlyLuminance + kEarlyContrast + kEarlyEdges
                 : stream == nsd::kMidventral ? 3 * kMidventralMaps
                 : stream == nsd::kMidlateral || stream == nsd::kLateral ? kLateralPosition
                 : stream == nsd::kMidparietal || stream == nsd::kParietal ? kParietalPosition
                 : 0.0;
        case PhantomFeature::Colour:
            return stream == nsd::kEarly      ? 2 * kEarlyOpponent
                 : stream == nsd::kMidventral ? 2 * kMidventralOpponent + kMidventralColour
                 : stream == nsd::kVentral    ? kVentralColour
                 : 0.0;
        case PhantomFeature::Edges:
            return stream == nsd::kEarly ? kEarlyLuminance + kEarlyEdges : stream == nsd::kMidventral ? 2 * kMidventralMaps : 0.0;
    }
    return 0.0;
}

}  // namespace soul
