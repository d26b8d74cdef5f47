#include "eval/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "core/file_util.h"
#include "core/log.h"
#include "eval/longctx_report.h"
#include "eval/report_plots.h"
#include "eval/svg_plot.h"

namespace kvpress::eval {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kDash = "\u2014";  // "—": no budget (full cache)

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A Markdown table cell: pipes escaped, line breaks flattened.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

// A CSV field, quoted when it holds a separator, quote or line break (RFC 4180).
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Fixed(const std::optional<double>& v, int decimals) {
  return v ? fmt::format("{:.{}f}", *v, decimals) : std::string();
}

// Sort key of a row inside its group (see ReportGroup).
auto RowKey(const ScoreRow& r) {
  return std::make_tuple(!r.IsFull(), r.PressLabel(), r.compression_ratio, r.cache_budget, r.prefill_chunk,
                         r.Text("protocol"), r.Text("scoring"),
                         r.Number("random_seed"), r.score_file);
}


// "[0.503, 0.690]".
std::string CiText(const Interval& ci) { return fmt::format("[{:.3f}, {:.3f}]", ci.lo, ci.hi); }

// "0.600 [0.503, 0.690]": accuracy and its bootstrap interval (the accuracy alone without stats).
std::string AccuracyCell(const ScoreRow& r) {
  return r.stats ? fmt::format("{:.3f} {}", r.accuracy, CiText(r.stats->bootstrap)) : fmt::format("{:.3f}", r.accuracy);
}

std::string PText(double p) { return p < 0.001 ? "p<0.001" : fmt::format("p={:.3f}", p); }

// "-0.400 [-0.500, -0.310] p<0.001 *" ("*": significant after Holm), "baseline", or "n/a: why".
std::string CompareCell(const ScoreRow& r) {
  if (!r.comparison) return "baseline";
  const Comparison& c = *r.comparison;
  if (!c.unavailable.empty()) return "n/a: " + c.unavailable;
  std::string cell = fmt::format("{:+.3f} [{:+.3f}, {:+.3f}] {}{}", c.delta, c.delta_ci.lo, c.delta_ci.hi, PText(c.p),
                                 c.significant ? " *" : "");
  if (c.partial) cell += fmt::format(" (n={})", c.n_paired);
  return cell;
}

void AppendTable(const ReportGroup& g, std::string& md) {
  md += "| press | budget |";
  std::string align = "|:---|---:|";
  if (g.varies_protocol) md += " protocol |", align += ":---|";
  if (g.varies_seed) md += " seed |", align += "---:|";
  md += " n | accuracy [95% CI] | Wilson 95% |";
  align += "---:|---:|---:|";
  if (!g.compare_to.empty()) md += fmt::format(" \u0394 vs {} [95% CI] p |", Cell(g.compare_to)), align += "---:|";
  md += " mean output tokens | press ms/token | KV peak (max) |\n";
  md += align + "---:|---:|---:|\n";
  for (const ScoreRow& r : g.rows) {
    md += fmt::format("| {} | {} |", Cell(r.PressLabel()), r.CompressionLabel());
    if (g.varies_protocol) md += fmt::format(" {}/{} |", Cell(r.Text("protocol")), Cell(r.Text("scoring")));
    if (g.varies_seed) md += fmt::format(" {} |", Cell(r.Text("random_seed")));
    const std::optional<double> kv = r.Number("max_kv_bytes_peak");
    md += fmt::format(" {} | {} | {} |", Cell(r.Text("num_samples")), AccuracyCell(r),
                      r.stats ? CiText(r.stats->wilson) : "");
    if (!g.compare_to.empty()) md += fmt::format(" {} |", Cell(CompareCell(r)));
    md += fmt::format(" {} | {} | {} |\n", Fixed(r.Number("avg_output_tokens"), 1),
                      Fixed(r.Number("press_ms_per_token"), 3), kv ? HumanBytes(*kv) : "");
  }
}

// What the interval and comparison columns mean, under the table.
void AppendTableNotes(const ReportGroup& g, std::string& md) {
  if (!g.bootstrap && g.compare_to.empty()) return;
  md += "\nn = samples per run.";
  if (g.bootstrap) {
    md += fmt::format(
        " 95% CI: percentile bootstrap over samples ({} resamples, seed {}); Wilson: score interval, as a "
        "cross-check.",
        g.bootstrap->resamples, g.bootstrap->seed);
  }
  if (!g.compare_to.empty()) {
    size_t m = 0;
    for (const ScoreRow& r : g.rows) m += r.comparison && r.comparison->unavailable.empty();
    md += fmt::format(
        " \u0394 vs {0}: accuracy minus the {0} run's on the samples both answered (\"(n=...)\" when that is "
        "not all of them), paired bootstrap 95% CI, McNemar exact p (unadjusted); * = significant at {1} after "
        "Holm correction over the {2} comparison{3} of this table.",
        g.compare_to, g.alpha, m, m == 1 ? "" : "s");
  }
  md += "\n";
}

// Accuracy pivot: one row per press (and variant), one column per budget, full cache under "—".
// Two runs landing in one cell are both shown ("0.600 / 0.620"), never merged.
void AppendPivot(const ReportGroup& g, std::string& md) {
  // A column: (0, 0, 0) the full cache, (1, budget, chunk) budget mode, (2, ratio, 0) ratio mode.
  using Column = std::tuple<int, double, int64_t>;
  std::set<Column> columns;
  std::map<Column, std::string> headers;
  std::vector<std::string> labels;
  std::map<std::string, std::map<Column, std::vector<std::string>>> cells;  // label -> column -> values
  for (const ScoreRow& r : g.rows) {
    const std::string label = SeriesLabel(g, r);
    if (!cells.count(label)) labels.push_back(label);
    const Column col = r.IsFull()                   ? Column{0, 0.0, 0}
                       : r.compression_ratio > 0 ? Column{2, r.compression_ratio, 0}
                                                 : Column{1, static_cast<double>(r.cache_budget), r.prefill_chunk};
    cells[label][col].push_back(AccuracyCell(r));
    columns.insert(col);
    headers[col] = r.CompressionLabel();
  }
  const std::vector<Column> cols(columns.begin(), columns.end());
  md += "| press |";
  for (const Column& c : cols) md += fmt::format(" {} |", headers[c]);
  md += "\n|:---|";
  for (size_t i = 0; i < cols.size(); ++i) md += "---:|";
  md += "\n";
  for (const std::string& label : labels) {
    md += fmt::format("| {} |", Cell(label));
    for (const Column& c : cols) {
      auto it = cells[label].find(c);
      std::string v;
      if (it != cells[label].end()) {
        for (const std::string& s : it->second) v += (v.empty() ? "" : " / ") + s;
      }
      md += fmt::format(" {} |", v);
    }
    md += "\n";
  }
}

// The StatKeys() values of a row (null where unset).
json StatFields(const ScoreRow& r) {
  json j = json::object();
  for (const std::string& key : StatKeys()) j[key] = nullptr;
  if (r.stats) {
    j["correct"] = r.stats->correct;
    j["accuracy_ci_lo"] = r.stats->bootstrap.lo;
    j["accuracy_ci_hi"] = r.stats->bootstrap.hi;
    j["wilson_lo"] = r.stats->wilson.lo;
    j["wilson_hi"] = r.stats->wilson.hi;
  }
  if (r.comparison) {
    const Comparison& c = *r.comparison;
    j["compare_to"] = c.baseline_label.empty() ? json(nullptr) : json(c.baseline_label);
    if (c.unavailable.empty()) {
      j["n_paired"] = c.n_paired;
      j["mcnemar_b"] = c.b;
      j["mcnemar_c"] = c.c;
      j["delta"] = c.delta;
      j["delta_ci_lo"] = c.delta_ci.lo;
      j["delta_ci_hi"] = c.delta_ci.hi;
      j["p_mcnemar"] = c.p;
      j["p_holm"] = c.p_holm;
      j["significant"] = c.significant;
    }
  }
  return j;
}

// Row object for the JSON output: the score-file keys, the statistics, and where it came from.
json RowJson(const ScoreRow& r) {
  json j = r.fields;
  j.update(StatFields(r));
  j["score_file"] = r.score_file;
  return j;
}

}  // namespace

