#include "tools/progress.h"

#include <fmt/format.h>

#include <cstdio>

#include "core/timer.h"

namespace kvpress::cli {

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled), start_(NowSeconds()) {}

void ProgressLine::Update(int tokens, const std::string& press) {
  if (!enabled_) return;
  const double now = NowSeconds();
  if (now - last_draw_ < 0.1) return;
  last_draw_ = now;
  const double rate = tokens / std::max(1e-9, now - start_);
  std::fputs(fmt::format("\r\033[K[{} tokens, {:.1f} tok/s, cache {} slots/head {:.1f} MB, press {}]", tokens, rate,
                         cache_slots_, cache_bytes_ / 1e6, press).c_str(), stderr);
  drawn_ = true;
}

void ProgressLine::Finish() {
  if (enabled_ && drawn_) std::fputs("\r\033[K", stderr);
}

}  // namespace kvpress::cli
