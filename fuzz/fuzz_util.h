// Helpers for the libFuzzer targets: most loaders read files, so an input is written to a scratch
// file of this process first.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace kvpress::fuzz {

// "/tmp/kvpress-fuzz-<pid>-<name>" holding `data` (rewritten on every call).
inline std::string ScratchFile(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = "/tmp/kvpress-fuzz-" + std::to_string(::getpid()) + "-" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f != nullptr) {
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

// A scratch directory "/tmp/kvpress-fuzz-<pid>-<name>/" (created once).
inline std::string ScratchDir(const std::string& name) {
  const std::string dir = "/tmp/kvpress-fuzz-" + std::to_string(::getpid()) + "-" + name;
  ::mkdir(dir.c_str(), 0755);  // exists after the first call
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
