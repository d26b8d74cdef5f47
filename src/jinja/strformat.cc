// Python's str.format for templates: field lookup and the format-spec mini-language.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "jinja/methods.h"
#include "jinja/ops.h"
#include "jinja/text.h"

namespace kvpress::jinja {
namespace {

struct Spec {
  std::string fill = std::string(1, ' ');
  char align = 0;  // < > ^ =
  char sign = '-';
  bool alternate = false;
  int64_t width = 0;
  char grouping = 0;
  int64_t precision = -1;
  char type = 0;
};

StatusOr<Spec> ParseSpec(const std::string& text) {
  Spec s;
  const std::u32string cps = DecodeUtf8(text);
  size_t i = 0;
  const auto is_align = [](char32_t c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (cps.size() >= 2 && is_align(cps[1])) {
    s.fill = EncodeUtf8(cps.substr(0, 1));
    s.align = static_cast<char>(cps[1]);
    i = 2;
  } else if (!cps.empty() && is_align(cps[0])) {
    s.align = static_cast<char>(cps[0]);
    i = 1;
  }
  if (i < cps.size() && (cps[i] == '+' || cps[i] == '-' || cps[i] == ' '))
    s.sign = static_cast<char>(cps[i++]);
  if (i < cps.size() && cps[i] == '#') {
    s.alternate = true;
    ++i;
  }
  if (i < cps.size() && cps[i] == '0') {
    if (s.align == 0) {
      s.fill.assign(1, '0');
      s.align = '=';
    }
    ++i;
  }
  while (i < cps.size() && cps[i] >= '0' && cps[i] <= '9' && s.width < 100000)
    s.width = s.width * 10 + (cps[i++] - '0');
  if (i < cps.size() && (cps[i] == ',' || cps[i] == '_')) s.grouping = static_cast<char>(cps[i++]);
  if (i < cps.size() && cps[i] == '.') {
    ++i;
    s.precision = 0;
    while (i < cps.size() && cps[i] >= '0' && cps[i] <= '9' && s.precision < 1000)
      s.precision = s.precision * 10 + (cps[i++] - '0');
  }
  if (i < cps.size()) s.type = static_cast<char>(cps[i++]);
  if (i != cps.size())
    return FailedPrecondition(fmt::format("Invalid format specifier '{}'", text));
  return s;
}

std::string Group(const std::string& digits, char sep) {
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(sep);
    out.push_back(digits[i]);
  }
  return out;
}

std::string Pad(const std::string& sign, const std::string& body, const Spec& s,
                char default_align) {
  const int64_t len = static_cast<int64_t>(CodePointCount(sign) + CodePointCount(body));
  if (s.width <= len) return sign + body;
  const int64_t pad = s.width - len;
  const auto rep = [&](int64_t n) {
    std::string r;
    for (int64_t k = 0; k < n; ++k) r += s.fill;
    return r;
  };
  switch (s.align ? s.align : default_align) {
    case '<':
      return sign + body + rep(pad);
    case '^':
      return rep(pad / 2) + sign + body + rep(pad - pad / 2);
    case '=':
      return sign + rep(pad) + body;
    default:
      return rep(pad) + sign + body;
  }
}

StatusOr<std::string> FormatValue(const Value& v, const std::string& spec_text) {
  if (spec_text.empty()) return v.ToString();
  ASSIGN_OR_RETURN(Spec s, ParseSpec(spec_text));
  const bool numeric_type = s.type != 0 && s.type != 's';
  if (v.is_string() || (!numeric_type && !v.is_number()) || (v.is_bool() && s.type == 0)) {
    if (numeric_type)
      return FailedPrecondition(
          fmt::format("Unknown format code '{}' for object of type '{}'", s.type, v.TypeName()));
    std::u32string body = DecodeUtf8(v.ToString());
    if (s.precision >= 0 && static_cast<size_t>(s.precision) < body.size())
      body.resize(static_cast<size_t>(s.precision));
    return Pad("", EncodeUtf8(body), s, '<');
  }
  if (!v.is_number())
    return FailedPrecondition(
        fmt::format("Unknown format code '{}' for object of type '{}'", s.type, v.TypeName()));
  const bool as_int =
      std::string_view("dbxXoc").find(s.type) != std::string_view::npos && s.type != 0;
  if (as_int || (s.type == 0 && !v.is_float())) {
    if (v.is_float())
      return FailedPrecondition(
          fmt::format("Unknown format code '{}' for object of type 'float'", s.type));
    const int64_t n = v.as_int();
    if (s.type == 'c') {
      std::string ch;
      AppendUtf8(ch, static_cast<char32_t>(n));
      return Pad("", ch, s, '<');
    }
    uint64_t mag = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
    const uint64_t base = s.type == 'b'                      ? 2
                          : s.type == 'o'                    ? 8
                          : (s.type == 'x' || s.type == 'X') ? 16
                                                             : 10;
    const char* table = s.type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[72];
    size_t pos = sizeof(buf);
    do {
      buf[--pos] = table[mag % base];
      mag /= base;
    } while (mag != 0);
    std::string digits(buf + pos, sizeof(buf) - pos), prefix;
    if (s.grouping) digits = Group(digits, s.grouping);
    if (s.alternate && base != 10)
      prefix = std::string("0") + (s.type == 'b' ? 'b' : s.type == 'o' ? 'o' : s.type);
    const std::string sign = n < 0 ? "-" : s.sign == '+' ? "+" : s.sign == ' ' ? " " : "";
    return Pad(sign + prefix, digits, s, '>');
  }
  double d = v.as_double();
  std::string body;
  if (s.type == 0 && s.precision < 0) {
    body = PyFloatRepr(std::fabs(d));
  } else {
    const char type = s.type == 0 ? 'g' : s.type == '%' ? 'f' : s.type;
    const double x = s.type == '%' ? std::fabs(d) * 100 : std::fabs(d);
    const int precision = static_cast<int>(s.precision >= 0 ? s.precision : 6);
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  fmt::format("%{}.{}{}", s.alternate ? "#" : "", precision, type).c_str(), x);
    body = buf;
    if (s.type == 0 && body.find_first_of(".en") == std::string::npos) body += ".0";
    if (s.type == '%') body += "%";
  }
  if (s.grouping) {
    const size_t int_end = body.find_first_not_of("0123456789");
    body = Group(body.substr(0, int_end), s.grouping) +
           (int_end == std::string::npos ? "" : body.substr(int_end));
  }
  const std::string sign = std::signbit(d) && !std::isnan(d) ? "-"
                           : s.sign == '+'                   ? "+"
                           : s.sign == ' '                   ? " "
                                                             : "";
  return Pad(sign, body, s, '>');
}

StatusOr<Value> ResolveField(const std::string& field, const CallArgs& args, size_t& auto_index) {
  size_t end = field.find_first_of(".[");
  const std::string first = field.substr(0, end);
  Value v;
  if (first.empty()) {
    if (auto_index >= args.positional.size())
      return FailedPrecondition("Replacement index out of range for positional args tuple");
    v = args.positional[auto_index++];
  } else if (first.find_first_not_of("0123456789") == std::string::npos) {
    if (first.size() > 9)
      return FailedPrecondition("Replacement index out of range for positional args tuple");
    const size_t idx = static_cast<size_t>(std::atol(first.c_str()));
    if (idx >= args.positional.size())
      return FailedPrecondition("Replacement index out of range for positional args tuple");
    v = args.positional[idx];
  } else {
    const Value* kw = nullptr;
    for (const auto& [k, val] : args.keyword) {
      if (k == first) kw = &val;
    }
    if (kw == nullptr) return FailedPrecondition(fmt::format("KeyError: '{}'", first));
    v = *kw;
  }
  while (end != std::string::npos && end < field.size()) {
    if (field[end] == '.') {
      const size_t next = field.find_first_of(".[", end + 1);
      ASSIGN_OR_RETURN(
          v, GetAttribute(v, field.substr(end + 1, next == std::string::npos ? std::string::npos
                                                                             : next - end - 1)));
      end = next;
    } else {
      const size_t close = field.find(']', end);
      if (close == std::string::npos) return FailedPrecondition("Missing ']' in format string");
      const std::string key = field.substr(end + 1, close - end - 1);
      const bool numeric = !key.empty() && key.size() < 18 &&
                           key.find_first_not_of("0123456789") == std::string::npos;
      ASSIGN_OR_RETURN(v, GetItem(v, numeric ? Value(static_cast<int64_t>(std::atoll(key.c_str())))
                                             : Value(key)));
      end = close + 1;
    }
  }
  return v;
}

}  // namespace

StatusOr<std::string> PyStrFormat(const std::string& f, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      return FailedPrecondition("Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    const size_t close = f.find('}', i);
    if (close == std::string::npos)
      return FailedPrecondition("Single '{' encountered in format string");
    std::string field = f.substr(i + 1, close - i - 1);
    if (field.find('{') != std::string::npos)
      return Unimplemented("nested replacement fields in str.format");
    std::string spec;
    char conversion = 0;
    const size_t colon = field.find(':');
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    const size_t bang = field.find('!');
    if (bang != std::string::npos) {
      if (bang + 2 != field.size())
        return FailedPrecondition("expected ':' after conversion specifier");
      conversion = field[bang + 1];
      field.resize(bang);
    }
    ASSIGN_OR_RETURN(Value v, ResolveField(field, args, auto_index));
    if (conversion == 'r' || conversion == 'a') {
      v = Value(v.Repr());
    } else if (conversion == 's') {
      v = Value(v.ToString());
    } else if (conversion != 0) {
      return FailedPrecondition(fmt::format("Unknown conversion specifier {}", conversion));
    }
    ASSIGN_OR_RETURN(std::string piece, FormatValue(v, spec));
    out += piece;
    i = close;
  }
  return out;
}

}  // namespace kvpress::jinja
