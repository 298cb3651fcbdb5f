// CSV tables, COCO caption JSON, IDX image files, atomic writes.
#include "soul/error.h"
#include "soul/printable.h"
#include "soul/formats.h"
#include "soul/limits.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace fs = std::filesystem;

namespace soul {

int CsvTable::column(const std::string& name) const {
    for (size_t i = 0; i < columns.size(); ++i)
        if (columns[i] == name) return static_cast<int>(i);
    return -1;
}

int CsvTable::require(const std::string& name, const std::string& path) const {
    const int c = column(name);
    if (c < 0) throw Error(path, "has no column '" + name + "'");
    return c;
}

double CsvTable::number(size_t row, int column, const std::string& path) const {
    const std::string where = "row " + std::to_string(row + 2) + ", column '" + printable(columns.at(static_cast<size_t>(column))) + "'";
    if (row >= rows.size() || static_cast<size_t>(column) >= rows[row].size()) throw Error(path, where + " is missing");
    const std::string& text = rows[row][static_cast<size_t>(column)];
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) throw Error(path, where + ": '" + printable(text) + "' is not a number");
    return value;
}

int64_t CsvTable::integer(size_t row, int column, const std::string& path) const {
    const std::string where = "row " + std::to_string(row + 2) + ", column '" + printable(columns.at(static_cast<size_t>(column))) + "'";
    if (row >= rows.size() || static_cast<size_t>(column) >= rows[row].size()) throw Error(path, where + " is missing");
    const std::string& text = rows[row][static_cast<size_t>(column)];
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) throw Error(path, where + ": '" + printable(text) + "' is not a whole number");
    return value;
}

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.push_back(field);
            field.clear();
        } else if (c != '\r') {
            field += c;
        }
    }
    fields.push_back(field);
    return fields;
}

std::string quote_csv(const std::string& field) {
    if (field.find_first_of(",\"\n") == std::string::npos) return field;
    std::string out = "\"";
    for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

CsvTable read_csv(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, fs::exists(path) ? "cannot be opened for reading" : "no such file");
    CsvTable table;
    std::string line;
    if (!std::getline(in, line)) throw Error(path, "is empty (expected a header row)");
    table.columns = split_csv_line(line);
    int number = 1;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line == "\r") continue;
        auto fields = split_csv_line(line);
        if (fields.size() != table.columns.size())
            throw Error(path, "line " + std::to_string(number) + " has " + std::to_string(fields.size()) +
                                  " fields, the header has " + std::to_string(table.columns.size()));
        table.rows.push_back(std::move(fields));
    }
    return table;
}

void write_csv(const std::string& path, const CsvTable& table) {
    std::ostringstream out;
    for (size_t c = 0; c < table.columns.size(); ++c) out << (c ? "," : "") << quote_csv(table.columns[c]);
    out << "\n";
    for (const auto& row : table.rows) {
        for (size_t c = 0; c < row.size(); ++c) out << (c ? "," : "") << quote_csv(row[c]);
        out << "\n";
    }
    write_file_atomically(path, out.str());
}

std::map<int64_t, std::vector<std::string>> read_coco_captions(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path, fs::exists(path) ? "cannot be opened for reading" : "no such file");
    nlohmann::json j;
    try {
        in >> j;
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, std::string("is not valid JSON: ") + e.what());
    }
    if (!j.contains("annotations") || !j["annotations"].is_array())
        throw Error(path, "has no 'annotations' array (not a COCO captions file?)");
    std::map<int64_t, std::vector<std::string>> captions;
    for (const auto& a : j["annotations"]) {
        if (!a.is_object() || !a.contains("image_id") || !a.contains("caption"))
            throw Error(path, "an annotation lacks 'image_id' or 'caption'");
        if (!a["image_id"].is_number_integer()) throw Error(path, "an annotation's 'image_id' is not a whole number: " + a["image_id"].dump());
        if (!a["caption"].is_string()) throw Error(path, "an annotation's 'caption' is not text: " + a["caption"].dump());
        captions[a["image_id"].get<int64_t>()].push_back(a["caption"].get<std::string>());
    }
    return captions;
}

namespace {

std::vector<uint8_t> read_gz_or_plain(const std::string& path) {
    if (!fs::exists(path)) throw Error(path, "no such file");
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw Error(path, "cannot be opened for reading");
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> chunk(1 << 20);
    int got = 0;
    while ((got = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) {
        try {
            check_memory_budget(path, bytes.size() + static_cast<uint64_t>(got), "the decompressed file");
        } catch (...) {
            gzclose(f);
            throw;
        }
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
    }
    int code = Z_OK;
    const std::string message = gzerror(f, &code);
    gzclose(f);
    if (got < 0) throw Error(path, "is damaged or truncated: " + message);
    return bytes;
}

uint32_t big_endian(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

}  // namespace

IdxImages read_idx_images(const std::string& path) {
    const auto bytes = read_gz_or_plain(path);
    if (bytes.size() < 16 || big_endian(bytes.data()) != 0x00000803) throw Error(path, "is not an IDX image file (magic 2051)");
    IdxImages out;
    out.count = big_endian(bytes.data() + 4);
    out.rows = big_endian(bytes.data() + 8);
    out.cols = big_endian(bytes.data() + 12);
    const uint64_t expected = checked_product(path, checked_product(path, static_cast<uint64_t>(out.count), static_cast<uint64_t>(out.rows), "pixel count"),
                                              static_cast<uint64_t>(out.cols), "pixel count");
    if (bytes.size() - 16 < expected) throw Error(path, "is truncated: " + std::to_string(bytes.size() - 16) + " of " + std::to_string(expected) + " pixel bytes");
    out.pixels.assign(bytes.begin() + 16, bytes.begin() + 16 + static_cast<std::ptrdiff_t>(expected));
    return out;
}

std::vector<uint8_t> read_idx_labels(const std::string& path) {
    const auto bytes = read_gz_or_plain(path);
    if (bytes.size() < 8 || big_endian(bytes.data()) != 0x00000801) throw Error(path, "is not an IDX label file (magic 2049)");
    const size_t count = big_endian(bytes.data() + 4);
    if (bytes.size() < 8 + count) throw Error(path, "is truncated");
    return {bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(count)};
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
    const std::string temporary = path + ".partial";
    {
        std::ofstream out(temporary, std::ios::binary);
        if (!out) throw Error(path, "cannot be written (folder missing or not writable?)");
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) throw Error(path, "could not be written completely (disk full?)");
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) throw Error(path, "could not be written: " + ec.message());
}

std::string fixed_digits(double value, int digits) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << value;
    return s.str();
}

}  // namespace soul
