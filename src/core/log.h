// Minimal leveled logging to stderr (stdout is reserved for machine-readable output).
#pragma once

#include <fmt/core.h>

#include <cstdio>

namespace kvpress {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kQuiet = 4 };

// Process-wide threshold; messages below it are dropped. Default: kWarning.
LogLevel& GlobalLogLevel();

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (level < GlobalLogLevel()) return;
  static const char* kTags[] = {"debug", "info", "warning", "error"};
  std::fputs(fmt::format("[kvpress {}] {}\n", kTags[static_cast<int>(level)],
                         fmt::format(f, std::forward<Args>(args)...))
                 .c_str(),
             stderr);
}

}  // namespace kvpress
