// The full-size key lists of published networks written down in tests/data/*.keys ("key d0 d1 …"
// per line, '#' comments): what a module's keys and shapes must equal, so that the real file loads
// the first time.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace soultest {

inline std::map<std::string, std::vector<int64_t>> publishedKeys(const std::string& path) {
    std::ifstream file(path);
    std::map<std::string, std::vector<int64_t>> keys;
    for (std::string line; std::getline(file, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string key;
        fields >> key;
        for (int64_t d; fields >> d;) keys[key].push_back(d);
    }
    return keys;
}

}  // namespace soultest
