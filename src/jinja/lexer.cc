#include "jinja/lexer.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

#include "jinja/text.h"

namespace kvpress::jinja {

Status TemplateError(StatusCode code, const std::string& name, int line, std::string_view message) {
  return Status(code, fmt::format("{}:{}: {}", name, line, message));
}

namespace {

// Jinja's newline normalisation: "\r\n" and "\r" become "\n"; one trailing newline is dropped.
std::string NormalizeSource(std::string_view source, bool keep_trailing_newline) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80);
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Index of the first code point at or after `p` that is not Python whitespace.
size_t SkipWhitespace(const std::string& s, size_t p) {
  while (p < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[p]);
    if (c < 0x80) {
      if (!IsPySpace(c)) break;
      ++p;
      continue;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (p + n > s.size()) break;
    const std::u32string cp = DecodeUtf8(std::string_view(s).substr(p, n));
    if (cp.size() != 1 || !IsPySpace(cp[0])) break;
    p += n;
  }
  return p;
}

bool AllWhitespace(std::string_view s) {
  if (s.empty()) return false;
  for (char32_t c : DecodeUtf8(s)) {
    if (!IsPySpace(c)) return false;
  }
  return true;
}

// Applies the whitespace control of the tag that follows `text`: `sign` is '-', '+' or 0.
std::string StripBeforeTag(std::string text, char sign, bool is_variable, bool line_starting,
                           const LexerOptions& o) {
  if (sign == '-') return PyStrip(text, std::nullopt, false, true);
  if (sign != '+' && o.lstrip_blocks && !is_variable) {
    const size_t nl = text.rfind('\n');
    const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    if ((l_pos > 0 || line_starting) && AllWhitespace(std::string_view(text).substr(l_pos)))
      text.resize(l_pos);
  }
  return text;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's "unicode-escape" decoding of a string literal body (after jinja's backslashreplace).
StatusOr<std::string> DecodeStringLiteral(std::string_view body) {
  std::u32string cps = DecodeUtf8(body);
  std::u32string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i + 1 >= cps.size()) return Status(StatusCode::kDataLoss, "\\ at end of string");
    const char32_t e = cps[++i];
    const auto hex = [&](int digits, const char* what) -> StatusOr<char32_t> {
      char32_t v = 0;
      for (int k = 0; k < digits; ++k) {
        const int h =
            i + 1 < cps.size() && cps[i + 1] < 0x80 ? HexValue(static_cast<char>(cps[i + 1])) : -1;
        if (h < 0) return Status(StatusCode::kDataLoss, fmt::format("truncated {} escape", what));
        v = v * 16 + static_cast<char32_t>(h);
        ++i;
      }
      return v;
    };
    switch (e) {
      case '\n':
        break;  // line continuation
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case '"':
        out.push_back('"');
        break;
      case 'a':
        out.push_back(0x07);
        break;
      case 'b':
        out.push_back(0x08);
        break;
      case 'f':
        out.push_back(0x0C);
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back(0x0B);
        break;
      case 'x': {
        ASSIGN_OR_RETURN(char32_t v, hex(2, "\\xXX"));
        out.push_back(v);
        break;
      }
      case 'u': {
        ASSIGN_OR_RETURN(char32_t v, hex(4, "\\uXXXX"));
        out.push_back(v);
        break;
      }
      case 'U': {
        ASSIGN_OR_RETURN(char32_t v, hex(8, "\\UXXXXXXXX"));
        if (v > 0x10FFFF)
          return Status(StatusCode::kDataLoss, "illegal Unicode character in \\U escape");
        out.push_back(v);
        break;
      }
      case 'N':
        return Status(StatusCode::kUnimplemented,
                      "\\N{...} escapes in string literals are not supported");
      default:
        if (e >= '0' && e <= '7') {
          char32_t v = e - '0';
          for (int k = 0; k < 2 && i + 1 < cps.size() && cps[i + 1] >= '0' && cps[i + 1] <= '7';
               ++k) {
            v = v * 8 + (cps[++i] - '0');
          }
          out.push_back(v);
        } else if (e >= 0x80) {  // backslashreplace turned the character into an escape of its own
          out.push_back('\\');
          const std::string esc = e < 0x100     ? fmt::format("x{:02x}", static_cast<unsigned>(e))
                                  : e < 0x10000 ? fmt::format("u{:04x}", static_cast<unsigned>(e))
                                                : fmt::format("U{:08x}", static_cast<unsigned>(e));
          for (char ch : esc) out.push_back(static_cast<unsigned char>(ch));
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  // Join UTF-16 surrogate pairs written as two \u escapes.
  std::u32string joined;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] >= 0xD800 && out[i] <= 0xDBFF && i + 1 < out.size() && out[i + 1] >= 0xDC00 &&
        out[i + 1] <= 0xDFFF) {
      joined.push_back(0x10000 + ((out[i] - 0xD800) << 10) + (out[i + 1] - 0xDC00));
      ++i;
    } else {
      joined.push_back(out[i]);
    }
  }
  return EncodeUtf8(joined);
}

