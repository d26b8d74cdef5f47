#include "hub/download_progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace kvpress::hub {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

DownloadProgress::DownloadProgress(std::string label, bool enabled, int64_t resumed_from)
    : label_(std::move(label)),
      enabled_(enabled && ::isatty(STDERR_FILENO) != 0),
      start_(Now()),
      resumed_from_(resumed_from) {}

DownloadProgress::~DownloadProgress() {
  if (drawn_) std::fputs("\n", stderr);
}

void DownloadProgress::Update(int64_t done, int64_t total) {
  constexpr double kMiB = 1024.0 * 1024.0;
  if (!enabled_ || (total >= 0 && total < 1024 * 1024) || done == last_done_) return;
  const double now = Now();
  const bool finished = total > 0 && done >= total;
  if (!finished && last_draw_ >= 0 && now - last_draw_ < 0.1) return;
  last_draw_ = now;
  last_done_ = done;
  const double rate =
      static_cast<double>(done - resumed_from_) / kMiB / std::max(now - start_, 1e-3);
  std::string bar;
  if (total > 0) {
    constexpr int kWidth = 24;
    const int filled = std::clamp(
        static_cast<int>(kWidth * static_cast<double>(done) / static_cast<double>(total)), 0,
        kWidth);
    bar.push_back('[');
    bar.append(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '.');
    bar += fmt::format("]  {:.1f}/{:.1f} MiB", done / kMiB, total / kMiB);
  } else {
    bar = fmt::format("{:.1f} MiB", done / kMiB);
  }
  std::fputs(fmt::format("\r\033[K{}  {}  {:.1f} MiB/s", label_, bar, rate).c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace kvpress::hub
