// Fuzz target: the MAT reader (core/io/mat_io.cpp, matio underneath), as prepare reads NSD's
// nsd_expdesign.mat: list the variables, then read each, and one that is not there.
#include "fuzz_targets.h"
#include "soul/formats.h"

namespace soul::fuzz {

void mat(const uint8_t* data, size_t size) {
    const std::string path = write_scratch("nsd_expdesign.mat", data, size);
    expect_clean([&] {
        for (const std::string& name : mat_variables(path)) {
            const MatMatrix m = read_mat(path, name);
            if (m.values.size() != static_cast<size_t>(m.rows * m.cols)) std::abort();
        }
    });
    expect_clean([&] { (void)read_mat(path, "masterordering"); });
}

}  // namespace soul::fuzz
