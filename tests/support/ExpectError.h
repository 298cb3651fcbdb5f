// The engine's refusals, checked: `f` must throw soul::Error and its message must contain
// `fragment` (the file, the key or the setting it names). For use inside a Qt Test function.
#pragma once

#include "soul/error.h"

#include <QtTest>

#include <initializer_list>
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

// The same, with every one of `fragments` in the message (the file and what is wrong with it).
template <typename F>
void expectError(F&& f, std::initializer_list<std::string> fragments) {
    try {
        f();
        QFAIL(("no error; expected one mentioning " + *fragments.begin()).c_str());
    } catch (const soul::Error& e) {
        for (const auto& fragment : fragments) QVERIFY2(std::string(e.what()).find(fragment) != std::string::npos, e.what());
    }
}

}  // namespace soultest
