// Hugging Face repository ids: `org/name[@revision]`, their cache folder names and URL forms.
#pragma once

#include <string>

#include "core/status.h"

namespace kvpress::hub {

struct RepoId {
  std::string org;                // "meta-llama"
  std::string name;               // "Llama-3.2-1B"
  std::string revision = "main";  // branch, tag, "refs/pr/1" or a 40-hex commit

  std::string Id() const { return org + "/" + name; }            // "org/name"
  std::string Display() const { return Id() + "@" + revision; }  // for messages
};

// True when `s` has the shape of a model id: exactly `org/name` or `org/name@revision`, each part
// made of [A-Za-z0-9._-] (not starting with '.' or '-'), and `name` not ending like a local model
// file (.gguf, .bin, .safetensors, .json). Says nothing about whether the repository exists.
bool LooksLikeRepoId(const std::string& s);

// Parses `org/name[@revision]`. InvalidArgument naming `s` when it is not one.
StatusOr<RepoId> ParseRepoId(const std::string& s);

// The repository's folder in the cache: "models--org--name".
std::string RepoFolderName(const RepoId& repo);

// True for a full 40-hex git commit sha.
bool IsCommitSha(const std::string& s);

// Percent-encodes every byte outside [A-Za-z0-9._~-] (so "refs/pr/1" -> "refs%2Fpr%2F1").
std::string UrlEncode(const std::string& s);

// Percent-encodes a repository file path, keeping its '/' separators.
std::string UrlEncodePath(const std::string& path);

}  // namespace kvpress::hub
