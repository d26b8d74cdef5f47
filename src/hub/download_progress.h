// A download progress bar on stderr, drawn only when stderr is a terminal:
//   "model.safetensors  [#######.......]  312.0/988.1 MiB  41.2 MiB/s"
#pragma once

#include <cstdint>
#include <string>

namespace kvpress::hub {

class DownloadProgress {
 public:
  // `enabled` is ANDed with isatty(stderr). `resumed_from`: bytes already on disk (not counted in
  // the rate). Files known to be under 1 MiB get no bar.
  DownloadProgress(std::string label, bool enabled, int64_t resumed_from);
  ~DownloadProgress();  // ends the line
  // Redraws at most ~10 times a second. total < 0 when unknown.
  void Update(int64_t done, int64_t total);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  double start_;
  double last_draw_ = -1;
  int64_t resumed_from_;
  int64_t last_done_ = -1;
};

}  // namespace kvpress::hub