class Lexer {
 public:
  Lexer(std::string source, const LexerOptions& o, const std::string& name)
      : s_(std::move(source)), o_(o), name_(name) {}

  StatusOr<std::vector<Token>> Run() {
    while (pos_ < s_.size()) {
      const size_t tag = FindTagStart(pos_);
      if (tag == std::string::npos) {
        EmitData(s_.substr(pos_));
        pos_ = s_.size();
        break;
      }
      const char type = s_[tag + 1];
      const char sign =
          tag + 2 < s_.size() && (s_[tag + 2] == '-' || s_[tag + 2] == '+') ? s_[tag + 2] : 0;
      const std::string text = s_.substr(pos_, tag - pos_);
      EmitData(StripBeforeTag(text, sign, type == '{', line_starting_, o_));
      line_ += CountNewlines(text);
      pos_ = tag + 2 + (sign ? 1 : 0);
      if (type == '#') {
        RETURN_IF_ERROR(LexComment());
      } else if (type == '%' && MatchRawBegin()) {
        RETURN_IF_ERROR(LexRawBody());
      } else {
        RETURN_IF_ERROR(LexTag(type == '%'));
      }
    }
    tokens_.push_back(Token{TokenKind::kEof, line_, "", 0, 0.0});
    return std::move(tokens_);
  }

 private:
  Status Error(std::string_view msg) const {
    return TemplateError(StatusCode::kDataLoss, name_, line_, msg);
  }

