#include "eval/hf_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>
#include <thread>

#include "core/json_parse.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/log.h"
#include "eval/result_file.h"
#include "hub/http_client.h"
#include "hub/hub_options.h"
#include "hub/repo_id.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;

constexpr int kMarkerFormat = 1;
constexpr size_t kMaxReplyBytes = size_t{256} << 20;  // a /rows page is a few MB at most
constexpr double kMaxRetryAfterS = 30.0;

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string CacheConfigName(const std::string& config) {
  return config.empty() ? "default" : config;
}

// A dataset id, config or split name that is safe as a path component.
bool SafeComponent(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find_first_of("/\\") == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

Status ValidateNames(const std::string& id, const std::string& config, const std::string& split) {
  const size_t slash = id.find('/');
  const bool id_ok = slash == std::string::npos
                         ? SafeComponent(id)
                         : SafeComponent(std::string_view(id).substr(0, slash)) &&
                               SafeComponent(std::string_view(id).substr(slash + 1));
  if (!id_ok)
    return InvalidArgument("'" + id + "' is not a Hugging Face dataset id (expected org/name)");
  if (!config.empty() && !SafeComponent(config))
    return InvalidArgument("invalid dataset config name '" + config + "' for " + id);
  if (!SafeComponent(split)) return InvalidArgument("invalid split name '" + split + "' for " + id);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Cache

struct CacheRead {
  std::optional<std::vector<json>> rows;  // set when the entry serves the request
  std::string why_not;                    // otherwise: why (for messages), "" when absent
};

// Reads the cache entry at `path` and decides whether it holds the requested rows.
CacheRead ReadCache(const std::string& path, size_t max_rows) {
  CacheRead out;
  if (!FileExists(path)) return out;
  auto marker_text = ReadFileToString(path + ".complete");
  if (!marker_text.ok()) {
    out.why_not = "incomplete (no completion marker)";
    return out;
  }
  const json marker = json::parse(*marker_text, nullptr, /*allow_exceptions=*/false);
  if (marker.is_discarded() || !marker.is_object() || marker.value("format", 0) != kMarkerFormat ||
      !marker.contains("rows") || !marker["rows"].is_number_unsigned() ||
      !marker.contains("bytes") || !marker["bytes"].is_number_unsigned() ||
      !marker.contains("num_rows_total") || !marker["num_rows_total"].is_number_unsigned()) {
    out.why_not = "unreadable completion marker";
    return out;
  }
  const size_t n = marker["rows"].get<size_t>();
  const size_t total = marker["num_rows_total"].get<size_t>();
  if (n < total && (max_rows == 0 || n < max_rows)) {
    out.why_not = fmt::format("holds only the first {} of {} rows", n, total);
    return out;
  }
  auto text = ReadFileToString(path);
  if (!text.ok() || text->size() != marker["bytes"].get<size_t>()) {
    out.why_not = "size does not match its completion marker (truncated or modified)";
    return out;
  }
  std::vector<json> rows;
  rows.reserve(n);
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    const std::string_view line(text->data() + pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    StatusOr<json> row = ParseJson(line, path);
    if (!row.ok() || !row->is_object()) {
      out.why_not = fmt::format("line {} is not a JSON object", rows.size() + 1);
      return out;
    }
    rows.push_back(std::move(row).value());
  }
  if (rows.size() != n) {
    out.why_not = fmt::format("holds {} rows, its completion marker says {}", rows.size(), n);
    return out;
  }
  if (max_rows > 0 && rows.size() > max_rows) rows.resize(max_rows);
  out.rows = std::move(rows);
  return out;
}

// Writes rows then marker, each atomically; an old marker is removed first so that a crash
// between the two writes leaves an entry without a marker (never used).
Status WriteCache(const std::string& path, const std::vector<json>& rows, size_t total,
                  const std::string& id, const std::string& config, const std::string& split) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return NotFound(path + ": cannot create the cache directory: " + ec.message());
  std::filesystem::remove(path + ".complete", ec);
  const std::string text = JsonLinesText(rows);
  RETURN_IF_ERROR(WriteFileAtomic(path, text));
  const json marker = {{"format", kMarkerFormat}, {"dataset", id},       {"config", config},
                       {"split", split},          {"rows", rows.size()}, {"bytes", text.size()},
                       {"num_rows_total", total}};
  return WriteFileAtomic(path + ".complete", marker.dump(2) + "\n");
}

// ---------------------------------------------------------------------------------------------
// The datasets-server API

class RowsApi {
 public:
  RowsApi(const HfRowsOptions& o, std::string id)
      : options_(o),
        server_(StripSlashes(o.datasets_server)),
        id_(std::move(id)),
        http_(ClientOptions(o)) {}

  // GET {server}{path_and_query} as JSON, retrying 429/502/503/504. `what` names the request
  // ("config 'main', split 'test'") in a 404 message.
  StatusOr<json> Get(const std::string& path_and_query, const std::string& what) const {
    const std::string url = server_ + path_and_query;
    for (int attempt = 0;; ++attempt) {
      auto r = http_.Get(url, kMaxReplyBytes);
      if (!r.ok()) {
        return Status(r.status().code(),
                      r.status().message() + " (fetching rows of dataset " + id_ +
                          "; without network, use a cached copy or pass --data-file)");
      }
      const long code = r->status;
      if (code >= 200 && code < 300) {
        if (r->body.size() >= kMaxReplyBytes)
          return DataLoss(fmt::format("{}: reply larger than {} bytes", url, kMaxReplyBytes));
        StatusOr<json> j = ParseJson(r->body, url);
        if (!j.ok() || !j->is_object())
          return DataLoss(
              fmt::format("{}: the reply is not a JSON object: '{}'", url, r->body.substr(0, 200)));
        return j;
      }
      const bool transient = code == 429 || code == 502 || code == 503 || code == 504;
      if (transient && attempt < options_.max_retries) {
        double wait = options_.retry_backoff_s * static_cast<double>(1 << std::min(attempt, 10));
        if (const std::string ra = r->Header("retry-after"); !ra.empty()) {
          char* end = nullptr;
          const double s = std::strtod(ra.c_str(), &end);
          if (end != ra.c_str() && s >= 0) wait = std::min(s, kMaxRetryAfterS);
        }
        Log(LogLevel::kInfo, "{}: HTTP {}, retrying in {:.1f} s ({}/{})", url, code, wait,
            attempt + 1, options_.max_retries);
        std::this_thread::sleep_for(std::chrono::duration<double>(wait));
        continue;
      }
      return HttpError(url, code, ErrorText(r->body), what, attempt);
    }
  }

  const std::string& server() const { return server_; }

 private:
  static hub::HttpClientOptions ClientOptions(const HfRowsOptions& o) {
    hub::HttpClientOptions h;
    if (!o.token.empty()) h.headers.push_back("Authorization: Bearer " + o.token);
    h.headers.push_back("Accept: application/json");
    const long t = std::max(1L, o.timeout_s);
    h.connect_timeout_s = std::min(20L, t);
    h.stall_timeout_s = t;
    return h;
  }

  // The server's {"error": "..."} text, else the start of the body (no final '.').
  static std::string ErrorText(const std::string& body) {
    const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    std::string s =
        !j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()
            ? j["error"].get<std::string>()
            : body.substr(0, 200);
    while (!s.empty() && (s.back() == '.' || std::isspace(static_cast<unsigned char>(s.back()))))
      s.pop_back();
    return s.empty() ? "(empty reply)" : s;
  }

  Status HttpError(const std::string& url, long code, const std::string& text,
                   const std::string& what, int retries) const {
    const std::string token_hint =
        options_.token.empty()
            ? "no token was sent: set HF_TOKEN (or log in with `huggingface-cli login`)"
            : "a token was sent: check that it has access to the dataset";
    if (code == 401 || code == 403) {
      return FailedPrecondition(
          fmt::format("{}: HTTP {}: {}. Dataset {} may be gated or private: request access on "
                      "https://huggingface.co/datasets/{} and authenticate; {}",
                      url, code, text, id_, id_, token_hint));
    }
    if (code == 404) {
      return NotFound(fmt::format(
          "dataset {} ({}) not found: {}: HTTP 404: {}. Check the id, config and split; a gated "
          "or private dataset also answers 404 without access; {}",
          id_, what, url, text, token_hint));
    }
    if (code == 429) {
      return FailedPrecondition(fmt::format(
          "{}: HTTP 429 (rate limited) after {} retries: {}. Wait and retry{}", url, retries, text,
          options_.token.empty() ? ", or set HF_TOKEN (authenticated requests get higher limits)"
                                 : ""));
    }
    return FailedPrecondition(fmt::format("{}: HTTP {}: {}", url, code, text));
  }

  const HfRowsOptions& options_;
  std::string server_;
  std::string id_;
  hub::HttpClient http_;
};

// The first config of the dataset that has `split` (GET /splits).
StatusOr<std::string> ResolveConfig(const RowsApi& api, const std::string& id,
                                    const std::string& split) {
  ASSIGN_OR_RETURN(json reply, api.Get("/splits?dataset=" + hub::UrlEncode(id), "its splits"));
  if (!reply.contains("splits") || !reply["splits"].is_array())
    return DataLoss(api.server() + "/splits?dataset=" + id + ": no \"splits\" array in the reply");
  std::string seen;
  for (const json& s : reply["splits"]) {
    if (!s.is_object() || !s.contains("config") || !s["config"].is_string()) continue;
    const std::string config = s["config"].get<std::string>();
    const std::string name = s.value("split", std::string());
    if (name == split) return config;
    seen += (seen.empty() ? "" : ", ") + config + "/" + name;
  }
  return NotFound(fmt::format("dataset {} has no split '{}' in any config; it has: {}", id, split,
                              seen.empty() ? std::string("(none)") : seen));
}

// One /rows page appended to `rows`. Returns the server's num_rows_total, or sets `truncated`
// (and appends nothing) when the server truncated a cell of the page.
StatusOr<size_t> FetchPage(const RowsApi& api, const std::string& id, const std::string& config,
                           const std::string& split, size_t offset, size_t length,
                           std::vector<json>& rows, bool& truncated) {
  const std::string query =
      fmt::format("/rows?dataset={}&config={}&split={}&offset={}&length={}", hub::UrlEncode(id),
                  hub::UrlEncode(config), hub::UrlEncode(split), offset, length);
  ASSIGN_OR_RETURN(json page,
                   api.Get(query, fmt::format("config '{}', split '{}'", config, split)));
  const std::string url = api.server() + query;
  if (!page.contains("rows") || !page["rows"].is_array() || !page.contains("num_rows_total") ||
      !page["num_rows_total"].is_number_unsigned())
    return DataLoss(url + ": not a rows page (no \"rows\" array / \"num_rows_total\")");
  truncated = false;
  std::vector<json> got;
  for (json& item : page["rows"]) {
    if (!item.is_object() || !item.contains("row") || !item["row"].is_object())
      return DataLoss(url + ": a rows entry has no \"row\" object");
    const size_t expected = offset + got.size();
    if (item.contains("row_idx") &&
        (!item["row_idx"].is_number_unsigned() || item["row_idx"].get<size_t>() != expected))
      return DataLoss(fmt::format("{}: row_idx {} where row {} was expected", url,
                                  item["row_idx"].dump(), expected));
    if (item.contains("truncated_cells") && item["truncated_cells"].is_array() &&
        !item["truncated_cells"].empty()) {
      if (length == 1)
        return DataLoss(fmt::format(
            "{}: the server truncated cells {} of row {} of {}; fetch the dataset another way "
            "and pass --data-file",
            url, item["truncated_cells"].dump(), expected, id));
      truncated = true;
      return page["num_rows_total"].get<size_t>();
    }
    got.push_back(std::move(item["row"]));
  }
  for (json& r : got) rows.push_back(std::move(r));
  return page["num_rows_total"].get<size_t>();
}

}  // namespace

