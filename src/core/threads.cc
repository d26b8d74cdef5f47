#include "core/threads.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace kvpress {

int MaxThreads() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(8, 4 * cores);
}

Status CheckThreads(long long threads, const std::string& what) {
  if (threads >= 0 && threads <= MaxThreads()) return Status::Ok();
  return InvalidArgument(fmt::format("{}: {} is outside [0, {}] (0 = all cores; the limit is 4 x this machine's {} "
                                     "hardware threads, at least 8)",
                                     what, threads, MaxThreads(), std::thread::hardware_concurrency()));
}

}  // namespace kvpress
