// A one-line progress indicator on stderr (only when stderr is a terminal): tokens, tokens/s and
// the press, redrawn in place. Never writes to stdout.
#pragma once

#include <cstddef>
#include <string>

namespace kvpress::cli {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  // Redraws at most ~10 times a second.
  void Update(int tokens, const std::string& press);
  // The KV cache size shown on the line (slots per head, bytes).
  void SetCache(int slots_per_head_max, size_t bytes) {
    cache_slots_ = slots_per_head_max;
    cache_bytes_ = bytes;
  }
  // Clears the line.
  void Finish();

 private:
  bool enabled_;
  double start_;
  double last_draw_ = 0;
  bool drawn_ = false;
  int cache_slots_ = 0;
  size_t cache_bytes_ = 0;
};

}  // namespace kvpress::cli
