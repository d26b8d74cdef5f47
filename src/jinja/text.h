// Python `str` semantics on UTF-8 bytes for the chat-template interpreter: code-point iteration,
// whitespace, case mapping and repr escaping, as CPython defines them for the cases chat templates
// exercise.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kvpress::jinja {

// Decodes UTF-8 into code points. Bytes that are not valid UTF-8 become U+DC80..U+DCFF (Python's
// "surrogateescape"), so EncodeUtf8(DecodeUtf8(s)) == s for every byte string.
std::u32string DecodeUtf8(std::string_view s);
// Inverse of DecodeUtf8 (U+DC80..U+DCFF map back to the raw byte).
std::string EncodeUtf8(std::u32string_view s);
void AppendUtf8(std::string& out, char32_t cp);

// len(s) in Python: the number of code points.
size_t CodePointCount(std::string_view s);

// str.isspace() for one code point (Unicode White_Space plus the ASCII separators 0x1C..0x1F).
bool IsPySpace(char32_t c);
// str.isprintable() for one code point, used by repr(); approximate outside the BMP's common
// blocks.
bool IsPyPrintable(char32_t c);
// Case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (other scripts unchanged).
// ß upper-cases to "SS" as in Python.
std::string PyUpper(std::string_view s);
std::string PyLower(std::string_view s);
bool IsPyUpperCp(char32_t c);
bool IsPyLowerCp(char32_t c);
bool IsPyAlphaCp(
    char32_t c);  // letters of the scripts above, plus any code point >= 0x100 that has a case
bool IsPyDigitCp(char32_t c);  // ASCII digits only

// str.strip/lstrip/rstrip: `chars` absent strips whitespace, otherwise any of its code points.
std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right);

// repr(s): quoted with ' (or " when s contains ' but no "), escaping \\, the quote, \n \r \t and
// non-printable code points as \xNN, \uNNNN or \UNNNNNNNN.
std::string PyStrRepr(std::string_view s);

// Count of '\n' in s.
int CountNewlines(std::string_view s);

}  // namespace kvpress::jinja
