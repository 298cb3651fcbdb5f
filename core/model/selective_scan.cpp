// Mamba's selective scan: the sequential reference and the chunked parallel prefix scan
// (see selective_scan.h for the papers).
#include "selective_scan.h"

namespace soul::model {

torch::Tensor selective_scan_reference(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                                       const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D) {
    const int64_t batch = u.size(0), length = u.size(1), width = u.size(2), state = A.size(1);
    torch::Tensor h = torch::zeros({batch, width, state}, u.options());
    std::vector<torch::Tensor> ys;
    ys.reserve(static_cast<size_t>(length));
    // unbind, not select(1, t): one backward node for all steps instead of a full-size zero
    // gradient per step.
    const auto ds = delta.unbind(1), us = u.unbind(1), bs = Bm.unbind(1), cs = Cm.unbind(1);
    for (int64_t t = 0; t < length; ++t) {
        const torch::Tensor d = ds[static_cast<size_t>(t)].unsqueeze(-1);                 // B E 1
        const torch::Tensor decay = torch::exp(d * A);                                   // B E N
        const torch::Tensor input = d * us[static_cast<size_t>(t)].unsqueeze(-1) * bs[static_cast<size_t>(t)].unsqueeze(1);
        h = decay * h + input;
        ys.push_back((h * cs[static_cast<size_t>(t)].unsqueeze(1)).sum(-1));               // B E
    }
    return torch::stack(ys, 1) + u * D;
}

torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A, const torch::Tensor& Bm,
                             const torch::Tensor& Cm, const torch::Tensor& D, int64_t chunk) {
    const int64_t batch = u.size(0), length = u.size(1), width = u.size(2), state = A.size(1);
    const torch::Tensor d = delta.unsqueeze(-1);                                           // B L E 1
    const torch::Tensor decay = torch::exp(d * A);                                         // B L E N
    const torch::Tensor input = d * u.unsqueeze(-1) * Bm.unsqueeze(2);                    // B L E N
    torch::Tensor h = torch::zeros({batch, width, state}, u.options());
    std::vector<torch::Tensor> ys;
    // split, not narrow: one backward node instead of a full-size zero gradient per chunk.
    const auto decays = decay.split(chunk, 1), inputs = input.split(chunk, 1), cms = Cm.split(chunk, 1);
    for (size_t c = 0; c < decays.size(); ++c) {
        const int64_t n = decays[c].size(1);
        torch::Tensor a = decays[c], b = inputs[c];
        // Inclusive scan: after the step with offset k, position t holds the composition of the
        // operators t−2k+1 .. t.
        for (int64_t k = 1; k < n; k *= 2) {
            const torch::Tensor a_hi = a.narrow(1, k, n - k), a_lo = a.narrow(1, 0, n - k);
            const torch::Tensor b_hi = b.narrow(1, k, n - k), b_lo = b.narrow(1, 0, n - k);
            b = torch::cat({b.narrow(1, 0, k), a_hi * b_lo + b_hi}, 1);
            a = torch::cat({a.narrow(1, 0, k), a_hi * a_lo}, 1);
        }
        const torch::Tensor hs = a * h.unsqueeze(1) + b;                                  // B n E N
        ys.push_back((hs * cms[c].unsqueeze(2)).sum(-1));                                 // B n E
        h = hs.select(1, n - 1);
    }
    return torch::cat(ys, 1) + u * D;
}

}  // namespace soul::model
