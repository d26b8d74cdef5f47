// UTF-8 and Unicode helpers shared by the tokenizers: strict decoding, Rust-compatible lossy
// conversion, the GPT-2 byte <-> unicode map, character classes and normalization forms (NFC & co.,
// through utf8proc).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace kvpress::unicode {

// Length of the UTF-8 sequence introduced by `lead` (1 for ASCII and for invalid lead bytes).
inline size_t SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Decodes one well-formed code point at `pos` (advancing it). Returns false, leaving `pos`
// unchanged, on an ill-formed sequence (overlong, surrogate, > U+10FFFF, truncated).
bool DecodeOne(std::string_view s, size_t& pos, char32_t& cp);

// Decodes the code point at `pos` and advances; an ill-formed byte yields U+FFFD and advances one.
char32_t NextChar(std::string_view s, size_t& pos);

// Byte offset of the first ill-formed sequence, or npos when `s` is valid UTF-8.
size_t FindInvalidUtf8(std::string_view s);

void AppendUtf8(std::string& out, char32_t cp);

// Rust's String::from_utf8_lossy: each maximal ill-formed subpart becomes one U+FFFD.
std::string LossyUtf8(std::string_view bytes);

// GPT-2's reversible byte <-> printable-character map (model-formats.md §6).
const std::array<char32_t, 256>& ByteToChar();
// The byte a GPT-2 character stands for, or -1 for characters outside the map.
int CharToByte(char32_t c);
// Raw bytes -> GPT-2 characters (UTF-8).
std::string BytesToByteLevel(std::string_view bytes);
// GPT-2 characters -> raw bytes. False (and `out` unspecified) when a character is not in the map.
bool ByteLevelToBytes(std::string_view text, std::string& out);

// Rust's char::is_whitespace (the White_Space property).
bool IsWhitespace(char32_t c);
// The regex crate's \w: letters, marks, decimal digits, connector punctuation, join controls.
bool IsWordChar(char32_t c);

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };
// Unicode normalization of valid UTF-8 text (ASCII is returned unchanged without work).
std::string Normalize(std::string_view text, NormalForm form);
// Lowercase per code point, as Rust's char::to_lowercase (HF's Lowercase normalizer).
std::string Lowercase(std::string_view text);

}  // namespace kvpress::unicode
