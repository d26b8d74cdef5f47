// A one-line progress indicator on stderr (only when stderr is a terminal): tokens, tokens/s and
// the press, redrawn in place. Never writes to stdout.
#pragma once

#include <string>

namespace kvpress::cli {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  // Redraws at most ~10 times a second.
  void Update(int tokens, const std::string& press);
  // Clears the line.
  void Finish();

 private:
  bool enabled_;
  double start_;
  double last_draw_ = 0;
  bool drawn_ = false;
};

}  // namespace kvpress::cli
