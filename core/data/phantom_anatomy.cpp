// Phantom anatomy: Colin27 (Holmes et al. 1998) and the AAL atlas (Tzourio-Mazoyer et al. 2002)
// from Debian's mricron-data, resampled to NSD's 1.8 mm, cropped around visual cortex, with NSD's
// stream codes and V1v…hV4 assigned from AAL regions (design.md 4.2).
#include "phantom_model.h"

#include "soul/error.h"
#include "soul/limits.h"
#include "soul/nsd_layout.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>

namespace soul::phantom {
namespace {

// AAL codes (aal.nii.txt) → NSD stream. design.md 4.2 names early, midventral, ventral, lateral
// and parietal; NSD has seven streams, so middle occipital is midlateral and superior occipital
// (where V3A/B lie) midparietal. Each region counts only behind a coronal plane (its visual
// part; AAL's temporal and parietal regions reach far forward).
struct AalRule {
    int left, right;
    int stream;
    double posterior_of_mm;
};
const AalRule kAalToStream[] = {
    {43, 44, nsd::kEarly, -66},        // Calcarine
    {45, 46, nsd::kEarly, -66},        // Cuneus
    {47, 48, nsd::kEarly, -66},        // Lingual
    {53, 54, nsd::kMidventral, -66},   // Occipital_Inf
    {51, 52, nsd::kMidlateral, -66},   // Occipital_Mid
    {49, 50, nsd::kMidparietal, -66},  // Occipital_Sup
    {55, 56, nsd::kVentral, -50},      // Fusiform
    {89, 90, nsd::kVentral, -50},      // Temporal_Inf
    {85, 86, nsd::kLateral, -58},      // Temporal_Mid
    {65, 66, nsd::kLateral, -58},      // Angular
    {59, 60, nsd::kParietal, -58},     // Parietal_Sup
    {61, 62, nsd::kParietal, -58},     // Parietal_Inf
    {67, 68, nsd::kParietal, -58},     // Precuneus
};
constexpr int kCropMarginVoxels = 2;
constexpr int kCalcarineLeft = 43, kCalcarineRight = 44, kCuneusLeft = 45, kCuneusRight = 46, kOccInfLeft = 53, kOccInfRight = 54;
// V2 is the band of cuneus/lingual within this distance of calcarine; V3 lies beyond it.
constexpr double kV2BandMm = 5.0;
// The template's voxel sides the phantom accepts: Colin27 is 1 mm; anything outside this range is
// not a brain template (and a 1e6 mm voxel would ask for a fine grid of billions of voxels).
constexpr double kMinTemplateMm = 0.1, kMaxTemplateMm = 10.0;

// The phantom resamples along the template's axes, so its affine must be axis-aligned with
// positive voxel sides in RAS (Colin27's is); anything else would be resampled wrongly, silently.
void check_template_affine(const Volume& t1, const std::string& path) {
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c)
            if (!std::isfinite(t1.ijk_to_ras(r, c))) throw Error(path, "has a non-finite affine");
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c)
            if (r != c && t1.ijk_to_ras(r, c) != 0)
                throw Error(path, "is oblique or reoriented; the phantom needs an axis-aligned RAS template like Colin27's ch2bet.nii.gz");
    for (int a = 0; a < 3; ++a) {
        const double side = t1.ijk_to_ras(a, a);
        if (!(side >= kMinTemplateMm && side <= kMaxTemplateMm))
            throw Error(path, "has a voxel side of " + std::to_string(side) + " mm along axis " + std::to_string(a) +
                                  "; the phantom needs an RAS template with sides of 0.1 to 10 mm, like Colin27's ch2bet.nii.gz");
    }
}

float trilinear(const Volume& v, double i, double j, double k) {
    const int64_t i0 = static_cast<int64_t>(std::floor(i)), j0 = static_cast<int64_t>(std::floor(j)),
                  k0 = static_cast<int64_t>(std::floor(k));
    const double fi = i - i0, fj = j - j0, fk = k - k0;
    double sum = 0;
    for (int c = 0; c < 8; ++c) {
        const int64_t a = i0 + (c & 1), b = j0 + ((c >> 1) & 1), d = k0 + ((c >> 2) & 1);
        const double w = ((c & 1) ? fi : 1 - fi) * (((c >> 1) & 1) ? fj : 1 - fj) * (((c >> 2) & 1) ? fk : 1 - fk);
        if (v.contains(a, b, d)) sum += w * v.at(a, b, d);
    }
    return static_cast<float>(sum);
}

}  // namespace

