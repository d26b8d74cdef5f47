#include "tokenizer/unicode_util.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "core/utf8.h"

namespace kvpress::unicode {
namespace {

// Scans the sequence at `pos` following the Unicode table of well-formed byte sequences
// (Table 3-7). Returns the number of bytes that form a valid prefix; `complete` tells whether
// they are a whole character. A return of 0 never happens: an invalid lead counts as 1 byte.
size_t ScanSequence(std::string_view s, size_t pos, bool& complete) {
  const unsigned char b0 = static_cast<unsigned char>(s[pos]);
  complete = true;
  if (b0 < 0x80) return 1;
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 == 0xE0) {
    need = 2, lo = 0xA0;
  } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
    need = 2;
  } else if (b0 == 0xED) {
    need = 2, hi = 0x9F;
  } else if (b0 == 0xF0) {
    need = 3, lo = 0x90;
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    need = 3;
  } else if (b0 == 0xF4) {
    need = 3, hi = 0x8F;
  } else {
    complete = false;
    return 1;
  }
  size_t len = 1;
  for (size_t k = 0; k < need; ++k) {
    if (pos + len >= s.size()) {
      complete = false;
      return len;
    }
    const unsigned char b = static_cast<unsigned char>(s[pos + len]);
    const unsigned char l = k == 0 ? lo : 0x80, h = k == 0 ? hi : 0xBF;
    if (b < l || b > h) {
      complete = false;
      return len;
    }
    ++len;
  }
  return len;
}

char32_t DecodeValid(std::string_view s, size_t pos, size_t len) {
  const unsigned char b0 = static_cast<unsigned char>(s[pos]);
  if (len == 1) return b0;
  char32_t cp = b0 & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[pos + k]) & 0x3F);
  return cp;
}

std::array<char32_t, 256> BuildByteToChar() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    map[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

}  // namespace

bool DecodeOne(std::string_view s, size_t& pos, char32_t& cp) {
  if (pos >= s.size()) return false;
  bool complete = false;
  const size_t len = ScanSequence(s, pos, complete);
  if (!complete) return false;
  cp = DecodeValid(s, pos, len);
  pos += len;
  return true;
}

char32_t NextChar(std::string_view s, size_t& pos) {
  char32_t cp = 0;
  if (DecodeOne(s, pos, cp)) return cp;
  ++pos;
  return 0xFFFD;
}

size_t FindInvalidUtf8(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    bool complete = false;
    const size_t len = ScanSequence(s, pos, complete);
    if (!complete) return pos;
    pos += len;
  }
  return std::string_view::npos;
}

void AppendUtf8(std::string& out, char32_t cp) { AppendCodePointUtf8(out, cp); }

std::string LossyUtf8(std::string_view bytes) {
  if (FindInvalidUtf8(bytes) == std::string_view::npos) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  size_t pos = 0;
  while (pos < bytes.size()) {
    bool complete = false;
    const size_t len = ScanSequence(bytes, pos, complete);
    if (complete) {
      out.append(bytes.substr(pos, len));
    } else {
      out += "\xEF\xBF\xBD";
    }
    pos += len;
  }
  return out;
}

const std::array<char32_t, 256>& ByteToChar() {
  static const std::array<char32_t, 256> map = BuildByteToChar();
  return map;
}

int CharToByte(char32_t c) {
  static const auto inverse = [] {
    std::array<int16_t, 324> inv{};
    inv.fill(-1);
    const auto& m = ByteToChar();
    for (int b = 0; b < 256; ++b) inv[m[static_cast<size_t>(b)]] = static_cast<int16_t>(b);
    return inv;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

std::string BytesToByteLevel(std::string_view bytes) {
  const auto& m = ByteToChar();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) AppendUtf8(out, m[b]);
  return out;
}

bool ByteLevelToBytes(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    if (!DecodeOne(text, pos, cp)) return false;
    const int b = CharToByte(cp);
    if (b < 0) return false;
    out.push_back(static_cast<char>(b));
  }
  return true;
}

bool IsWhitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool IsWordChar(char32_t c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  if (c == 0x200C || c == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

std::string Normalize(std::string_view text, NormalForm form) {
  bool ascii = true;
  for (unsigned char c : text) {
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(text);
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::kNFC:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::kNFD:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::kNFKC:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::kNFKD:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) return std::string(text);  // invalid UTF-8: callers validate first
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> holder(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::string Lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const char32_t c = NextChar(text, pos);
    if (c == 0x130) {  // the one unconditional multi-character lowercase mapping (SpecialCasing)
      out += "i\xCC\x87";
      continue;
    }
    AppendUtf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
  }
  return out;
}

}  // namespace kvpress::unicode
