#include "press/press_spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace kvpress {

StatusOr<PressSpec> ParsePressSpec(const std::string& text) {
  PressSpec spec;
  const size_t colon = text.find(':');
  spec.name = text.substr(0, colon);
  if (spec.name.empty()) return FailedPrecondition(fmt::format("--press '{}': missing press name", text));
  if (colon == std::string::npos) return spec;
  const std::string rest = text.substr(colon + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t comma = rest.find(',', start);
    const std::string item = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return FailedPrecondition(fmt::format("--press '{}': '{}' is not key=value", text, item));
    }
    const std::string key = item.substr(0, eq);
    if (spec.params.count(key)) return FailedPrecondition(fmt::format("--press '{}': '{}' given twice", text, key));
    spec.params[key] = item.substr(eq + 1);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return spec;
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
