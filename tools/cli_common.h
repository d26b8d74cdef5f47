// Shared pieces of the kvpress sub-commands: exit codes and error reporting.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace CLI {
class App;
}

namespace kvpress::cli {

// DESIGN.md: 0 ok, 1 usage error, 2 bad input, 3 internal error.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitInternal = 3;
constexpr int kExitCancelled = 130;  // stopped by SIGINT/SIGTERM (128 + SIGINT, as shells report it)

// Prints "kvpress <command>: error: <message>" to stderr and returns the exit code for `s`.
int ReportError(const std::string& command, const Status& s);

// Installs handlers for SIGINT (and SIGTERM when `sigterm`) that raise one process-wide flag,
// and returns it: long-running commands poll it to stop cleanly (exit code 130).
const std::atomic<bool>& CancelOnSignals(bool sigterm);

// Parses "1,2,3" into ids. InvalidArgument naming `flag` on malformed input.
StatusOr<std::vector<int32_t>> ParseIdList(const std::string& text, const std::string& flag);

// Adds --prefill-chunk N (>= 0) to `cmd`, stored in `chunk`: prefill in pieces of N prompt tokens
// with the press compressing after each (ForwardPrefill; 0 = the whole prompt, then compress).
void AddPrefillChunkFlag(CLI::App* cmd, int& chunk);

// Adds --mmap to `cmd`, stored in `mmap`: read the weights in place from the file mapping instead
// of copying them into huge-page memory (LoadOptions::huge_pages = !mmap).
void AddMmapFlag(CLI::App* cmd, bool& mmap);

}  // namespace kvpress::cli
