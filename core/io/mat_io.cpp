// MATLAB v5 files through matio.
#include "soul/error.h"
#include "soul/formats.h"

#include <matio.h>

#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace soul {
namespace {

// MAT v5 header text: fixed, so that a file's bytes depend on its content only.
constexpr const char* kMatHeader = "MATLAB 5.0 MAT-file, written by SoulDiffuser Studio";

template <typename T>
void widen(const void* data, size_t n, std::vector<double>& out) {
    const T* p = static_cast<const T*>(data);
    out.resize(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(p[i]);
}

}  // namespace

void write_mat(const std::string& path, const std::vector<MatMatrix>& matrices) {
    const std::string temporary = path + ".partial";
    mat_t* mat = Mat_CreateVer(temporary.c_str(), kMatHeader, MAT_FT_MAT5);
    if (!mat) throw Error(path, "cannot be created (folder missing or not writable?)");
    for (const MatMatrix& m : matrices) {
        size_t dims[2] = {static_cast<size_t>(m.rows), static_cast<size_t>(m.cols)};
        matvar_t* var = Mat_VarCreate(m.name.c_str(), MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims,
                                      const_cast<double*>(m.values.data()), MAT_F_DONT_COPY_DATA);
        if (!var || Mat_VarWrite(mat, var, MAT_COMPRESSION_NONE) != 0) {
            if (var) Mat_VarFree(var);
            Mat_Close(mat);
            throw Error(path, "could not write variable " + m.name);
        }
        Mat_VarFree(var);
    }
    Mat_Close(mat);
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) throw Error(path, "could not be written: " + ec.message());
}

std::vector<std::string> mat_variables(const std::string& path) {
    if (!fs::exists(path)) throw Error(path, "no such file");
    mat_t* mat = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
    if (!mat) throw Error(path, "is not a MATLAB file matio can read");
    std::vector<std::string> names;
    while (matvar_t* var = Mat_VarReadNextInfo(mat)) {
        if (var->name) names.emplace_back(var->name);
        Mat_VarFree(var);
    }
    Mat_Close(mat);
    return names;
}

MatMatrix read_mat(const std::string& path, const std::string& name) {
    if (!fs::exists(path)) throw Error(path, "no such file");
    mat_t* mat = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
    if (!mat) throw Error(path, "is not a MATLAB file matio can read");
    matvar_t* var = Mat_VarRead(mat, name.c_str());
    if (!var) {
        Mat_Close(mat);
        throw Error(path, "has no variable '" + name + "'");
    }
    MatMatrix out;
    out.name = name;
    if (var->rank != 2 || var->isComplex || !var->data) {
        Mat_VarFree(var);
        Mat_Close(mat);
        throw Error(path, "variable '" + name + "' is not a real 2-D numeric matrix");
    }
    out.rows = static_cast<int64_t>(var->dims[0]);
    out.cols = static_cast<int64_t>(var->dims[1]);
    const size_t n = static_cast<size_t>(out.rows * out.cols);
    switch (var->class_type) {
        case MAT_C_DOUBLE: widen<double>(var->data, n, out.values); break;
        case MAT_C_SINGLE: widen<float>(var->data, n, out.values); break;
        case MAT_C_INT8: widen<int8_t>(var->data, n, out.values); break;
        case MAT_C_UINT8: widen<uint8_t>(var->data, n, out.values); break;
        case MAT_C_INT16: widen<int16_t>(var->data, n, out.values); break;
        case MAT_C_UINT16: widen<uint16_t>(var->data, n, out.values); break;
        case MAT_C_INT32: widen<int32_t>(var->data, n, out.values); break;
        case MAT_C_UINT32: widen<uint32_t>(var->data, n, out.values); break;
        case MAT_C_INT64: widen<int64_t>(var->data, n, out.values); break;
        case MAT_C_UINT64: widen<uint64_t>(var->data, n, out.values); break;
        default:
            Mat_VarFree(var);
            Mat_Close(mat);
            throw Error(path, "variable '" + name + "' is not numeric");
    }
    Mat_VarFree(var);
    Mat_Close(mat);
    return out;
}

}  // namespace soul