HfRowsOptions HfRowsOptionsFromEnvironment() {
  HfRowsOptions o;
  const hub::HubOptions hub = hub::HubOptionsFromEnvironment();
  const std::string datasets_cache = GetEnv("HF_DATASETS_CACHE");
  o.cache_dir = (datasets_cache.empty() ? hub::HfHomeFromEnvironment() + "/datasets"
                                        : ExpandHome(datasets_cache)) +
                "/kvpress-rows";
  if (std::string s = StripSlashes(GetEnv("KVPRESS_DATASETS_SERVER")); !s.empty())
    o.datasets_server = s;
  o.token = hub.token;
  o.offline = hub.offline || EnvFlagTrue("HF_DATASETS_OFFLINE");
  return o;
}

std::string HfRowsCachePath(const std::string& cache_dir, const std::string& dataset_id,
                            const std::string& config, const std::string& split) {
  std::string folder = dataset_id;
  for (size_t p = folder.find('/'); p != std::string::npos; p = folder.find('/', p + 2))
    folder.replace(p, 1, "--");
  return StripSlashes(cache_dir) + "/" + folder + "/" + CacheConfigName(config) + "/" + split +
         ".jsonl";
}

StatusOr<std::vector<json>> FetchHfRows(const std::string& dataset_id, const std::string& config,
                                        const std::string& split, const HfRowsOptions& options) {
  if (dataset_id.empty()) return InvalidArgument("empty Hugging Face dataset id");
  if (split.empty()) return InvalidArgument("no split given for dataset " + dataset_id);
  RETURN_IF_ERROR(ValidateNames(dataset_id, config, split));

  const bool cached = !options.cache_dir.empty();
  const std::string path =
      cached ? HfRowsCachePath(options.cache_dir, dataset_id, config, split) : std::string();
  const std::string where =
      fmt::format("{} (config '{}', split '{}')", dataset_id, CacheConfigName(config), split);
  CacheRead cache;
  if (cached) {
    cache = ReadCache(path, options.max_rows);
    if (cache.rows) {
      Log(LogLevel::kInfo, "using {} cached rows of {}: {}", cache.rows->size(), where, path);
      return std::move(*cache.rows);
    }
    if (!cache.why_not.empty())
      Log(LogLevel::kInfo, "cached rows of {} not used ({}): {}", where, cache.why_not, path);
  }
  if (options.offline) {
    return NotFound(fmt::format(
        "dataset {} is not cached{} and offline mode is on (HF_HUB_OFFLINE / "
        "HF_DATASETS_OFFLINE): expected {}. Pass --data-file FILE (JSON/JSONL rows), or unset "
        "HF_HUB_OFFLINE and HF_DATASETS_OFFLINE to download it",
        where, cache.why_not.empty() ? "" : " (the cached copy " + cache.why_not + ")",
        cached ? path : std::string("(no cache directory configured)")));
  }

  RowsApi api(options, dataset_id);
  std::string resolved = config;
  if (resolved.empty()) {
    ASSIGN_OR_RETURN(resolved, ResolveConfig(api, dataset_id, split));
    Log(LogLevel::kInfo, "dataset {}: split '{}' found in config '{}'", dataset_id, split,
        resolved);
  }
  const size_t page_size = static_cast<size_t>(std::clamp(options.page_size, 1, 100));
  size_t length = page_size;
  std::optional<size_t> total;
  std::vector<json> rows;
  while (true) {
    size_t want = options.max_rows > 0 ? options.max_rows : SIZE_MAX;
    if (total) want = std::min(want, *total);
    if (rows.size() >= want) break;
    const size_t before = rows.size();
    const size_t len = std::min(length, want - before);
    bool truncated = false;
    ASSIGN_OR_RETURN(const size_t n,
                     FetchPage(api, dataset_id, resolved, split, before, len, rows, truncated));
    total = n;
    if (truncated) {
      length = std::max<size_t>(1, len / 2);
      Log(LogLevel::kInfo, "{}: the server truncated cells at row {}; fetching {} rows per page",
          dataset_id, before, length);
      continue;
    }
    const size_t goal = options.max_rows > 0 ? std::min(options.max_rows, n) : n;
    if (rows.size() == before && before < goal)
      return DataLoss(
          fmt::format("{}/rows: no rows returned at offset {} of {} (num_rows_total "
                      "{}); the split may be changing or unavailable",
                      api.server(), before, dataset_id, n));
    Log(LogLevel::kInfo, "fetching rows {}/{} of {}", std::min(rows.size(), goal), goal,
        dataset_id);
  }
  if (options.max_rows > 0 && rows.size() > options.max_rows) rows.resize(options.max_rows);
  if (cached) {
    Status st = WriteCache(path, rows, total.value_or(rows.size()), dataset_id, resolved, split);
    if (!st.ok())
      Log(LogLevel::kWarning, "could not cache the rows of {}: {}", where, st.ToString());
  }
  return rows;
}

StatusOr<Dataset> LoadDatasetFromHub(const DatasetSpec& spec, const HfRowsOptions& options) {
  if (spec.hf_id.empty())
    return InvalidArgument("dataset '" + spec.key +
                           "' has no Hugging Face id; it needs --data-file FILE (JSON/JSONL rows)");
  ASSIGN_OR_RETURN(std::vector<json> rows,
                   FetchHfRows(spec.hf_id, spec.hf_config, spec.hf_split, options));
  if (rows.empty())
    return DataLoss(fmt::format("dataset {} (split '{}') has no rows", spec.hf_id, spec.hf_split));
  return BuildDataset(spec, rows);
}

}  // namespace kvpress::eval
