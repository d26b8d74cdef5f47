#include "eval/dataset.h"

#include <set>

#include "core/log.h"
#include "eval/json_rows.h"
#include "eval/prompts.h"

namespace kvpress::eval {

using nlohmann::json;

namespace {

constexpr size_t kLoggedSkips = 5;

std::string RowId(const DatasetSpec& spec, const json& row, size_t index) {
  for (const char* key : {"id", "unique_id", "query_id", "qid", "id_string"}) {
    auto it = row.find(key);
    if (it == row.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_integer()) return std::to_string(it->get<long long>());
  }
  return spec.key + "-" + std::to_string(index);
}

// AIME 2025's local file has LaTeX backslashes decoded as JSON escapes (\f, \t; see its
// SOURCES.md); put them back so the prompt carries "\frac" and "\triangle".
void RepairControlEscapes(json& row) {
  for (auto& [key, value] : row.items()) {
    if (!value.is_string()) continue;
    std::string s = value.get<std::string>(), fixed;
    bool changed = false;
    for (char c : s) {
      if (c == '\f') { fixed += "\\f"; changed = true; }
      else if (c == '\t') { fixed += "\\t"; changed = true; }
      else fixed += c;
    }
    if (changed) value = fixed;
  }
}

}  // namespace

Dataset BuildDataset(const DatasetSpec& spec, const std::vector<json>& rows) {
  Dataset ds;
  ds.spec = spec;
  ds.rows_read = rows.size();
  std::set<std::string> ids;  // sample ids key result rows (resume): keep them unique
  for (size_t i = 0; i < rows.size(); ++i) {
    json row = rows[i];
    if (spec.kind == DatasetKind::kAime25 && row.is_object()) RepairControlEscapes(row);
    StatusOr<FormattedRow> f = FormatRow(spec.kind, row);
    if (!f.ok()) {
      ++ds.skipped;
      ds.skip_reasons.push_back("row " + std::to_string(i) + ": " + f.status().message());
      if (ds.skip_reasons.size() <= kLoggedSkips)
        Log(LogLevel::kWarning, "{}: skipping {}", spec.key, ds.skip_reasons.back());
      continue;
    }
    Sample s;
    s.id = RowId(spec, row, i);
    if (!ids.insert(s.id).second) {  // a repeated id field: disambiguate by row index
      s.id += "#row" + std::to_string(i);
      ids.insert(s.id);
    }
    s.prompt = std::move(f->prompt);
    s.gold = std::move(f->gold);
    s.golds = std::move(f->golds);
    s.context = std::move(f->context);
    s.question = std::move(f->question);
    s.answer_prefix = std::move(f->answer_prefix);
    s.max_new_tokens = f->max_new_tokens;
    if (!f->metric.empty() && row.is_object()) row["metric"] = f->metric;
    s.metadata = std::move(row);
    ds.samples.push_back(std::move(s));
  }
  if (ds.skipped > 0)
    Log(LogLevel::kWarning, "{}: skipped {} of {} rows ({} usable)", spec.key, ds.skipped, rows.size(),
        ds.samples.size());
  return ds;
}

StatusOr<Dataset> LoadDatasetFile(const DatasetSpec& spec, const std::string& path) {
  ASSIGN_OR_RETURN(JsonRows parsed, ReadJsonRows(path));
  for (const std::string& bad : parsed.bad_lines)
    Log(LogLevel::kWarning, "{}: {}: skipping {}", spec.key, path, bad);
  Dataset ds = BuildDataset(spec, parsed.rows);
  ds.skipped += parsed.bad_lines.size();
  for (const std::string& bad : parsed.bad_lines) ds.skip_reasons.push_back(bad);
  return ds;
}

StatusOr<std::string> LocalDatasetPath(const DatasetSpec& spec, const std::string& datasets_dir) {
  if (spec.local_file.empty())
    return NotFound("dataset '" + spec.key + "' has no local file; pass --data-file or use " +
                    (spec.hf_id.empty() ? std::string("a JSONL file") : spec.hf_id));
  return datasets_dir + "/" + spec.local_file;
}

}  // namespace kvpress::eval
