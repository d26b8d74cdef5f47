// `kvpress report`: merges the `*_score.json` files written by `kvpress eval` into tables
// (Markdown, CSV, JSON) and SVG plots, one table and two plots per (dataset, model) group.
// Score files that are not valid JSON or lack a required key are skipped, counted and logged,
// never fatal. Runs that differ only in protocol, scoring or seed are kept apart, never merged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "eval/stats.h"

namespace kvpress::eval {

// Every key of a score file that the report carries, in CSV column order. Required: dataset,
// model_name, press_name, cache_budget, accuracy; the others may be missing (null / blank).
// press_spec (the --press value, parameters included) is carried too, so that runs of one press
// with different parameters stay apart.
const std::vector<std::string>& ScoreFileKeys();

// The accuracy of a run with its 95% intervals (filled by AddAccuracyIntervals, report_stats.h).
struct AccuracyStats {
  int64_t n = 0;        // samples (the score file's num_samples)
  int64_t correct = 0;  // round(accuracy * n)
  Interval bootstrap;   // percentile bootstrap over samples (the interval the report shows)
  Interval wilson;      // Wilson score interval (cross-check)
};

// A run compared with its baseline on the samples both hold (filled by AddComparisons).
struct Comparison {
  std::string baseline_label;  // the baseline row's press (and budget when it has one)
  std::string baseline_file;   // its score file
  std::string unavailable;     // why nothing was computed ("" when the numbers below are set)
  int64_t n_paired = 0;        // samples present in both result files
  bool partial = false;        // either result file holds samples the other lacks
  int64_t b = 0;               // baseline right, this run wrong
  int64_t c = 0;               // baseline wrong, this run right
  double delta = 0;            // accuracy(this) - accuracy(baseline) on the paired samples
  Interval delta_ci;           // paired bootstrap 95% interval of delta
  double p = 1;                // McNemar exact p (unadjusted)
  double p_holm = 1;           // Holm-adjusted over the group's comparisons
  bool significant = false;    // p_holm < alpha
};

// The columns the statistics add to the CSV and JSON rows, in CSV order (after ScoreFileKeys()):
// correct, accuracy_ci_lo/hi (bootstrap), wilson_lo/hi, compare_to (baseline label), n_paired,
// mcnemar_b, mcnemar_c, delta, delta_ci_lo/hi, p_mcnemar, p_holm, significant. Blank/null when unset.
const std::vector<std::string>& StatKeys();

// One score file.
struct ScoreRow {
  std::string score_file;  // path of the *_score.json file
  std::string dataset;
  std::string model_name;
  std::string press_name;  // "full" for the uncompressed reference
  int64_t cache_budget = 0;
  double compression_ratio = 0;  // upstream ratio mode (0 < r < 1), else 0 (eval/run_config.h)
  int64_t prefill_chunk = 0;     // chunked prefill (budget mode), 0 when the prompt is prefilled whole
  double accuracy = 0;
  nlohmann::json fields;  // object with every ScoreFileKeys() key (null where the file lacks it)
  std::optional<AccuracyStats> stats;     // set by AddAccuracyIntervals
  std::optional<Comparison> comparison;   // set by AddComparisons (rows other than the baseline)

