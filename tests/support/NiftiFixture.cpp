#include "NiftiFixture.h"

#include <nifti1.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace fs = std::filesystem;

namespace soultest {
namespace {

template <typename T>
void append(std::vector<char>& bytes, const std::vector<float>& values) {
    const size_t start = bytes.size();
    bytes.resize(start + values.size() * sizeof(T));
    for (size_t n = 0; n < values.size(); ++n) {
        const T v = static_cast<T>(values[n]);
        std::memcpy(bytes.data() + start + n * sizeof(T), &v, sizeof(T));
    }
}

void writeBytes(const std::string& path, const std::vector<char>& bytes) {
    if (path.size() > 3 && path.substr(path.size() - 3) == ".gz") {
        gzFile f = gzopen(path.c_str(), "wb");
        if (!f) throw std::runtime_error("cannot write " + path);
        gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
        gzclose(f);
    } else {
        std::ofstream out(path, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
}

}  // namespace

void writeNifti(const std::string& path, const NiftiSpec& s, const std::vector<float>& values) {
    std::vector<char> bytes;
    if (s.sizeof_hdr == 540) {
        // Just enough of a NIfTI-2 header to be recognised as one.
        bytes.assign(544, 0);
        const int32_t size = 540;
        std::memcpy(bytes.data(), &size, 4);
        std::memcpy(bytes.data() + 4, "n+2\0\r\n\032\n", 8);
        writeBytes(path, bytes);
        return;
    }
    nifti_1_header h;
    std::memset(&h, 0, sizeof h);
    h.sizeof_hdr = 348;
    const int ndim = s.dims[3] > 1 ? 4 : 3;
    h.dim[0] = static_cast<short>(ndim);
    for (int d = 0; d < 4; ++d) h.dim[d + 1] = static_cast<short>(s.dims[d]);
    for (int d = 5; d < 8; ++d) h.dim[d] = 1;
    h.datatype = static_cast<short>(s.datatype);
    h.bitpix = static_cast<short>(s.datatype == 16 ? 32 : s.datatype == 4 ? 16 : 8);
    h.pixdim[0] = s.qfac;
    for (int d = 0; d < 3; ++d) h.pixdim[d + 1] = s.pixdim[d];
    h.pixdim[4] = 1;
    h.vox_offset = 352;
    h.scl_slope = s.scl_slope;
    h.scl_inter = s.scl_inter;
    h.qform_code = static_cast<short>(s.qform_code);
    h.sform_code = static_cast<short>(s.sform_code);
    h.quatern_b = s.quatern_b;
    h.quatern_c = s.quatern_c;
    h.quatern_d = s.quatern_d;
    h.qoffset_x = s.qoffset_x;
    h.qoffset_y = s.qoffset_y;
    h.qoffset_z = s.qoffset_z;
    for (int c = 0; c < 4; ++c) {
        h.srow_x[c] = s.srow[0][c];
        h.srow_y[c] = s.srow[1][c];
        h.srow_z[c] = s.srow[2][c];
    }
    std::memcpy(h.magic, "n+1\0", 4);
    bytes.resize(352, 0);
    std::memcpy(bytes.data(), &h, sizeof h);
    if (s.datatype == 16) append<float>(bytes, values);
    else if (s.datatype == 4) append<int16_t>(bytes, values);
    else append<uint8_t>(bytes, values);
    writeBytes(path, bytes);
}

std::vector<float> ramp(const NiftiSpec& s) {
    std::vector<float> v(static_cast<size_t>(s.dims[0]) * s.dims[1] * s.dims[2] * s.dims[3]);
    for (size_t n = 0; n < v.size(); ++n) v[n] = static_cast<float>(n);
    return v;
}

void truncateCopy(const std::string& source, const std::string& target, double fraction) {
    std::ifstream in(source, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes.resize(static_cast<size_t>(bytes.size() * fraction));
    std::ofstream out(target, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

SyntheticBrain writeSyntheticBrain(const std::string& folder) {
    NiftiSpec s;
    s.dims = {40, 48, 40, 1};
    s.pixdim = {1.8f, 1.8f, 1.8f};
    s.sform_code = 1;
    s.srow = {{{1.8f, 0, 0, -36}, {0, 1.8f, 0, -43}, {0, 0, 1.8f, -36}}};
    std::vector<float> brain(static_cast<size_t>(40 * 48 * 40)), labels(brain.size());
    for (int k = 0; k < 40; ++k)
        for (int j = 0; j < 48; ++j)
            for (int i = 0; i < 40; ++i) {
                const double x = (i - 19.5) / 17, y = (j - 23.5) / 21, z = (k - 19.5) / 17;
                const double r = x * x + y * y + z * z;
                const size_t n = (static_cast<size_t>(k) * 48 + j) * 40 + i;
                brain[n] = r < 1 ? static_cast<float>(100 - 30 * r) : 0.0f;
                if (r < 0.9 && y < -0.45) {
                    // the back of the brain: early visual in the middle, ventral below, parietal above
                    labels[n] = z < -0.25 ? 5.0f : z > 0.25 ? 7.0f : 1.0f;
                }
            }
    SyntheticBrain out{folder + "/brain.nii.gz", folder + "/streams.nii.gz"};
    writeNifti(out.volume, s, brain);
    s.datatype = 2;
    writeNifti(out.labels, s, labels);
    return out;
}

std::string tempFolder(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / ("soul-test-" + name + "-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p.string();
}

}  // namespace soultest
