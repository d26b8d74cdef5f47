#include "tools/flag_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/threads.h"

namespace kvpress::cli {
namespace {

// The value of `text` when it is a whole finite number.
std::optional<double> FiniteNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// "'abc'" shortened to 40 characters, for messages.
std::string Quoted(const std::string& text) {
  return text.size() <= 40 ? "'" + text + "'" : "'" + text.substr(0, 40) + "...'";
}

CLI::Validator Bounded(std::string description, double lo, bool lo_open, std::optional<double> hi) {
  return CLI::Validator(
      [lo, lo_open, hi](std::string& input) -> std::string {
        const std::optional<double> v = FiniteNumber(input);
        const std::string bound = hi ? fmt::format("in {}{:g}, {:g}]", lo_open ? "(" : "[", lo, *hi)
                                     : fmt::format("{} {:g}", lo_open ? ">" : ">=", lo);
        if (!v) return fmt::format("{} is not a finite number (expected a number {})", Quoted(input), bound);
        const bool ok = (lo_open ? *v > lo : *v >= lo) && (!hi || *v <= *hi);
        return ok ? std::string() : fmt::format("{} is out of range (expected a number {})", Quoted(input), bound);
      },
      std::move(description));
}

}  // namespace

CLI::Validator NonNegative() { return Bounded(">= 0", 0.0, false, std::nullopt); }

CLI::Validator Positive() { return Bounded("> 0", 0.0, true, std::nullopt); }

CLI::Validator InRange(double lo, double hi, bool exclude_lo) {
  return Bounded(fmt::format("in {}{:g}, {:g}]", exclude_lo ? "(" : "[", lo, hi), lo, exclude_lo, hi);
}

CLI::Validator ThreadCount() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        const std::optional<double> v = FiniteNumber(input);
        if (!v || *v != std::floor(*v)) return fmt::format("{} is not a whole number of threads", Quoted(input));
        const Status s = CheckThreads(static_cast<long long>(std::clamp(*v, -1.0, 1e12)), "--threads");
        return s.ok() ? std::string() : s.message().substr(s.message().find(": ") + 2);
      },
      fmt::format("in [0, {}]", MaxThreads()));
}

}  // namespace kvpress::cli
