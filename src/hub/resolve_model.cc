#include "hub/resolve_model.h"

#include <fmt/format.h>

#include <set>

#include "core/file_util.h"
#include "hub/file_fetcher.h"
#include "hub/repo_id.h"

namespace kvpress::hub {
namespace {

constexpr const char* kIndex = "model.safetensors.index.json";

bool IsSafeRepoPath(const std::string& p) {
  if (p.empty() || p[0] == '/' || p.find('\\') != std::string::npos) return false;
  size_t start = 0;
  while (start <= p.size()) {
    const size_t slash = p.find('/', start);
    const std::string part =
        p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

StatusOr<ResolvedModel> ResolveModel(const std::string& id, const HubOptions& options) {
  ASSIGN_OR_RETURN(const RepoId repo, ParseRepoId(id));
  if (options.cache_dir.empty())
    return InvalidArgument(repo.Id() + ": no Hugging Face cache directory (set HF_HOME)");
  FileFetcher fetcher(repo, options);
  ResolvedModel out;
  // Fetches `file`; "" when absent. A required file that is absent is an error.
  auto fetch = [&](const std::string& file, bool required) -> StatusOr<std::string> {
    ASSIGN_OR_RETURN(std::string path, fetcher.Fetch(file));
    if (!path.empty()) {
      out.files.push_back(file);
      return path;
    }
    if (!required) return path;
    if (options.offline) {
      return NotFound(fmt::format(
          "HF_HUB_OFFLINE is set and {} is not in the cache ({}); run once with network "
          "access, or unset HF_HUB_OFFLINE",
          file, fetcher.cache().SnapshotFile(fetcher.commit(), file)));
    }
    return NotFound(
        fmt::format("{}: the repository has no {} (a Hugging Face transformers model needs it)",
                    repo.Display(), file));
  };

  RETURN_IF_ERROR(fetch("config.json", true).status());
  for (const char* f : {"generation_config.json", "tokenizer_config.json", "chat_template.jinja"}) {
    RETURN_IF_ERROR(fetch(f, false).status());
  }
  ASSIGN_OR_RETURN(const std::string tokenizer_json, fetch("tokenizer.json", false));
  if (tokenizer_json.empty()) {
    for (const char* f : {"tokenizer.model", "vocab.json", "merges.txt"})
      RETURN_IF_ERROR(fetch(f, false).status());
  }

  // Weights: one file, or an index and its shards.
  ASSIGN_OR_RETURN(const std::string single, fetch("model.safetensors", false));
  if (single.empty()) {
    auto index_path = fetch(kIndex, false);
    if (!index_path.ok()) return index_path.status();
    if (index_path->empty()) {
      if (options.offline) {
        return NotFound(fmt::format(
            "HF_HUB_OFFLINE is set and neither model.safetensors nor {} of {} is in the "
            "cache ({}); run once with network access",
            kIndex, repo.Display(), fetcher.cache().SnapshotDir(fetcher.commit())));
      }
      return NotFound(
          fmt::format("{}: the repository has neither model.safetensors nor {} (only safetensors "
                      "weights are supported from the hub; for GGUF pass a local file)",
                      repo.Display(), kIndex));
    }
    ASSIGN_OR_RETURN(const nlohmann::json index, ReadJsonFile(*index_path));
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
      return DataLoss(*index_path + ": expected an object with a 'weight_map' object");
    }
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string() || !IsSafeRepoPath(shard.get<std::string>())) {
        return DataLoss(fmt::format("{}: weight_map['{}'] is not a file name in the repository",
                                    *index_path, tensor));
      }
      shards.insert(shard.get<std::string>());
    }
    for (const std::string& shard : shards) RETURN_IF_ERROR(fetch(shard, true).status());
  }
  out.commit = fetcher.commit();
  out.snapshot_dir = fetcher.cache().SnapshotDir(out.commit);
  return out;
}

}  // namespace kvpress::hub
