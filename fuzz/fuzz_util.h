// Helpers for the libFuzzer targets: most loaders read files, so an input is written to a scratch
// file of this process first, in memory (/dev/shm, a tmpfs) where there is one: a write to a disk
// file system cost more than most parsers do per input.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/log.h"

namespace kvpress::fuzz {

// Warnings the library logs about accepted inputs are per-input work the fuzzer does not need.
inline const bool kQuietLog = (GlobalLogLevel() = LogLevel::kQuiet, true);

// "/dev/shm/kvpress-fuzz-<pid>-" (or under /tmp without /dev/shm), the prefix of scratch paths.
inline const std::string& ScratchPrefix() {
  static const std::string prefix = [] {
    struct stat st {};
    const bool shm = ::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0;
    return std::string(shm ? "/dev/shm" : "/tmp") + "/kvpress-fuzz-" + std::to_string(::getpid()) + "-";
  }();
  return prefix;
}

// Registers a scratch path to be removed at exit (once per path; /dev/shm is memory).
inline void RemoveAtExit(const std::string& path) {
  static std::vector<std::string>* paths = [] {
    auto* v = new std::vector<std::string>();
    std::atexit([] {
      std::error_code ec;
      for (const std::string& p : *paths) std::filesystem::remove_all(p, ec);
    });
    return v;
  }();
  for (const std::string& p : *paths) {
    if (p == path) return;
  }
  paths->push_back(path);
}

// "<ScratchPrefix()><name>" holding `data` (rewritten on every call).
inline std::string ScratchFile(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = ScratchPrefix() + name;
  RemoveAtExit(path);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f != nullptr) {
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

// A scratch directory "<ScratchPrefix()><name>/" (created once).
inline std::string ScratchDir(const std::string& name) {
  const std::string dir = ScratchPrefix() + name;
  ::mkdir(dir.c_str(), 0755);  // exists after the first call
  RemoveAtExit(dir);
  return dir;
}

// Splits an input at the first "\n----\n" into two parts (e.g. a template and its messages).
inline std::pair<std::string_view, std::string_view> SplitInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t sep = all.find("\n----\n");
  if (sep == std::string_view::npos) return {all, {}};
  return {all.substr(0, sep), all.substr(sep + 6)};
}

// Tallies inputs the parser refused with a clean error (a non-ok Status); the totals are printed at
// exit as "kvpress-fuzz: inputs N, clean errors M" (scripts/fuzz.sh reads the line).
inline void Tally(bool clean_error) {
  static long inputs = 0, errors = 0;
  static const bool registered = [] {
    std::atexit([] { std::fprintf(stderr, "kvpress-fuzz: inputs %ld, clean errors %ld\n", inputs, errors); });
    return true;
  }();
  (void)registered;
  ++inputs;
  if (clean_error) ++errors;
}

}  // namespace kvpress::fuzz