  bool IsFull() const { return press_name == "full"; }
  // The press as shown in tables and legends: press_spec when the file has a non-empty one
  // ("snapkv_d:window=64"), else press_name.
  std::string PressLabel() const;
  // The compression setting as tables show it: "—" (full cache), "ratio 0.50", "256", or "256, chunk 512".
  std::string CompressionLabel() const;
  // fields[key] when it is a number, else nullopt.
  std::optional<double> Number(const std::string& key) const;
  // fields[key] as text: a string as is, a number in JSON form, "" when null/missing.
  std::string Text(const std::string& key) const;
};

// The outcome of scanning a directory.
struct ScoreScan {
  std::vector<ScoreRow> rows;              // in path order
  size_t skipped = 0;                      // score files that could not be used
  std::vector<std::string> skip_reasons;   // one "<path>: why" per skipped file
};

// Parses one score file's JSON. DataLoss naming `path` and the key when the document is not an
// object or a required key is missing or has the wrong type.
StatusOr<ScoreRow> ParseScoreRow(const nlohmann::json& doc, const std::string& path);

// Finds every regular file named "*_score.json" under `dir` (recursively, symlinks not followed)
// and parses it; unusable files are skipped with a warning. NotFound when `dir` is not a
// directory. An ok result may hold zero rows.
StatusOr<ScoreScan> ScanScoreFiles(const std::string& dir);

// The rows of one (dataset, model) pair, sorted by GroupScoreRows: "full" first, then presses
// (PressLabel) alphabetically, budgets ascending, then protocol, scoring, seed and path (so the order
// is total); OrderRows (report_stats.h) reorders presses by accuracy or a given list.
struct ReportGroup {
  std::string dataset;
  std::string model_name;
  std::vector<ScoreRow> rows;
  bool varies_protocol = false;  // protocol or scoring differs between rows: show a column
  bool varies_seed = false;      // random_seed differs between rows: show a column
  std::optional<BootstrapOptions> bootstrap;  // set by AddAccuracyIntervals (what the CI note says)
  std::string compare_to;        // the --compare press ("" = no comparison column)
  double alpha = 0.05;           // significance level of the comparison column (after Holm)

  // What tells apart rows that share press and budget in this group: "" when nothing varies,
  // else e.g. "chat/exact, seed 2". Part of row labels, pivot rows and plot series names.
  std::string VariantLabel(const ScoreRow& row) const;
};

// Groups rows by (dataset, model), groups sorted by dataset then model.
std::vector<ReportGroup> GroupScoreRows(std::vector<ScoreRow> rows);

// "512 B", "1.5 KiB", "1.5 MiB", "2.0 GiB" (binary units, one decimal above bytes).
std::string HumanBytes(double bytes);

// The Markdown report: a header line with the file and skip counts, then per group a table
// (press, budget, [protocol], [seed], n, accuracy [95% CI], Wilson 95%, [Δ vs baseline [CI] p],
// mean output tokens, press ms/token, KV peak), a note on what the intervals and marks mean, and an
// accuracy pivot (press rows x budget columns; full cache in a "—" column).
std::string RenderMarkdown(const std::vector<ReportGroup>& groups, size_t skipped);

// CSV (RFC 4180 quoting): a header of ScoreFileKeys() + StatKeys() + score_file, one line per score
// file, raw numbers, blank cells for missing keys. Rows in report order.
std::string RenderCsv(const std::vector<ReportGroup>& groups);

// JSON array of row objects (ScoreFileKeys() + StatKeys() + score_file), in report order.
nlohmann::json RenderJson(const std::vector<ReportGroup>& groups);

// An SVG file to write: a sanitized file name (no directory) and its contents.
struct SvgFile {
  std::string name;
  std::string svg;
};

// Four plots per group: "<dataset>__<model>__accuracy.svg" and "..._output_tokens.svg" (the metric
// against cache budget, one series per press (and variant), accuracy with 95% CI bars, full cache as
// a dashed line over its CI band), and "..._accuracy_vs_kv_bytes.svg", "..._accuracy_vs_tokens_per_s.svg"
// (efficiency: every run as a point with CI bars, the Pareto frontier dashed). Each names n.
std::vector<SvgFile> RenderPlots(const std::vector<ReportGroup>& groups);

// Which outputs WriteReport produces.
struct ReportOptions {
  bool markdown = true;  // report.md
  bool csv = true;       // report.csv
  bool json = true;      // report.json
  bool plots = true;     // the SVG files of RenderPlots
};

// Writes the selected outputs into `out_dir` (created when missing), each file atomically.
// Returns the paths written. NotFound / DataLoss when a directory or file cannot be written.
StatusOr<std::vector<std::string>> WriteReport(const std::vector<ReportGroup>& groups, size_t skipped,
                                               const std::string& out_dir, const ReportOptions& options);

}  // namespace kvpress::eval
