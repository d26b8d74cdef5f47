// Dataset rows by Hugging Face dataset id: fetched page by page from the datasets-server `/rows`
// API (https://datasets-server.huggingface.co), cached as JSON Lines under the HF home, and read
// back from that cache without any network access (also in offline mode).
//
// Cache layout (one directory per dataset id, '/' written as "--"):
//   <cache_dir>/<org>--<name>/<config or "default">/<split>.jsonl           one row object per line
//   <cache_dir>/<org>--<name>/<config or "default">/<split>.jsonl.complete  JSON marker
// Both files are written atomically, the rows first. The marker records the row count, the
// file's size in bytes and the split's total; a rows file without a marker, or one that does not
// match its marker (truncated, edited), is never used: it is fetched again.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/dataset.h"
#include "eval/dataset_spec.h"

namespace kvpress::eval {

// Where rows come from and where they are cached.
struct HfRowsOptions {
  std::string datasets_server = "https://datasets-server.huggingface.co";  // no trailing '/'
  std::string cache_dir;  // rows cache root; "" = no cache (always fetch, never write)
  std::string token;      // sent as "Authorization: Bearer <token>" when set
  bool offline = false;   // cache only: never open a connection
  long timeout_s = 60;    // a request that moves no byte for this long fails
  int page_size = 100;    // rows per request, clamped to [1, 100] (the server's maximum)
  size_t max_rows = 0;    // 0 = the whole split; else at most this many rows (the first ones)
  int max_retries = 4;    // retries of a 429 / 502 / 503 / 504 reply, per request
  double retry_backoff_s = 1.0;  // wait before retry k (k = 0, 1, ...): backoff * 2^k, or the
                                 // server's Retry-After (capped at 30 s) when it sends one
};

// Options from the environment:
//   cache_dir:       $HF_DATASETS_CACHE/kvpress-rows when set, else
//                    $HF_HOME/datasets/kvpress-rows (HF_HOME as hub::HfHomeFromEnvironment());
//   datasets_server: $KVPRESS_DATASETS_SERVER (a mirror or a test server), else the default;
//   token:           as hub::HubOptionsFromEnvironment() ($HF_TOKEN, $HF_TOKEN_PATH, token file);
//   offline:         $HF_HUB_OFFLINE or $HF_DATASETS_OFFLINE in {1, true, yes, on}.
HfRowsOptions HfRowsOptionsFromEnvironment();

// The cached rows file of (dataset_id, config, split) under `cache_dir` (which need not exist):
// "<cache_dir>/<id with '/' -> '--'>/<config or "default">/<split>.jsonl".
std::string HfRowsCachePath(const std::string& cache_dir, const std::string& dataset_id,
                            const std::string& config, const std::string& split);

// The rows (the `row` objects, in row order) of split `split` of config `config` of dataset
// `dataset_id` (e.g. "openai/gsm8k", "main", "test").
//   * A complete cache entry holding the requested rows (all of them, or at least max_rows) is
//     returned without any network access.
//   * Otherwise, unless offline, the rows are fetched with
//     GET {server}/rows?dataset=..&config=..&split=..&offset=..&length=.. until num_rows_total
//     (or max_rows) rows are in, logging "fetching rows 300/1319 of openai/gsm8k" at info level
//     per page, and written to the cache. An empty `config` is resolved with
//     GET {server}/splits?dataset=.. (the first config that has `split`); the cache entry keeps
//     the requested name ("default"). A page with truncated cells is fetched again in smaller
//     pages; a single row the server still truncates is a DataLoss.
// Errors: InvalidArgument for an empty id or split; NotFound when offline and not cached (naming
// the dataset and the cache path, suggesting --data-file), for an unknown dataset / config /
// split (HTTP 404; the message mentions gated or private datasets and HF_TOKEN);
// FailedPrecondition for 401/403 (gated or private: set HF_TOKEN), other HTTP errors (naming the
// URL and the status, after retries for 429/5xx) and network errors; DataLoss for a malformed
// reply. A failure to write the cache is logged as a warning, not an error.
StatusOr<std::vector<nlohmann::json>> FetchHfRows(const std::string& dataset_id,
                                                  const std::string& config,
                                                  const std::string& split,
                                                  const HfRowsOptions& options);

// FetchHfRows(spec.hf_id, spec.hf_config, spec.hf_split, options), then BuildDataset.
// InvalidArgument when the spec has no Hugging Face id (generic jsonl: it needs --data-file).
StatusOr<Dataset> LoadDatasetFromHub(const DatasetSpec& spec, const HfRowsOptions& options);

}  // namespace kvpress::eval
