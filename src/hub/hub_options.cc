#include "hub/hub_options.h"

#include <fstream>
#include <sstream>

#include "core/env.h"

namespace kvpress::hub {
namespace {

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return Trim(ss.str());
}

}  // namespace

std::string HfHomeFromEnvironment() {
  if (const std::string h = GetEnv("HF_HOME"); !h.empty()) return ExpandHome(h);
  if (const std::string x = GetEnv("XDG_CACHE_HOME"); !x.empty())
    return ExpandHome(x) + "/huggingface";
  return GetEnv("HOME") + "/.cache/huggingface";
}

HubOptions HubOptionsFromEnvironment() {
  HubOptions o;
  const std::string home = HfHomeFromEnvironment();
  o.cache_dir = GetEnv("HF_HUB_CACHE").empty() ? home + "/hub" : ExpandHome(GetEnv("HF_HUB_CACHE"));
  if (std::string e = GetEnv("HF_ENDPOINT"); !e.empty()) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    o.endpoint = e;
  }
  o.token = Trim(GetEnv("HF_TOKEN"));
  if (o.token.empty()) {
    const std::string token_path = GetEnv("HF_TOKEN_PATH");
    o.token = ReadTokenFile(token_path.empty() ? home + "/token" : ExpandHome(token_path));
  }
  o.offline = EnvFlagTrue("HF_HUB_OFFLINE");
  o.progress = !EnvFlagTrue("HF_HUB_DISABLE_PROGRESS_BARS");
  return o;
}

}  // namespace kvpress::hub
