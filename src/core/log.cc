#include "core/log.h"

namespace kvpress {

LogLevel& GlobalLogLevel() {
  static LogLevel level = LogLevel::kWarning;
  return level;
}

}  // namespace kvpress
