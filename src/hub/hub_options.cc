#include "hub/hub_options.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace kvpress::hub {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool EnvTrue(const char* name) {
  std::string v = Env(name);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::string ExpandHome(const std::string& p) {
  if (!p.empty() && p[0] == '~') return Env("HOME") + p.substr(1);
  return p;
}

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
  if (const std::string h = Env("HF_HOME"); !h.empty()) return ExpandHome(h);
  if (const std::string x = Env("XDG_CACHE_HOME"); !x.empty())
    return ExpandHome(x) + "/huggingface";
  return Env("HOME") + "/.cache/huggingface";
}

HubOptions HubOptionsFromEnvironment() {
  HubOptions o;
  const std::string home = HfHomeFromEnvironment();
  o.cache_dir = Env("HF_HUB_CACHE").empty() ? home + "/hub" : ExpandHome(Env("HF_HUB_CACHE"));
  if (std::string e = Env("HF_ENDPOINT"); !e.empty()) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    o.endpoint = e;
  }
  o.token = Trim(Env("HF_TOKEN"));
  if (o.token.empty()) {
    const std::string token_path = Env("HF_TOKEN_PATH");
    o.token = ReadTokenFile(token_path.empty() ? home + "/token" : ExpandHome(token_path));
  }
  o.offline = EnvTrue("HF_HUB_OFFLINE");
  o.progress = !EnvTrue("HF_HUB_DISABLE_PROGRESS_BARS");
  return o;
}

}  // namespace kvpress::hub