const std::vector<std::string>& StatKeys() {
  static const std::vector<std::string> keys = {
      "correct",   "accuracy_ci_lo", "accuracy_ci_hi", "wilson_lo", "wilson_hi",   "compare_to", "n_paired", "mcnemar_b",
      "mcnemar_c", "delta",          "delta_ci_lo",    "delta_ci_hi", "p_mcnemar", "p_holm",     "significant"};
  return keys;
}

const std::vector<std::string>& ScoreFileKeys() {
  static const std::vector<std::string> keys = {
      "dataset",          "model_name",        "press_name",        "press_spec",     "cache_budget",    "accuracy",
      "avg_score",        "num_samples",       "avg_output_tokens", "press_ms_per_token",
      "avg_kv_bytes_peak", "max_kv_bytes_peak", "avg_compression",   "protocol",       "scoring",
      "max_new_tokens",   "random_seed",       "result_file",       "avg_end_to_end_tokens_per_second"};
  return keys;
}

std::string ScoreRow::CompressionLabel() const {
  if (IsFull()) return kDash;
  if (compression_ratio > 0) return fmt::format("ratio {:.2f}", compression_ratio);
  return prefill_chunk > 0 ? fmt::format("{}, chunk {}", cache_budget, prefill_chunk) : std::to_string(cache_budget);
}

