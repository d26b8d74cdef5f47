#include "generate/stop_criteria.h"

#include <algorithm>

namespace kvpress {

bool StopCriteria::IsEos(int32_t id) const {
  return std::find(options_.eos_ids.begin(), options_.eos_ids.end(), id) != options_.eos_ids.end();
}

std::string StopCriteria::Check(std::span<const int32_t> generated, const std::string& text) const {
  for (const std::string& s : options_.stop_strings) {
    if (!s.empty() && text.size() >= s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0) {
      return "stop_string";
    }
  }
  if (options_.on_repetition && EndsWithRepetition(generated)) return "repetition";
  return "";
}

bool StopCriteria::EndsWithRepetition(std::span<const int32_t> tokens, int window, int repeats) {
  if (tokens.size() < 10) return false;
  const std::span<const int32_t> tail = tokens.subspan(tokens.size() - std::min<size_t>(tokens.size(), static_cast<size_t>(window)));
  const size_t m = tail.size();
  for (size_t n = 2; n <= 10; ++n) {
    const size_t span = n * static_cast<size_t>(repeats);
    if (span > m) break;
    bool periodic = true;
    for (size_t i = m - span; i + n < m && periodic; ++i) periodic = tail[i] == tail[i + n];
    if (periodic) return true;
  }
  return false;
}

}  // namespace kvpress
