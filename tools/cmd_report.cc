// kvpress report: merges the *_score.json files under DIR into Markdown/CSV/JSON tables and SVG
// plots (src/eval/report.h) with 95% intervals and, with --compare, paired comparisons
// (src/eval/report_stats.h); --evictions FILE draws an eviction log (src/eval/eviction_report.h).
// The Markdown tables also go to stdout; progress goes to stderr.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "eval/eviction_report.h"
#include "eval/longctx_report.h"
#include "eval/report.h"
#include "eval/report_stats.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace kvpress::cli {
namespace {

struct ReportFlags {
  std::string dir;
  std::string output_dir;  // default: dir
  std::string format = "md,csv,json";
  bool no_plots = false;
  std::string evictions;        // --evictions FILE: pictures of an eviction log
  std::string compare;          // --compare PRESS: paired comparison column against that press
  std::string order = "accuracy";  // --order accuracy | name | P1,P2,...
  int resamples = 10000;
  uint64_t seed = 20260101;
  double alpha = 0.05;
};

// --order: "accuracy" (default), "name", or a comma-separated list of presses shown first.
void ApplyOrder(const std::string& order, std::vector<eval::ReportGroup>& groups) {
  if (order == "accuracy" || order == "name") return eval::OrderRows(groups, {}, order == "name");
  std::vector<std::string> presses;
  std::stringstream ss(order);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) presses.push_back(item);
  }
  eval::OrderRows(groups, presses, false);
}

// "md,csv,json" (any subset, any order) → options. InvalidArgument naming --format otherwise.
StatusOr<eval::ReportOptions> ParseFormats(const std::string& text, bool plots) {
  eval::ReportOptions o;
  o.markdown = o.csv = o.json = false;
  o.plots = plots;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "md" || item == "markdown") o.markdown = true;
    else if (item == "csv") o.csv = true;
    else if (item == "json") o.json = true;
    else return InvalidArgument(fmt::format("--format: '{}' is not one of md, csv, json", item));
  }
  if (!o.markdown && !o.csv && !o.json) return InvalidArgument("--format: name at least one of md, csv, json");
  return o;
}

// --evictions FILE: evictions.md and the SVG pictures into the output directory (default: FILE's).
int RunEvictions(const ReportFlags& f) {
  auto log = eval::ReadEvictionLog(f.evictions);
  if (!log.ok()) return ReportError("report", log.status());
  std::string out_dir = f.output_dir;
  if (out_dir.empty()) out_dir = std::filesystem::path(f.evictions).parent_path().string();
  if (out_dir.empty()) out_dir = ".";
  auto written = eval::WriteEvictionReport(*log, out_dir);
  if (!written.ok()) return ReportError("report", written.status());
  std::fputs(fmt::format("kvpress report: wrote {} eviction files to {} ({} prune events)\n", written->size(),
                         out_dir, log->events.size())
                 .c_str(),
             stderr);
  return kExitOk;
}

int RunReport(const ReportFlags& f) {
  auto options = ParseFormats(f.format, !f.no_plots);
  if (!options.ok()) return ReportError("report", options.status());
  if (f.dir.empty() && f.evictions.empty())
    return ReportError("report", InvalidArgument("name a results DIR, or --evictions FILE, or both"));
  if (!f.evictions.empty()) {
    const int rc = RunEvictions(f);
    if (rc != kExitOk || f.dir.empty()) return rc;
  }
  auto scan = eval::ScanScoreFiles(f.dir);
  if (!scan.ok()) return ReportError("report", scan.status());
  if (scan->rows.empty()) {
    return ReportError("report", NotFound(fmt::format("{}: no valid *_score.json file found ({} skipped)", f.dir,
                                                      scan->skipped)));
  }
  const size_t skipped = scan->skipped, files = scan->rows.size();
  std::vector<eval::ReportGroup> groups = eval::GroupScoreRows(std::move(scan->rows));
  ApplyOrder(f.order, groups);
  eval::BootstrapOptions bootstrap;
  bootstrap.resamples = f.resamples;
  bootstrap.seed = f.seed;
  eval::AddAccuracyIntervals(groups, bootstrap);
  if (!f.compare.empty()) {
    std::set<std::string> presses;
    for (const eval::ReportGroup& g : groups) {
      for (const eval::ScoreRow& r : g.rows) presses.insert(r.press_name), presses.insert(r.PressLabel());
    }
    if (!presses.count(f.compare)) {
      std::string known;
      for (const std::string& p : presses) known += (known.empty() ? "" : ", ") + p;
      return ReportError("report", InvalidArgument(fmt::format("--compare: no run of press '{}' under {} (found: {})",
                                                               f.compare, f.dir, known)));
    }
    eval::AddComparisons(groups, f.compare, bootstrap, f.alpha);
  }
  const std::string out_dir = f.output_dir.empty() ? f.dir : f.output_dir;
  auto written = eval::WriteReport(groups, skipped, out_dir, *options);
  if (!written.ok()) return ReportError("report", written.status());
  std::fputs((eval::RenderMarkdown(groups, skipped) + eval::RenderLongContextMarkdown(groups)).c_str(), stdout);
  std::fputs(fmt::format("kvpress report: wrote {} files to {} ({} score files, {} skipped)\n", written->size(),
                         out_dir, files, skipped)
                 .c_str(),
             stderr);
  return kExitOk;
}

}  // namespace

void RegisterReport(CLI::App& app, RunFn& run) {
  auto f = std::make_shared<ReportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Merge the *_score.json result files under DIR into Markdown/CSV/JSON tables and SVG plots, with 95% "
      "intervals and (--compare) paired comparisons; --evictions FILE draws an eviction log");
  cmd->add_option("DIR", f->dir, "Directory searched recursively for *_score.json files");
  cmd->add_option("--output-dir,-o", f->output_dir, "Where to write report.* and the plots (default: DIR)");
  cmd->add_option("--format", f->format, "Comma-separated tables to write: md, csv, json (default: all)");
  cmd->add_flag("--no-plots", f->no_plots, "Do not write the SVG plots");
  cmd->add_option("--evictions", f->evictions,
                  "An eviction log (kvpress generate --eviction-log FILE): write evictions.md and SVG pictures "
                  "(position x step raster per layer and KV head, attention mass lost per prune)");
  cmd->add_option("--compare", f->compare,
                  "Add a column 'Δ vs PRESS [95% CI] p': each run against the PRESS run (e.g. full) on the same "
                  "samples (paired bootstrap, McNemar exact test, Holm-corrected significance)");
  cmd->add_option("--order", f->order,
                  "Row order after the full cache: accuracy (best press first, default), name, or a list "
                  "P1,P2,... of presses shown first");
  cmd->add_option("--bootstrap-resamples", f->resamples, "Bootstrap resamples for the 95% intervals (default 10000)")
      ->check(CLI::Range(100, 1000000));
  cmd->add_option("--bootstrap-seed", f->seed, "Seed of the bootstrap resampling (default 20260101)");
  cmd->add_option("--alpha", f->alpha, "Significance level of the --compare marks, after Holm (default 0.05)")
      ->check(CLI::Range(1e-6, 0.5));
  cmd->callback([f, &run] { run = [f] { return RunReport(*f); }; });
}

}  // namespace kvpress::cli
