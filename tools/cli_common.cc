#include "tools/cli_common.h"

#include <csignal>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <sstream>

namespace kvpress::cli {
namespace {

std::atomic<bool> g_cancel{false};
void RaiseCancel(int) { g_cancel = true; }

}  // namespace

const std::atomic<bool>& CancelOnSignals(bool sigterm) {
  std::signal(SIGINT, RaiseCancel);
  if (sigterm) std::signal(SIGTERM, RaiseCancel);
  return g_cancel;
}

int ReportError(const std::string& command, const Status& s) {
  std::fputs(fmt::format("kvpress {}: error: {}\n", command, s.message()).c_str(), stderr);
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kInternal: return kExitInternal;
    case StatusCode::kCancelled: return kExitCancelled;
    default: return kExitBadInput;
  }
}

StatusOr<std::vector<int32_t>> ParseIdList(const std::string& text, const std::string& flag) {
  std::vector<int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int64_t v = -1;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size() || item.empty() || v < 0 || v > INT32_MAX) {
      return InvalidArgument(fmt::format("{}: '{}' is not a token id", flag, item));
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

void AddPrefillChunkFlag(CLI::App* cmd, int& chunk) {
  cmd->add_option("--prefill-chunk", chunk,
                  "Compress after every N prompt tokens: KV peak <= budget + N slots per head (default 0 = whole prompt)")
      ->check(CLI::NonNegativeNumber);
}

void AddMmapFlag(CLI::App* cmd, bool& mmap) {
  cmd->add_flag("--mmap", mmap,
                "Read the weights in place from the file mapping (shared between processes, evictable) "
                "instead of copying them into huge-page memory (faster decoding)");
}

}  // namespace kvpress::cli