  size_t FindTagStart(size_t from) const {
    for (size_t i = s_.find('{', from); i != std::string::npos; i = s_.find('{', i + 1)) {
      if (i + 1 < s_.size() && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  void EmitData(std::string text) {
    if (!text.empty()) tokens_.push_back(Token{TokenKind::kData, line_, std::move(text), 0, 0.0});
  }

  void Emit(TokenKind kind, std::string text = "") {
    tokens_.push_back(Token{kind, line_, std::move(text), 0, 0.0});
  }

  // Consumes the end of a block/comment tag at pos_ ("+X}", "-X}" + whitespace, "X}" + one
  // newline under trim_blocks) where X is '%' or '#'. Returns false when there is none.
  bool MatchTagEnd(char x) {
    const std::string plain = std::string(1, x) + "}";
    if (s_.compare(pos_, 3, "+" + plain) == 0) {
      pos_ += 3;
    } else if (s_.compare(pos_, 3, "-" + plain) == 0) {
      pos_ = SkipWhitespace(s_, pos_ + 3);
    } else if (s_.compare(pos_, 2, plain) == 0) {
      pos_ += 2;
      if (o_.trim_blocks && pos_ < s_.size() && s_[pos_] == '\n') ++pos_;
    } else {
      return false;
    }
    return true;
  }

  Status LexComment() {
    size_t end = s_.find("#}", pos_);
    if (end == std::string::npos) return Error("missing end of comment tag");
    if (end > pos_ && (s_[end - 1] == '-' || s_[end - 1] == '+')) --end;
    const size_t start = pos_;
    pos_ = end;
    MatchTagEnd('#');
    line_ += CountNewlines(std::string_view(s_).substr(start, pos_ - start));
    line_starting_ = s_[pos_ - 1] == '\n';
    return Status::Ok();
  }

  // At pos_ just after "{%" and its sign: matches `\s*raw\s*(-%}\s*|%})`.
  bool MatchRawBegin() {
    size_t p = SkipWhitespace(s_, pos_);
    if (s_.compare(p, 3, "raw") != 0 || (p + 3 < s_.size() && IsIdentChar(s_[p + 3]))) return false;
    p = SkipWhitespace(s_, p + 3);
    if (s_.compare(p, 3, "-%}") == 0) {
      p = SkipWhitespace(s_, p + 3);
    } else if (s_.compare(p, 2, "%}") == 0) {
      p += 2;
    } else {
      return false;
    }
    line_ += CountNewlines(std::string_view(s_).substr(pos_, p - pos_));
    pos_ = p;
    line_starting_ = s_[pos_ - 1] == '\n';
    return true;
  }

  Status LexRawBody() {
    for (size_t i = s_.find("{%", pos_); i != std::string::npos; i = s_.find("{%", i + 1)) {
      size_t p = i + 2;
      const char sign = p < s_.size() && (s_[p] == '-' || s_[p] == '+') ? s_[p] : 0;
      if (sign) ++p;
      p = SkipWhitespace(s_, p);
      if (s_.compare(p, 6, "endraw") != 0) continue;
      const size_t save = pos_;
      pos_ = SkipWhitespace(s_, p + 6);
      if (!MatchTagEnd('%')) {
        pos_ = save;
        continue;
      }
      const std::string body = s_.substr(save, i - save);
      EmitData(StripBeforeTag(body, sign, false, line_starting_, o_));
      line_ += CountNewlines(std::string_view(s_).substr(save, pos_ - save));
      line_starting_ = s_[pos_ - 1] == '\n';
      return Status::Ok();
    }
    return Error("missing end of raw directive");
  }

  Status LexTag(bool is_block) {
    Emit(is_block ? TokenKind::kBlockBegin : TokenKind::kVariableBegin);
    std::vector<char> balance;
    while (true) {
      if (pos_ >= s_.size())
        return Error(is_block ? "unexpected end of template, expected '%}'"
                              : "unexpected end of template, expected '}}'");
      if (balance.empty()) {
        const size_t before = pos_;
        bool ended = false;
        if (is_block) {
          ended = MatchTagEnd('%');
        } else if (s_.compare(pos_, 3, "-}}") == 0) {
          pos_ = SkipWhitespace(s_, pos_ + 3);
          ended = true;
        } else if (s_.compare(pos_, 2, "}}") == 0) {
          pos_ += 2;
          ended = true;
        }
        if (ended) {
          Emit(is_block ? TokenKind::kBlockEnd : TokenKind::kVariableEnd);
          line_ += CountNewlines(std::string_view(s_).substr(before, pos_ - before));
          line_starting_ = s_[pos_ - 1] == '\n';
          return Status::Ok();
        }
      }
      const size_t ws_end = SkipWhitespace(s_, pos_);
      if (ws_end > pos_) {
        line_ += CountNewlines(std::string_view(s_).substr(pos_, ws_end - pos_));
        pos_ = ws_end;
        continue;
      }
      RETURN_IF_ERROR(LexOne(balance));
    }
  }

  // Digits with single '_' separators ("(\d+_)*\d+") starting at p; returns the end or p.
  size_t MatchDigits(size_t p) const {
    size_t q = p;
    while (q < s_.size() && IsDigit(s_[q])) {
      while (q < s_.size() && IsDigit(s_[q])) ++q;
      if (q + 1 < s_.size() && s_[q] == '_' && IsDigit(s_[q + 1])) ++q;
    }
    return q;
  }

  // Lexes a float or integer literal at pos_: 0 when there is none, 1 when lexed, -1 when an
  // integer does not fit in 64 bits.
  int LexNumber() {
    const char c = s_[pos_];
    if (!IsDigit(c)) return 0;
    // Float: digits, then (fraction? exponent | fraction); not right after a '.'.
    if (pos_ == 0 || s_[pos_ - 1] != '.') {
      size_t q = MatchDigits(pos_);
      size_t frac_end = q;
      if (q + 1 < s_.size() && s_[q] == '.' && IsDigit(s_[q + 1])) frac_end = MatchDigits(q + 1);
      size_t exp_end = frac_end;
      if (frac_end < s_.size() && (s_[frac_end] == 'e' || s_[frac_end] == 'E')) {
        size_t e = frac_end + 1;
        if (e < s_.size() && (s_[e] == '+' || s_[e] == '-')) ++e;
        if (e < s_.size() && IsDigit(s_[e])) exp_end = MatchDigits(e);
      }
      if (exp_end > q) {
        std::string digits;
        for (size_t k = pos_; k < exp_end; ++k) {
          if (s_[k] != '_') digits.push_back(s_[k]);
        }
        Token t{TokenKind::kFloat, line_, s_.substr(pos_, exp_end - pos_), 0,
                std::strtod(digits.c_str(), nullptr)};
        tokens_.push_back(std::move(t));
        pos_ = exp_end;
        return 1;
      }
    }
    // Integer: 0b/0o/0x prefixes, decimal, or zeros.
    int base = 10;
    size_t start = pos_, q = pos_;
    if (c == '0' && pos_ + 2 < s_.size()) {
      const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_ + 1])));
      base = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 10;
    }
    const auto is_digit_of = [&](char ch) {
      const int h = HexValue(ch);
      return h >= 0 && h < base && (base == 16 || IsDigit(ch));
    };
    if (base != 10) {
      q = pos_ + 2;
      start = q;
      while (q < s_.size() &&
             (is_digit_of(s_[q]) || (s_[q] == '_' && q + 1 < s_.size() && is_digit_of(s_[q + 1]))))
        ++q;
      if (q == start) {
        base = 10;
        q = pos_;
        start = pos_;
      }
    }
    if (base == 10) {
      if (c == '0') {
        q = pos_ + 1;
        while (q + 1 < s_.size() && (s_[q] == '0' || (s_[q] == '_' && s_[q + 1] == '0'))) ++q;
      } else {
        q = MatchDigits(pos_);
      }
    }
    int64_t v = 0;
    for (size_t k = start; k < q; ++k) {
      if (s_[k] == '_') continue;
      if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, HexValue(s_[k]), &v))
        return -1;
    }
    tokens_.push_back(Token{TokenKind::kInteger, line_, s_.substr(pos_, q - pos_), v, 0.0});
    pos_ = q;
    return 1;
  }

  Status LexOne(std::vector<char>& balance) {
    const char c = s_[pos_];
    const int number = LexNumber();
    if (number < 0)
      return TemplateError(StatusCode::kUnimplemented, name_, line_,
                           "integer literal does not fit in 64 bits");
    if (number > 0) return Status::Ok();
    if (IsIdentStart(c)) {
      size_t q = pos_;
      while (q < s_.size() && IsIdentChar(s_[q])) ++q;
      Emit(TokenKind::kName, s_.substr(pos_, q - pos_));
      pos_ = q;
      return Status::Ok();
    }
    if (c == '\'' || c == '"') {
      size_t q = pos_ + 1;
      while (q < s_.size() && s_[q] != c) q += s_[q] == '\\' ? 2 : 1;
      if (q >= s_.size()) return Error("unexpected end of string literal");
      auto decoded = DecodeStringLiteral(std::string_view(s_).substr(pos_ + 1, q - pos_ - 1));
      if (!decoded.ok())
        return TemplateError(decoded.status().code(), name_, line_, decoded.status().message());
      Emit(TokenKind::kString, std::move(decoded).value());
      line_ += CountNewlines(std::string_view(s_).substr(pos_, q + 1 - pos_));
      pos_ = q + 1;
      return Status::Ok();
    }
    static const char* kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/",
                                 "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                 ">",  "<",  "=",  ".",  ":",  "|",  ",", ";"};
    for (const char* op : kOps) {
      const size_t n = std::char_traits<char>::length(op);
      if (s_.compare(pos_, n, op) != 0) continue;
      if (n == 1 && (c == '(' || c == '[' || c == '{'))
        balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
      if (n == 1 && (c == ')' || c == ']' || c == '}')) {
        if (balance.empty()) return Error(fmt::format("unexpected '{}'", c));
        if (balance.back() != c)
          return Error(fmt::format("unexpected '{}', expected '{}'", c, balance.back()));
        balance.pop_back();
      }
      Emit(TokenKind::kOperator, op);
      pos_ += n;
      return Status::Ok();
    }
    return Error(fmt::format("unexpected char '{}'", c));
  }

  std::string s_;
  const LexerOptions& o_;
  const std::string& name_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

StatusOr<std::vector<Token>> Tokenize(std::string_view source, const LexerOptions& options,
                                      const std::string& name) {
  Lexer lexer(NormalizeSource(source, options.keep_trailing_newline), options, name);
  return lexer.Run();
}

}  // namespace kvpress::jinja
