#include "tools/default_model.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "core/file_util.h"
#include "tools/bundled_model.h"

namespace kvpress::cli {
namespace {

// 64-bit FNV-1a: a content hash to name the cache directory (not a security measure; a changed
// bundle gets a new directory, so a stale extraction is never loaded).
uint64_t Fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string CacheRoot() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') return std::string(x) + "/kvpress";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return std::string(home) + "/.cache/kvpress";
  return fmt::format("/tmp/kvpress-{}", ::getuid());
}

}  // namespace

StatusOr<std::string> DefaultModelPath() {
  const std::vector<BundledFile> files = BundledModelFiles();
  if (files.empty()) return NotFound("--model is required (this build bundles no default model)");
  uint64_t h = 0xcbf29ce484222325ull;
  for (const BundledFile& f : files) h = Fnv1a(Fnv1a(h, f.name), f.bytes);
  // <cache>/<hash>/<name>: results and logs name the model by its last path component.
  const std::string dir = fmt::format("{}/{:016x}/{}", CacheRoot(), h, BundledModelName());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return NotFound(fmt::format("bundled model: cannot create {}: {} (pass --model)", dir, ec.message()));
  for (const BundledFile& f : files) {
    const std::string path = dir + "/" + f.name;
    // Files are written atomically, so one of the right size is complete.
    if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) == f.bytes.size()) continue;
    const Status s = WriteFileAtomic(path, std::string(f.bytes));
    if (!s.ok()) return NotFound(fmt::format("bundled model: {} (pass --model)", s.message()));
  }
  return dir;
}

StatusOr<std::string> ResolveModelArg(const std::string& arg) {
  std::error_code ec;
  if (arg.empty() || (arg == BundledModelName() && !std::filesystem::exists(arg, ec))) return DefaultModelPath();
  return arg;
}

std::string BundledModelLabel() { return BundledModelName(); }

}  // namespace kvpress::cli