Anatomy build_anatomy(const std::string& mricron_dir) {
    namespace fs = std::filesystem;
    const std::string t1_path = (fs::path(mricron_dir) / "ch2bet.nii.gz").string();
    const std::string aal_path = (fs::path(mricron_dir) / "aal.nii.gz").string();
    for (const auto& p : {t1_path, aal_path})
        if (!fs::exists(p))
            throw Error(p, "is missing: the phantom's anatomy comes from Debian's mricron-data (apt-get install "
                           "mricron-data, or tools/setup.sh)");
    const Volume t1 = read_nifti_frame(t1_path, 0);
    const Volume aal = read_nifti_frame(aal_path, 0);
    if (!same_grid(t1, aal)) throw Error(aal_path, "is not on the grid of " + t1_path);
    check_template_affine(t1, t1_path);

    // The 1.8 mm grid over the same box, axis-aligned RAS.
    const std::array<double, 3> origin = {t1.ijk_to_ras(0, 3), t1.ijk_to_ras(1, 3), t1.ijk_to_ras(2, 3)};
    Volume fine;
    for (int a = 0; a < 3; ++a) {
        const double extent = std::abs(t1.ijk_to_ras(a, a)) * (t1.dims[a] - 1);
        fine.dims[a] = static_cast<int64_t>(std::floor(extent / kVoxelMm)) + 1;
        fine.spacing[a] = kVoxelMm;
        fine.ijk_to_ras(a, a) = kVoxelMm;
        fine.ijk_to_ras(a, 3) = origin[a];
    }
    // Three float volumes on the fine grid (labels, streams and the resampling's).
    uint64_t fine_voxels = 1;
    for (int a = 0; a < 3; ++a) fine_voxels = checked_product(t1_path, fine_voxels, static_cast<uint64_t>(fine.dims[a]), "the 1.8 mm grid");
    check_memory_budget(t1_path, checked_product(t1_path, fine_voxels, 3 * sizeof(float), "the 1.8 mm grid"), "resampling to 1.8 mm");
    const Affine to_source = t1.ijk_to_ras.inverse() * fine.ijk_to_ras;
    Volume labels_fine = resample_nearest(aal, fine);

    // Streams on the fine grid, then the crop box around them.
    std::array<int64_t, 6> box{INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN};
    Volume streams_fine = Volume::zeros_like(fine);
    for (int64_t k = 0; k < fine.dims[2]; ++k)
        for (int64_t j = 0; j < fine.dims[1]; ++j)
            for (int64_t i = 0; i < fine.dims[0]; ++i) {
                const int code = static_cast<int>(std::lround(labels_fine.at(i, j, k)));
                const double y = fine.ijk_to_ras.apply(static_cast<double>(i), static_cast<double>(j), static_cast<double>(k))[1];
                // AAL's grey matter is a thick volumetric label (a template, not one brain's
                // ribbon): keep its core, voxels with grey matter two voxels away along every
                // axis, so the visual mask has about NSD's size (~20 000, not ~70 000 voxels).
                bool core = true;
                for (int a = 0; a < 3 && core; ++a)
                    for (int d : {-2, -1, 1, 2}) {
                        std::array<int64_t, 3> q{i, j, k};
                        q[static_cast<size_t>(a)] += d;
                        if (!labels_fine.contains(q[0], q[1], q[2]) || labels_fine.at(q[0], q[1], q[2]) <= 0) core = false;
                    }
                if (!core) continue;
                for (const AalRule& r : kAalToStream)
                    if ((code == r.left || code == r.right) && y < r.posterior_of_mm) {
                        streams_fine.voxels[streams_fine.index(i, j, k)] = static_cast<float>(r.stream);
                        box = {std::min(box[0], i), std::max(box[1], i), std::min(box[2], j), std::max(box[3], j),
                               std::min(box[4], k), std::max(box[5], k)};
                    }
            }
    if (box[0] > box[1])
        throw Error(aal_path, "has none of the occipital, temporal and parietal AAL regions the phantom's streams are made from (is it "
                              "mricron's AAL atlas?)");
    for (int a = 0; a < 3; ++a) {
        box[2 * a] = std::max<int64_t>(0, box[2 * a] - kCropMarginVoxels);
        box[2 * a + 1] = std::min(fine.dims[a] - 1, box[2 * a + 1] + kCropMarginVoxels);
    }

    Anatomy an;
    Volume grid;
    for (int a = 0; a < 3; ++a) {
        grid.dims[a] = box[2 * a + 1] - box[2 * a] + 1;
        grid.spacing[a] = kVoxelMm;
        grid.ijk_to_ras(a, a) = kVoxelMm;
        grid.ijk_to_ras(a, 3) = origin[a] + box[2 * a] * kVoxelMm;
    }
    an.t1 = Volume::zeros_like(grid);
    an.aal = Volume::zeros_like(grid);
    an.streams = Volume::zeros_like(grid);
    an.visualrois = Volume::zeros_like(grid, -1.0f);
    an.nsdgeneral = Volume::zeros_like(grid, -1.0f);
    for (int64_t k = 0; k < grid.dims[2]; ++k)
        for (int64_t j = 0; j < grid.dims[1]; ++j)
            for (int64_t i = 0; i < grid.dims[0]; ++i) {
                const int64_t fi = i + box[0], fj = j + box[2], fk = k + box[4];
                const auto s = to_source.apply(static_cast<double>(fi), static_cast<double>(fj), static_cast<double>(fk));
                const size_t n = an.t1.index(i, j, k);
                an.t1.voxels[n] = trilinear(t1, s[0], s[1], s[2]);
                an.aal.voxels[n] = labels_fine.at(fi, fj, fk);
                an.streams.voxels[n] = streams_fine.at(fi, fj, fk);
                const bool brain = an.t1.voxels[n] > 0.5f || an.aal.voxels[n] > 0;
                if (brain) {
                    an.brain.push_back(static_cast<int64_t>(n));
                    an.nsdgeneral.voxels[n] = an.streams.voxels[n] > 0 ? 1.0f : 0.0f;
                    if (an.aal.voxels[n] > 0) an.visualrois.voxels[n] = 0.0f;  // cortex, unlabelled
                }
                if (an.streams.voxels[n] > 0) an.visual.push_back(static_cast<int64_t>(n));
            }

    // V1–V3 along the early stream and hV4 in midventral. V1 is calcarine, split into dorsal and
    // ventral banks by the calcarine's own median height per hemisphere and y; V2 is the band of
    // cuneus (dorsal) / lingual (ventral) next to calcarine, V3 the rest; hV4 is the posterior
    // half of inferior occipital cortex.
    std::map<std::pair<int, int64_t>, std::vector<double>> calcarine_z;  // (hemisphere, j) → z values
    for (int64_t n : an.visual) {
        const int code = static_cast<int>(std::lround(an.aal.voxels[static_cast<size_t>(n)]));
        if (code != kCalcarineLeft && code != kCalcarineRight) continue;
        const auto ijk = grid.ijk(n);
        calcarine_z[{code, ijk[1]}].push_back(static_cast<double>(ijk[2]));
    }
    auto median_z = [&](int code, int64_t j) {
        for (int64_t d = 0; d < grid.dims[1]; ++d)
            for (int64_t jj : {j - d, j + d}) {
                auto it = calcarine_z.find({code, jj});
                if (it == calcarine_z.end()) continue;
                auto z = it->second;
                std::nth_element(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(z.size() / 2), z.end());
                return z[z.size() / 2];
            }
        return grid.dims[2] / 2.0;
    };
    std::vector<std::array<double, 3>> calcarine_points;
    for (int64_t n : an.visual) {
        const int code = static_cast<int>(std::lround(an.aal.voxels[static_cast<size_t>(n)]));
        if (code == kCalcarineLeft || code == kCalcarineRight) {
            const auto [i, j, k] = grid.ijk(n);
            calcarine_points.push_back({static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
        }
    }
    double occinf_y_mid = 0;
    {
        std::vector<double> ys;
        for (int64_t n : an.visual) {
            const int code = static_cast<int>(std::lround(an.aal.voxels[static_cast<size_t>(n)]));
            if (code == kOccInfLeft || code == kOccInfRight) ys.push_back(static_cast<double>((n / grid.dims[0]) % grid.dims[1]));
        }
        if (!ys.empty()) {
            std::nth_element(ys.begin(), ys.begin() + static_cast<std::ptrdiff_t>(ys.size() / 2), ys.end());
            occinf_y_mid = ys[ys.size() / 2];
        }
    }
    const double band = kV2BandMm / kVoxelMm;
    for (int64_t n : an.visual) {
        const size_t u = static_cast<size_t>(n);
        const int code = static_cast<int>(std::lround(an.aal.voxels[u]));
        const auto [i, j, k] = grid.ijk(n);
        if (code == kCalcarineLeft || code == kCalcarineRight) {
            an.visualrois.voxels[u] = k >= median_z(code, j) ? nsd::kV1d : nsd::kV1v;
        } else if (an.streams.voxels[u] == nsd::kEarly) {
            double nearest = 1e30;
            for (const auto& p : calcarine_points)
                nearest = std::min(nearest, (p[0] - i) * (p[0] - i) + (p[1] - j) * (p[1] - j) + (p[2] - k) * (p[2] - k));
            const bool dorsal = code == kCuneusLeft || code == kCuneusRight;
            const bool v2 = std::sqrt(nearest) <= band;
            an.visualrois.voxels[u] = static_cast<float>(v2 ? (dorsal ? nsd::kV2d : nsd::kV2v) : (dorsal ? nsd::kV3d : nsd::kV3v));
        } else if ((code == kOccInfLeft || code == kOccInfRight) && j <= occinf_y_mid) {
            an.visualrois.voxels[u] = nsd::kHV4;
        }
    }
    std::array<int64_t, nsd::kParietal + 1> per_stream{};
    for (int64_t n : an.visual) ++per_stream[static_cast<size_t>(an.streams.voxels[static_cast<size_t>(n)])];
    for (int code = nsd::kEarly; code <= nsd::kParietal; ++code)
        if (per_stream[static_cast<size_t>(code)] == 0)
            throw Error(aal_path, std::string("gives no voxel to the ") + nsd::kStreamNames[code] +
                                      " stream (its AAL regions are missing); is it mricron's AAL atlas?");
    return an;
}

}  // namespace soul::phantom
