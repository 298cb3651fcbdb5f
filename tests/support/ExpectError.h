// The engine's refusals, checked: `f` must throw soul::Error and its message must contain
// `fragment` (the file, the key or the setting it names). For use inside a Qt Test function.
#pragma once

#include "soul/error.h"

#include <QtTest>

#include <string>

namespace soultest {

template <typename F>
void expectError(F&& f, const std::string& fragment) {
    try {
        f();
        QFAIL(("no error; expected one mentioning " + fragment).c_str());
    } catch (const soul::Error& e) {
        QVERIFY2(std::string(e.what()).find(fragment) != std::string::npos, e.what());
    }
}

}  // namespace soultest
