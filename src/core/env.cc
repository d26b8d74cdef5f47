#include "core/env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace kvpress {

std::string GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool EnvFlagTrue(const char* name) {
  std::string v = GetEnv(name);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::string ExpandHome(const std::string& path) {
  if (!path.empty() && path[0] == '~') return GetEnv("HOME") + path.substr(1);
  return path;
}

}  // namespace kvpress