std::optional<double> ScoreRow::Number(const std::string& key) const {
  auto it = fields.find(key);
  if (it == fields.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string ScoreRow::Text(const std::string& key) const {
  auto it = fields.find(key);
  if (it == fields.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string ScoreRow::PressLabel() const {
  const std::string spec = Text("press_spec");
  return spec.empty() ? press_name : spec;
}

std::string ReportGroup::VariantLabel(const ScoreRow& row) const {
  std::string label;
  if (varies_protocol) {
    const std::string p = row.Text("protocol"), s = row.Text("scoring");
    label = fmt::format("{}/{}", p.empty() ? "?" : p, s.empty() ? "?" : s);
  }
  if (varies_seed) {
    const std::string seed = row.Text("random_seed");
    label += fmt::format("{}seed {}", label.empty() ? "" : ", ", seed.empty() ? "?" : seed);
  }
  return label;
}

StatusOr<ScoreRow> ParseScoreRow(const json& doc, const std::string& path) {
  if (!doc.is_object()) return DataLoss(path + ": not a JSON object");
  ScoreRow r;
  r.score_file = path;
  for (const char* key : {"dataset", "model_name", "press_name"}) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return DataLoss(fmt::format("{}: missing or non-string '{}'", path, key));
  }
  r.dataset = doc["dataset"].get<std::string>();
  r.model_name = doc["model_name"].get<std::string>();
  r.press_name = doc["press_name"].get<std::string>();
  auto budget = doc.find("cache_budget");
  if (budget == doc.end() || !budget->is_number() || budget->get<double>() != std::floor(budget->get<double>()) ||
      std::fabs(budget->get<double>()) > 1e15)
    return DataLoss(path + ": missing or non-integer 'cache_budget'");
  r.cache_budget = budget->is_number_float() ? static_cast<int64_t>(budget->get<double>()) : budget->get<int64_t>();
  auto acc = doc.find("accuracy");
  if (acc == doc.end() || !acc->is_number() || !std::isfinite(acc->get<double>()))
    return DataLoss(path + ": missing or non-numeric 'accuracy'");
  r.accuracy = acc->get<double>();
  if (auto ratio = doc.find("compression_ratio"); ratio != doc.end() && ratio->is_number()) {
    const double v = ratio->get<double>();
    r.compression_ratio = v > 0 && v < 1 ? v : 0.0;  // 1.0 / 0.0: no ratio mode
  }
  if (auto chunk = doc.find("prefill_chunk"); chunk != doc.end() && chunk->is_number_integer()) {
    r.prefill_chunk = chunk->get<int64_t>();
  }
  r.fields = json::object();
  for (const std::string& key : ScoreFileKeys()) {
    auto it = doc.find(key);
    if (it != doc.end() && it->is_structured())  // the report copies plain values only
      return DataLoss(fmt::format("{}: '{}' holds an {}, expected a string or number", path, key, it->type_name()));
    r.fields[key] = it == doc.end() ? json(nullptr) : *it;
  }
  return r;
}

StatusOr<ScoreScan> ScanScoreFiles(const std::string& dir) {
  if (!IsDirectory(dir)) return NotFound(dir + ": not a directory (expected the result files of kvpress eval)");
  std::vector<std::string> paths;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return NotFound(fmt::format("{}: cannot list directory: {}", dir, ec.message()));
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && EndsWith(it->path().filename().string(), "_score.json"))
      paths.push_back(it->path().string());
  }
  if (ec) return NotFound(fmt::format("{}: cannot list directory: {}", dir, ec.message()));
  std::sort(paths.begin(), paths.end());
  ScoreScan scan;
  for (const std::string& path : paths) {
    StatusOr<json> doc = ReadJsonFile(path);
    Status st = doc.status();
    if (doc.ok()) {
      StatusOr<ScoreRow> row = ParseScoreRow(*doc, path);
      if (row.ok()) {
        scan.rows.push_back(std::move(row).value());
        continue;
      }
      st = row.status();
    }
    Log(LogLevel::kWarning, "report: skipping score file {}", st.message());
    ++scan.skipped;
    scan.skip_reasons.push_back(st.message());
  }
  return scan;
}

std::vector<ReportGroup> GroupScoreRows(std::vector<ScoreRow> rows) {
  std::sort(rows.begin(), rows.end(), [](const ScoreRow& a, const ScoreRow& b) {
    return std::tie(a.dataset, a.model_name) < std::tie(b.dataset, b.model_name) ||
           (std::tie(a.dataset, a.model_name) == std::tie(b.dataset, b.model_name) && RowKey(a) < RowKey(b));
  });
  std::vector<ReportGroup> groups;
  for (ScoreRow& r : rows) {
    if (groups.empty() || groups.back().dataset != r.dataset || groups.back().model_name != r.model_name) {
      groups.emplace_back();
      groups.back().dataset = r.dataset;
      groups.back().model_name = r.model_name;
    }
    groups.back().rows.push_back(std::move(r));
  }
  for (ReportGroup& g : groups) {
    std::set<std::string> protocols, seeds;
    for (const ScoreRow& r : g.rows) {
      protocols.insert(r.Text("protocol") + "/" + r.Text("scoring"));
      seeds.insert(r.Text("random_seed"));
    }
    g.varies_protocol = protocols.size() > 1;
    g.varies_seed = seeds.size() > 1;
  }
  return groups;
}

std::string HumanBytes(double bytes) {
  if (!std::isfinite(bytes)) return "";
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (std::fabs(bytes) < 1024) return fmt::format("{:.0f} B", bytes);
  int u = -1;
  while (std::fabs(bytes) >= 1024 && u < 3) bytes /= 1024, ++u;
  return fmt::format("{:.1f} {}", bytes, kUnits[u]);
}

std::string RenderMarkdown(const std::vector<ReportGroup>& groups, size_t skipped) {
  size_t files = 0;
  for (const ReportGroup& g : groups) files += g.rows.size();
  std::string md = "# kvpress report\n\n";
  md += fmt::format("{} score file{} in {} (dataset, model) group{}; {} skipped.\n", files, files == 1 ? "" : "s",
                    groups.size(), groups.size() == 1 ? "" : "s", skipped);
  for (const ReportGroup& g : groups) {
    md += fmt::format("\n## {} \u2014 {}\n\n", Cell(g.dataset), Cell(g.model_name));
    AppendTable(g, md);
    AppendTableNotes(g, md);
    md += fmt::format("\nAccuracy{} by cache budget:\n\n", g.bootstrap ? " [95% CI]" : "");
    AppendPivot(g, md);
  }
  return md;
}

std::string RenderCsv(const std::vector<ReportGroup>& groups) {
  std::string csv;
  for (const std::string& key : ScoreFileKeys()) csv += key + ",";
  for (const std::string& key : StatKeys()) csv += key + ",";
  csv += "score_file\n";
  for (const ReportGroup& g : groups) {
    for (const ScoreRow& r : g.rows) {
      for (const std::string& key : ScoreFileKeys()) csv += CsvField(r.Text(key)) + ",";
      const json stats = StatFields(r);
      for (const std::string& key : StatKeys()) {
        const json& v = stats[key];
        csv += CsvField(v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump()) + ",";
      }
      csv += CsvField(r.score_file) + "\n";
    }
  }
  return csv;
}

json RenderJson(const std::vector<ReportGroup>& groups) {
  json out = json::array();
  for (const ReportGroup& g : groups) {
    for (const ScoreRow& r : g.rows) out.push_back(RowJson(r));
  }
  return out;
}

std::vector<SvgFile> RenderPlots(const std::vector<ReportGroup>& groups) {
  std::vector<SvgFile> files;
  std::set<std::string> used;
  for (const ReportGroup& g : groups) {
    const std::string base = SanitizeFileName(g.dataset) + "__" + SanitizeFileName(g.model_name);
    // Distinct groups whose names sanitize alike ("org/m" and "org_m") get distinct files.
    std::string stem = base;
    for (int n = 2; used.count(stem); ++n) stem = fmt::format("{}_{}", base, n);
    used.insert(stem);
    files.push_back({stem + "__accuracy.svg", RenderSvgLinePlot(BudgetPlot(g, "accuracy", "accuracy"))});
    files.push_back(
        {stem + "__output_tokens.svg", RenderSvgLinePlot(BudgetPlot(g, "avg_output_tokens", "mean output tokens"))});
    files.push_back({stem + "__accuracy_vs_kv_bytes.svg",
                     RenderSvgLinePlot(EfficiencyPlot(g, "avg_kv_bytes_peak", "mean peak KV cache (KiB)", 1.0 / 1024,
                                                      /*higher_x_better=*/false))});
    files.push_back({stem + "__accuracy_vs_tokens_per_s.svg",
                     RenderSvgLinePlot(EfficiencyPlot(g, "avg_end_to_end_tokens_per_second",
                                                      "end-to-end tokens/s (mean over samples)", 1.0,
                                                      /*higher_x_better=*/true))});
  }
  return files;
}

StatusOr<std::vector<std::string>> WriteReport(const std::vector<ReportGroup>& groups, size_t skipped,
                                               const std::string& out_dir, const ReportOptions& options) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !IsDirectory(out_dir))
    return NotFound(fmt::format("{}: cannot create output directory{}", out_dir, ec ? ": " + ec.message() : ""));
  std::vector<std::pair<std::string, std::string>> outputs;  // name, contents
  if (options.markdown) outputs.emplace_back("report.md", RenderMarkdown(groups, skipped) + RenderLongContextMarkdown(groups));
  if (options.csv) outputs.emplace_back("report.csv", RenderCsv(groups));
  if (options.json) outputs.emplace_back("report.json", RenderJson(groups).dump(2) + "\n");
  if (options.plots) {
    for (SvgFile& f : RenderPlots(groups)) outputs.emplace_back(std::move(f.name), std::move(f.svg));
    for (SvgFile& f : RenderLongContextPlots(groups)) outputs.emplace_back(std::move(f.name), std::move(f.svg));
  }
  std::vector<std::string> written;
  for (const auto& [name, contents] : outputs) {
    const std::string path = (fs::path(out_dir) / name).string();
    RETURN_IF_ERROR(WriteFileAtomic(path, contents));
    written.push_back(path);
  }
  return written;
}

}  // namespace kvpress::eval
