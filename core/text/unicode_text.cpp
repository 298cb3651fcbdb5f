// ICU (International Components for Unicode, Debian's libicu) rather than tables of our own:
// normalisation and case mapping need Unicode's full data, which ICU keeps current.
#include "unicode_text.h"

#include "soul/error.h"

#include <unicode/normalizer2.h>
#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

namespace soul::text {
namespace {

icu::UnicodeString to_icu(const std::u32string& text) {
    return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()), static_cast<int32_t>(text.size()));
}

std::u32string from_icu(const icu::UnicodeString& text) {
    std::u32string out;
    for (int32_t i = 0; i < text.length(); i = text.moveIndex32(i, 1)) out.push_back(static_cast<char32_t>(text.char32At(i)));
    return out;
}

std::u32string normalize(const icu::Normalizer2* (*instance)(UErrorCode&), const std::u32string& text) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* normalizer = instance(status);
    icu::UnicodeString out;
    if (U_SUCCESS(status)) out = normalizer->normalize(to_icu(text), status);
    if (U_FAILURE(status)) throw Error(std::string("Unicode normalisation failed: ") + u_errorName(status));
    return from_icu(out);
}

bool in_categories(char32_t c, uint32_t mask) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & mask) != 0; }

}  // namespace

std::u32string from_utf8(const std::string& utf8, const std::string& what) {
    std::u32string out;
    out.reserve(utf8.size());
    const auto* bytes = reinterpret_cast<const uint8_t*>(utf8.data());
    const int32_t size = static_cast<int32_t>(utf8.size());
    for (int32_t i = 0; i < size;) {
        const int32_t start = i;
        UChar32 c = 0;
        U8_NEXT(bytes, i, size, c);
        if (c < 0) throw Error(what + ": not valid UTF-8 at byte " + std::to_string(start));
        out.push_back(static_cast<char32_t>(c));
    }
    return out;
}

void append_utf8(char32_t c, std::string& out) {
    uint8_t bytes[U8_MAX_LENGTH];
    int32_t n = 0;
    UBool error = false;
    U8_APPEND(bytes, n, U8_MAX_LENGTH, static_cast<UChar32>(c), error);
    out.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
}

std::string to_utf8(const std::u32string& text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text) append_utf8(c, out);
    return out;
}

std::u32string nfc(const std::u32string& text) { return normalize(&icu::Normalizer2::getNFCInstance, text); }
std::u32string nfd(const std::u32string& text) { return normalize(&icu::Normalizer2::getNFDInstance, text); }

std::u32string lower_each(const std::u32string& text) {
    std::u32string out;
    out.reserve(text.size());
    for (char32_t c : text) {
        if (c < 0x80) {
            out.push_back(c >= U'A' && c <= U'Z' ? c + 32 : c);
            continue;
        }
        icu::UnicodeString one(static_cast<UChar32>(c));
        out += from_icu(one.toLower(icu::Locale::getRoot()));
    }
    return out;
}

bool is_letter(char32_t c) { return in_categories(c, U_GC_L_MASK); }
bool is_number(char32_t c) { return in_categories(c, U_GC_N_MASK); }
bool is_white_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }
bool is_other(char32_t c) { return in_categories(c, U_GC_C_MASK); }
bool is_nonspacing_mark(char32_t c) { return in_categories(c, U_GC_MN_MASK); }

bool is_punctuation(char32_t c) {
    const bool ascii = (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    return ascii || in_categories(c, U_GC_P_MASK);
}

bool is_cjk_ideograph(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::vector<int64_t> fit_to_length(std::vector<int64_t> ids, int64_t length, int64_t end, int64_t pad, const std::string& model) {
    if (length < 2) throw Error("a " + model + " token sequence needs room for its start and end tokens (length " + std::to_string(length) + ")");
    if (static_cast<int64_t>(ids.size()) > length) {
        ids.resize(static_cast<size_t>(length));
        ids.back() = end;
    }
    ids.resize(static_cast<size_t>(length), pad);
    return ids;
}

}  // namespace soul::text
