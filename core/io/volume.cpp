// Volume geometry helpers: affine algebra, grid comparison, value range, orientation letters.
#include "soul/volume.h"

#include <cmath>
#include <limits>

namespace soul {

std::array<double, 3> Affine::apply(double i, double j, double k) const {
    return {m[0] * i + m[1] * j + m[2] * k + m[3], m[4] * i + m[5] * j + m[6] * k + m[7],
            m[8] * i + m[9] * j + m[10] * k + m[11]};
}

Affine Affine::operator*(const Affine& other) const {
    Affine r;
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
            double sum = 0;
            for (int k = 0; k < 4; ++k) sum += (*this)(i, k) * other(k, j);
            r(i, j) = sum;
        }
    return r;
}

Affine Affine::inverse() const {
    // Inverse of [A t; 0 1] = [A⁻¹ −A⁻¹t; 0 1], A⁻¹ by the adjugate.
    const double a = m[0], b = m[1], c = m[2], d = m[4], e = m[5], f = m[6], g = m[8], h = m[9], k = m[10];
    const double det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
    Affine r;
    if (std::abs(det) < 1e-12) return r;
    const double inv[9] = {(e * k - f * h) / det, (c * h - b * k) / det, (b * f - c * e) / det,
                           (f * g - d * k) / det, (a * k - c * g) / det, (c * d - a * f) / det,
                           (d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det};
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) r(i, j) = inv[i * 3 + j];
        r(i, 3) = -(inv[i * 3] * m[3] + inv[i * 3 + 1] * m[7] + inv[i * 3 + 2] * m[11]);
    }
    return r;
}

bool Affine::nearly_equal(const Affine& other, double tolerance) const {
    for (int i = 0; i < 16; ++i)
        if (std::abs(m[i] - other.m[i]) > tolerance) return false;
    return true;
}

Volume Volume::zeros_like(const Volume& like, float value) {
    Volume v;
    v.dims = like.dims;
    v.frames = 1;
    v.spacing = like.spacing;
    v.ijk_to_ras = like.ijk_to_ras;
    v.voxels.assign(static_cast<size_t>(like.frame_size()), value);
    return v;
}

bool same_grid(const Volume& a, const Volume& b, double tolerance) {
    return a.dims == b.dims && a.ijk_to_ras.nearly_equal(b.ijk_to_ras, tolerance);
}

std::array<float, 2> value_range(const Volume& volume) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (float v : volume.voxels) {
        if (!std::isfinite(v)) continue;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (lo > hi) return {0.0f, 0.0f};
    return {lo, hi};
}

std::string axis_direction(const Affine& ijk_to_ras, int axis) {
    static const char* positive[3] = {"R", "A", "S"};
    static const char* negative[3] = {"L", "P", "I"};
    int best = 0;
    for (int r = 1; r < 3; ++r)
        if (std::abs(ijk_to_ras(r, axis)) > std::abs(ijk_to_ras(best, axis))) best = r;
    return ijk_to_ras(best, axis) >= 0 ? positive[best] : negative[best];
}

std::string orientation_code(const Affine& ijk_to_ras) {
    return axis_direction(ijk_to_ras, 0) + axis_direction(ijk_to_ras, 1) + axis_direction(ijk_to_ras, 2);
}

}  // namespace soul
