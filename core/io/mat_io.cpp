// MATLAB v5 files through matio.
#include "mat_structure.h"
#include "soul/error.h"
#include "soul/printable.h"
#include "soul/formats.h"
#include "soul/limits.h"

#include <matio.h>

#include <cstring>
#include <filesystem>
#include <memory>

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

// Bytes per value of a numeric class; 0 for the others.
int class_bytes(matio_classes c) {
    switch (c) {
        case MAT_C_DOUBLE: case MAT_C_INT64: case MAT_C_UINT64: return 8;
        case MAT_C_SINGLE: case MAT_C_INT32: case MAT_C_UINT32: return 4;
        case MAT_C_INT16: case MAT_C_UINT16: return 2;
        case MAT_C_INT8: case MAT_C_UINT8: return 1;
        default: return 0;
    }
}

// matio's handles, closed on every path out (an error thrown half-way included).
struct MatClose {
    void operator()(mat_t* m) const { Mat_Close(m); }
};
struct MatVarFree {
    void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatClose>;
using MatVariable = std::unique_ptr<matvar_t, MatVarFree>;

MatFile open_mat(const std::string& path) {
    if (!fs::exists(path)) throw Error(path, "no such file");
    if (fs::is_directory(path)) throw Error(path, "is a folder, not a MATLAB file");
    check_mat_structure(path);
    MatFile mat{Mat_Open(path.c_str(), MAT_ACC_RDONLY)};
    if (!mat) throw Error(path, "is not a MATLAB file matio can read");
    return mat;
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
    const MatFile mat = open_mat(path);
    std::vector<std::string> names;
    while (const MatVariable var{Mat_VarReadNextInfo(mat.get())}) {
        if (var->name) names.emplace_back(var->name);
    }
    return names;
}

MatMatrix read_mat(const std::string& path, const std::string& name) {
    const MatFile mat = open_mat(path);
    const std::string variable = "variable '" + printable(name) + "'";
    // The header first: matio allocates what the dimensions say, so they are checked against the
    // file's size and the memory budget before the values are read.
    uint64_t count = 0;
    {
        const MatVariable info{Mat_VarReadInfo(mat.get(), name.c_str())};
        if (!info) throw Error(path, "has no " + variable);
        if (info->rank != 2 || info->isComplex || class_bytes(info->class_type) == 0)
            throw Error(path, variable + " is not a real 2-D numeric matrix");
        count = checked_product(path, static_cast<uint64_t>(info->dims[0]), static_cast<uint64_t>(info->dims[1]), variable);
        const uint64_t file_bytes = fs::file_size(path);
        if (info->compression == MAT_COMPRESSION_NONE && count > file_bytes)
            throw Error(path, variable + " claims " + std::to_string(info->dims[0]) + "x" + std::to_string(info->dims[1]) +
                                  " values, more than the file's " + std::to_string(file_bytes) + " bytes hold (truncated or damaged?)");
        check_memory_budget(path, checked_product(path, count, sizeof(double), variable), variable);
    }
    const MatVariable var{Mat_VarRead(mat.get(), name.c_str())};
    if (!var) throw Error(path, variable + " cannot be read (truncated or damaged file?)");
    if (var->rank != 2 || var->isComplex || !var->data || class_bytes(var->class_type) == 0 ||
        static_cast<uint64_t>(var->dims[0]) * static_cast<uint64_t>(var->dims[1]) != count)
        throw Error(path, variable + " is not a real 2-D numeric matrix");
    const size_t n = static_cast<size_t>(count);
    if (var->data_size != class_bytes(var->class_type) || var->nbytes / static_cast<size_t>(var->data_size) < n)
        throw Error(path, variable + " holds fewer values than its dimensions say (damaged file?)");
    MatMatrix out;
    out.name = name;
    out.rows = static_cast<int64_t>(var->dims[0]);
    out.cols = static_cast<int64_t>(var->dims[1]);
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
        default: throw Error(path, variable + " is not numeric");
    }
    return out;
}

}  // namespace soul
