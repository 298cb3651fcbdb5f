// The Unicode operations the tokenizers need, on code points, through ICU: UTF-8 in and out,
// NFC and NFD, lower case one code point at a time (as Rust's char::to_lowercase, which Hugging
// Face's Lowercase and BertNormalizer use: no context, so a final capital sigma becomes σ), and
// the general categories and White_Space property the tokenizers' patterns test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace soul::text {

// soul::Error("<what>: not valid UTF-8 at byte N") for malformed input.
std::u32string from_utf8(const std::string& utf8, const std::string& what);
std::string to_utf8(const std::u32string& text);
void append_utf8(char32_t c, std::string& out);

std::u32string nfc(const std::u32string& text);
std::u32string nfd(const std::u32string& text);
std::u32string lower_each(const std::u32string& text);

bool is_letter(char32_t c);            // \p{L}
bool is_number(char32_t c);            // \p{N}
bool is_white_space(char32_t c);       // the White_Space property (Rust's char::is_whitespace)
bool is_other(char32_t c);             // Cc, Cf, Cs, Co, Cn
bool is_nonspacing_mark(char32_t c);   // Mn
bool is_punctuation(char32_t c);       // P* or ASCII punctuation (BERT's rule)
bool is_cjk_ideograph(char32_t c);     // the CJK Unified Ideographs blocks BERT splits per character

// `ids` (start … end) cut to `length` with `end` kept last, then padded with `pad`: how both
// tokenizers hand a sequence to a text encoder. soul::Error naming `model` when length < 2.
std::vector<int64_t> fit_to_length(std::vector<int64_t> ids, int64_t length, int64_t end, int64_t pad, const std::string& model);

}  // namespace soul::text
