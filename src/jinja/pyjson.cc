// Python's float repr and json.dumps, as Hugging Face's `tojson` filter produces them.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "jinja/text.h"
#include "jinja/value.h"

namespace kvpress::jinja {

std::string PyFloatRepr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  const std::string_view sci(buf,
                             static_cast<size_t>(res.ptr - buf));  // "-d.ddde+XX", shortest digits
  std::string out;
  size_t i = 0;
  if (sci[0] == '-') {
    out.push_back('-');
    i = 1;
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (size_t k = i; k < e_pos; ++k) {
    if (sci[k] != '.') digits.push_back(sci[k]);
  }
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  const int decpt = exponent + 1;  // position of the decimal point relative to the digits
  if (decpt <= -4 || decpt > 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (decpt <= 0) {
    out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  } else if (static_cast<size_t>(decpt) >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
  } else {
    out += digits.substr(0, static_cast<size_t>(decpt)) + "." +
           digits.substr(static_cast<size_t>(decpt));
  }
  return out;
}

namespace {

void AppendJsonString(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  char buf[16];
  for (char32_t c : DecodeUtf8(s)) {
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
      if (c >= 0x10000) {
        const char32_t v = c - 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                      static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      }
      out += buf;
    } else {
      AppendUtf8(out, c);
    }
  }
  out.push_back('"');
}

std::string JsonFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v < 0 ? "-Infinity" : "Infinity";
  return PyFloatRepr(v);
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonDumpOptions& o) : o_(o) {
    if (o.separators) {
      item_sep_ = o.separators->first;
      key_sep_ = o.separators->second;
    } else {
      item_sep_ = o.has_indent ? "," : ", ";
      key_sep_ = ": ";
    }
  }

  Status Write(const Value& v, int level, std::string& out) {
    if (level > 512) return FailedPrecondition("tojson: nesting too deep");
    switch (v.kind()) {
      case Value::Kind::kNone:
        out += "null";
        return Status::Ok();
      case Value::Kind::kBool:
        out += v.as_bool() ? "true" : "false";
        return Status::Ok();
      case Value::Kind::kInt:
        out += std::to_string(v.as_int());
        return Status::Ok();
      case Value::Kind::kFloat:
        out += JsonFloat(v.as_double());
        return Status::Ok();
      case Value::Kind::kString:
        AppendJsonString(out, v.str(), o_.ensure_ascii);
        return Status::Ok();
      case Value::Kind::kList: {
        if (v.items().empty()) {
          out += "[]";
          return Status::Ok();
        }
        out.push_back('[');
        for (size_t i = 0; i < v.items().size(); ++i) {
          out += i == 0 ? Newline(level + 1) : item_sep_ + Newline(level + 1);
          RETURN_IF_ERROR(Write(v.items()[i], level + 1, out));
        }
        out += Newline(level) + "]";
        return Status::Ok();
      }
      case Value::Kind::kDict: {
        if (v.is_namespace()) break;
        if (v.dict().items.empty()) {
          out += "{}";
          return Status::Ok();
        }
        std::vector<std::pair<std::string, const Value*>> entries;
        for (const auto& [k, val] : v.dict().items) {
          std::string key;
          if (k.is_string()) {
            key = k.str();
          } else if (k.is_bool()) {
            key = k.as_bool() ? "true" : "false";
          } else if (k.is_int()) {
            key = std::to_string(k.as_int());
          } else if (k.is_float()) {
            key = JsonFloat(k.as_double());
          } else if (k.is_none()) {
            key = "null";
          } else {
            return FailedPrecondition("tojson: keys must be str, int, float, bool or None, not " +
                                      k.TypeName());
          }
          entries.emplace_back(std::move(key), &val);
        }
        if (o_.sort_keys) {
          std::stable_sort(entries.begin(), entries.end(),
                           [](const auto& a, const auto& b) { return a.first < b.first; });
        }
        out.push_back('{');
        for (size_t i = 0; i < entries.size(); ++i) {
          out += i == 0 ? Newline(level + 1) : item_sep_ + Newline(level + 1);
          AppendJsonString(out, entries[i].first, o_.ensure_ascii);
          out += key_sep_;
          RETURN_IF_ERROR(Write(*entries[i].second, level + 1, out));
        }
        out += Newline(level) + "}";
        return Status::Ok();
      }
      default:
        break;
    }
    return FailedPrecondition(
        fmt::format("tojson: Object of type {} is not JSON serializable", v.TypeName()));
  }

 private:
  std::string Newline(int level) const {
    if (!o_.has_indent) return "";
    std::string s = "\n";
    for (int i = 0; i < level; ++i) s += o_.indent;
    return s;
  }

  const JsonDumpOptions& o_;
  std::string item_sep_, key_sep_;
};

}  // namespace

StatusOr<std::string> PyJsonDumps(const Value& v, const JsonDumpOptions& options) {
  std::string out;
  JsonWriter writer(options);
  RETURN_IF_ERROR(writer.Write(v, 0, out));
  return out;
}

}  // namespace kvpress::jinja
