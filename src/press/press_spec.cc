#include "press/press_spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace kvpress {

namespace {

// Recursive-descent parser of the spec grammar (press_spec.h) over `text_`.
class SpecParser {
 public:
  explicit SpecParser(const std::string& text) : text_(text) {}

  StatusOr<PressSpec> ParseAll() {
    ASSIGN_OR_RETURN(PressSpec spec, ParseSpec(0));
    if (pos_ != text_.size()) return Error(fmt::format("unexpected '{}'", text_[pos_]));
    return spec;
  }

 private:
  static bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

  Status Error(const std::string& what) const {
    return FailedPrecondition(fmt::format("--press '{}': {} at {}", text_, what, pos_));
  }

  std::string Word() {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsWordChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // True when the text at pos_ reads key=value (a parameter, not the next child's name).
  bool AtParam() const {
    size_t p = pos_;
    while (p < text_.size() && IsWordChar(text_[p])) ++p;
    return p > pos_ && p < text_.size() && text_[p] == '=';
  }

  StatusOr<PressSpec> ParseSpec(int depth) {
    if (depth > 8) return Error("nesting deeper than 8 levels");
    PressSpec spec;
    spec.name = Word();
    if (spec.name.empty()) {
      return Error(pos_ < text_.size() ? fmt::format("missing press name before '{}'", text_[pos_]) : "missing press name");
    }
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      while (true) {
        ASSIGN_OR_RETURN(PressSpec child, ParseSpec(depth + 1));
        spec.children.push_back(std::move(child));
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == ')') {
          ++pos_;
          break;
        }
        return Error(pos_ < text_.size() ? fmt::format("expected ',' or ')' instead of '{}'", text_[pos_])
                                         : fmt::format("missing ')' closing '{}('", spec.name));
      }
    }
    if (pos_ < text_.size() && text_[pos_] == ':') {
      ++pos_;
      while (true) {
        const std::string key = Word();
        if (key.empty() || pos_ >= text_.size() || text_[pos_] != '=') {
          return Error(fmt::format("expected key=value after '{}:'", spec.name));
        }
        ++pos_;
        const size_t start = pos_;
        while (pos_ < text_.size() && std::string_view(",():").find(text_[pos_]) == std::string_view::npos) ++pos_;
        if (spec.params.count(key)) return Error(fmt::format("'{}' given twice", key));
        spec.params[key] = text_.substr(start, pos_ - start);
        // A comma continues this spec's parameters only when key=value follows; otherwise it
        // separates siblings inside the enclosing parentheses.
        if (pos_ < text_.size() && text_[pos_] == ',' && (++pos_, AtParam())) continue;
        if (pos_ > 0 && text_[pos_ - 1] == ',') --pos_;
        break;
      }
    }
    return spec;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<PressSpec> ParsePressSpec(const std::string& text) { return SpecParser(text).ParseAll(); }

std::string FormatPressSpec(const PressSpec& spec) {
  std::string out = spec.name;
  if (!spec.children.empty()) {
    std::vector<std::string> kids;
    for (const PressSpec& c : spec.children) kids.push_back(FormatPressSpec(c));
    out += fmt::format("({})", fmt::join(kids, ","));
  }
  if (!spec.params.empty()) {
    std::vector<std::string> kv;
    for (const auto& [k, v] : spec.params) kv.push_back(k + "=" + v);
    out += fmt::format(":{}", fmt::join(kv, ","));
  }
  return out;
}

namespace {

// `s` shortened for messages.
std::string Shown(const std::string& s) { return s.size() <= 40 ? s : s.substr(0, 40) + "..."; }

}  // namespace

int PressParams::GetInt(const std::string& key, int default_value, int min, int max) {
  known_.push_back(key);
  auto it = spec_.params.find(key);
  if (it == spec_.params.end()) return default_value;
  int64_t v = 0;
  const std::string& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && end == s.data() + s.size() && (v < min || v > max))) {
    errors_.push_back(fmt::format("{}={} is outside [{}, {}]", key, Shown(s), min, max));
    return default_value;
  }
  if (ec != std::errc() || end != s.data() + s.size()) {
    errors_.push_back(fmt::format("{}={} is not an integer", key, Shown(s)));
    return default_value;
  }
  return static_cast<int>(v);
}

double PressParams::GetDouble(const std::string& key, double default_value, double min, double max) {
  known_.push_back(key);
  auto it = spec_.params.find(key);
  if (it == spec_.params.end()) return default_value;
  const std::string& s = it->second;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
    errors_.push_back(fmt::format("{}={} is not a finite number", key, Shown(s)));
    return default_value;
  }
  if (v < min || v > max) {
    errors_.push_back(fmt::format("{}={} is outside [{:g}, {:g}]", key, Shown(s), min, max));
    return default_value;
  }
  return v;
}

std::string PressParams::GetString(const std::string& key, const std::string& default_value) {
  known_.push_back(key);
  auto it = spec_.params.find(key);
  return it == spec_.params.end() ? default_value : it->second;
}

Status PressParams::Finish() const {
  for (const auto& [key, value] : spec_.params) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      return NotFound(fmt::format("press '{}' has no parameter '{}' (valid: {})", spec_.name, key,
                                         known_.empty() ? "none" : fmt::format("{}", fmt::join(known_, ", "))));
    }
  }
  if (!errors_.empty()) {
    return FailedPrecondition(fmt::format("press '{}': {}", spec_.name, fmt::join(errors_, "; ")));
  }
  return Status::Ok();
}

}  // namespace kvpress
