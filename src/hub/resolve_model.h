// `org/name[@revision]` -> a local Hugging Face model directory (the cache snapshot), downloading
// what the cache lacks.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "hub/hub_options.h"

namespace kvpress::hub {

struct ResolvedModel {
  std::string snapshot_dir;  // <cache>/models--org--name/snapshots/<commit>
  std::string commit;
  std::vector<std::string> files;  // repository paths present in the snapshot
};

// Makes sure the snapshot of `id` (`org/name[@revision]`, revision default "main") holds what
// LoadModel and LoadTokenizerFor need:
//   required: config.json, and model.safetensors or model.safetensors.index.json with every shard
//             its weight_map names;
//   optional: generation_config.json, tokenizer.json, tokenizer_config.json, chat_template.jinja
//             (and tokenizer.model, vocab.json, merges.txt when there is no tokenizer.json).
// Files already in the cache are used as they are: when the revision is known locally (a commit
// sha, or refs/<revision>) and every file is present or known absent (.no_exist), nothing touches
// the network. A cached branch is therefore not refreshed; delete refs/<revision> to re-resolve
// it. Errors (see FileFetcher::Fetch) name the repository and the file.
StatusOr<ResolvedModel> ResolveModel(const std::string& id, const HubOptions& options);

}  // namespace kvpress::hub
