#include "hub/repo_id.h"

#include <fmt/format.h>

#include <array>

namespace kvpress::hub {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool IsValidPart(const std::string& p) {
  if (p.empty() || p.size() > 96 || p[0] == '.' || p[0] == '-') return false;
  if (p.find("..") != std::string::npos || p.find("--") != std::string::npos) return false;
  for (char c : p) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsValidRevision(const std::string& r) {
  if (r.empty() || r.size() > 256 || r[0] == '/' || r.find("..") != std::string::npos) return false;
  for (char c : r) {
    if (!IsNameChar(c) && c != '/') return false;
  }
  return true;
}

}  // namespace

bool LooksLikeRepoId(const std::string& s) { return ParseRepoId(s).ok(); }

StatusOr<RepoId> ParseRepoId(const std::string& s) {
  const auto bad = [&](const std::string& why) {
    return InvalidArgument(
        fmt::format("'{}' is not a Hugging Face model id (org/name[@revision]): {}", s, why));
  };
  std::string id = s;
  RepoId repo;
  if (const size_t at = s.find('@'); at != std::string::npos) {
    id = s.substr(0, at);
    repo.revision = s.substr(at + 1);
    if (!IsValidRevision(repo.revision)) return bad("bad revision '" + repo.revision + "'");
  }
  const size_t slash = id.find('/');
  if (slash == std::string::npos || id.find('/', slash + 1) != std::string::npos) {
    return bad("expected exactly one '/'");
  }
  repo.org = id.substr(0, slash);
  repo.name = id.substr(slash + 1);
  if (!IsValidPart(repo.org) || !IsValidPart(repo.name))
    return bad("bad characters in the org or name");
  for (const char* ext : {".gguf", ".bin", ".safetensors", ".json"}) {
    if (EndsWith(repo.name, ext))
      return bad(fmt::format("the name ends in '{}', like a local file", ext));
  }
  return repo;
}

std::string RepoFolderName(const RepoId& repo) { return "models--" + repo.org + "--" + repo.name; }

bool IsCommitSha(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '_' || c == '~' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string UrlEncodePath(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    out += UrlEncode(
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

}  // namespace kvpress::hub
