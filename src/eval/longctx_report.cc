#include "eval/longctx_report.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>

#include "core/file_util.h"
#include "core/json_parse.h"
#include "eval/heatmap_svg.h"
#include "eval/svg_plot.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;

// What a long-context score file adds to its ScoreRow.
struct LongRun {
  const ScoreRow* row = nullptr;
  json per_task;        // {task: {num_samples, avg_score, accuracy}}
  json niah_grid;       // [{length, depth, num_samples, avg_score}] or null
  double ratio = 0;     // upstream compression ratio (0 = budget mode)
  double task_average = 0;
  int64_t prefill_chunk = 0;

  std::string Setting() const {
    if (row->IsFull()) return "full";
    return ratio > 0 ? fmt::format("ratio {:.2f}", ratio) : fmt::format("budget {}", row->cache_budget);
  }
  std::string FileSetting() const {
    if (row->IsFull()) return "full";
    return ratio > 0 ? fmt::format("ratio{:.2f}", ratio) : fmt::format("budget{}", row->cache_budget);
  }
};

std::optional<LongRun> ReadLongRun(const ScoreRow& row) {
  StatusOr<std::string> text = ReadFileToString(row.score_file);
  if (!text.ok()) return std::nullopt;
  StatusOr<json> doc = ParseJson(*text, row.score_file);
  if (!doc.ok() || !doc->is_object() || !doc->contains("per_task") || !(*doc)["per_task"].is_object()) {
    return std::nullopt;
  }
  LongRun r;
  r.row = &row;
  r.per_task = (*doc)["per_task"];
  if (doc->contains("niah_grid") && (*doc)["niah_grid"].is_array()) r.niah_grid = (*doc)["niah_grid"];
  r.ratio = doc->value("compression_ratio", 0.0);
  r.task_average = doc->value("task_average", 0.0);
  r.prefill_chunk = doc->value("prefill_chunk", int64_t{0});
  return r;
}

std::vector<LongRun> LongRuns(const ReportGroup& g) {
  std::vector<LongRun> out;
  for (const ScoreRow& r : g.rows) {
    if (std::optional<LongRun> l = ReadLongRun(r)) out.push_back(std::move(*l));
  }
  // Full first, then press, then budget-mode before ratio-mode, settings ascending.
  std::stable_sort(out.begin(), out.end(), [](const LongRun& a, const LongRun& b) {
    if (a.row->IsFull() != b.row->IsFull()) return a.row->IsFull();
    if (a.row->PressLabel() != b.row->PressLabel()) return a.row->PressLabel() < b.row->PressLabel();
    if ((a.ratio > 0) != (b.ratio > 0)) return a.ratio == 0;
    return a.ratio != b.ratio ? a.ratio < b.ratio : a.row->cache_budget < b.row->cache_budget;
  });
  return out;
}

}  // namespace

std::string RenderLongContextMarkdown(const std::vector<ReportGroup>& groups) {
  std::string md;
  for (const ReportGroup& g : groups) {
    const std::vector<LongRun> runs = LongRuns(g);
    if (runs.empty()) continue;
    std::vector<std::string> tasks;
    std::set<std::string> seen;
    for (const LongRun& r : runs) {
      for (const auto& [task, v] : r.per_task.items()) {
        if (seen.insert(task).second) tasks.push_back(task);
      }
    }
    md += fmt::format("\n## Long context: {} — {}\n\nScores × 100 (RULER string match; per task, then their mean). "
                      "n = samples in the run (per task in brackets when tasks differ).\n\n",
                      g.dataset, g.model_name);
    md += "| press | compression | n |";
    for (const std::string& t : tasks) md += " " + t + " |";
    md += " average | KV peak | prefill chunk |\n|---|---|---|";
    for (size_t i = 0; i < tasks.size(); ++i) md += "---|";
    md += "---|---|---|\n";
    for (const LongRun& r : runs) {
      md += fmt::format("| {}{} | {} | {} |", r.row->PressLabel(),
                        g.VariantLabel(*r.row).empty() ? "" : " (" + g.VariantLabel(*r.row) + ")", r.Setting(),
                        r.row->Text("num_samples"));
      for (const std::string& t : tasks) {
        if (!r.per_task.contains(t)) {
          md += " — |";
          continue;
        }
        const json& v = r.per_task[t];
        // A benchmark's own task score where it has one (ZeroSCROLLS), else the mean sample score.
        const double score = v.contains("task_score") ? v.value("task_score", 0.0) : 100.0 * v.value("avg_score", 0.0);
        md += fmt::format(" {:.1f} ({}) |", score, v.value("num_samples", 0));
      }
      const std::optional<double> kv = r.row->Number("max_kv_bytes_peak");
      md += fmt::format(" **{:.1f}** | {} | {} |\n", r.task_average, kv ? HumanBytes(*kv) : "—",
                        r.prefill_chunk > 0 ? std::to_string(r.prefill_chunk) : "—");
    }
  }
  return md;
}

std::vector<SvgFile> RenderLongContextPlots(const std::vector<ReportGroup>& groups) {
  std::vector<SvgFile> out;
  for (const ReportGroup& g : groups) {
    const std::vector<LongRun> runs = LongRuns(g);
    if (runs.empty()) continue;
    const std::string stem = SanitizeFileName(g.dataset) + "__" + SanitizeFileName(g.model_name);
    for (const bool ratio_mode : {true, false}) {
      LinePlot p;
      p.title = ratio_mode ? "Long-context score vs compression ratio" : "Long-context score vs cache budget";
      p.subtitle = fmt::format("{} \u2014 {} (task average, x100)", g.dataset, g.model_name);
      p.x_label = ratio_mode ? "compression ratio (fraction of the context removed)"
                             : "cache budget (tokens per KV head per layer)";
      p.y_label = "score (x100)";
      p.y_range = std::make_pair(0.0, 100.0);
      std::map<std::string, size_t> index;
      for (const LongRun& r : runs) {
        if (r.row->IsFull()) {
          ReferenceLine line;
          line.label = fmt::format("full cache ({:.1f})", r.task_average);
          line.y = r.task_average;
          p.references.push_back(std::move(line));
          continue;
        }
        if ((r.ratio > 0) != ratio_mode) continue;
        auto [it, added] = index.emplace(r.row->PressLabel(), p.series.size());
        if (added) {
          PlotSeries series;
          series.name = it->first;
          p.series.push_back(std::move(series));
        }
        p.series[it->second].points.emplace_back(ratio_mode ? r.ratio : static_cast<double>(r.row->cache_budget),
                                                 r.task_average);
      }
      if (p.series.empty()) continue;
      p.log2_x = !ratio_mode;
      out.push_back({stem + (ratio_mode ? "__task_average_vs_ratio.svg" : "__task_average_vs_budget.svg"),
                     RenderSvgLinePlot(p)});
    }
    for (const LongRun& r : runs) {
      if (r.niah_grid.is_null() || r.niah_grid.empty()) continue;
      std::set<int64_t> lengths, depths;
      for (const json& c : r.niah_grid) {
        lengths.insert(c.value("length", int64_t{0}));
        depths.insert(c.value("depth", int64_t{0}));
      }
      Heatmap h;
      h.title = fmt::format("Needle in a haystack: {} ({})", r.row->PressLabel(), r.Setting());
      const std::string model = g.model_name.substr(g.model_name.find_last_of('/') + 1);  // a path: its file name
      h.subtitle = fmt::format("{} \u2014 {}, {} samples", g.dataset, model, r.row->Text("num_samples"));
      for (int64_t d : depths) h.columns.push_back(std::to_string(d));
      for (int64_t l : lengths) h.rows.push_back(std::to_string(l));
      h.values.assign(lengths.size(), std::vector<std::optional<double>>(depths.size()));
      for (const json& c : r.niah_grid) {
        const auto ri = std::distance(lengths.begin(), lengths.find(c.value("length", int64_t{0})));
        const auto ci = std::distance(depths.begin(), depths.find(c.value("depth", int64_t{0})));
        h.values[static_cast<size_t>(ri)][static_cast<size_t>(ci)] = c.value("avg_score", 0.0);
      }
      out.push_back({stem + "__" + SanitizeFileName(r.row->PressLabel()) + "__" + r.FileSetting() +
                         "__niah_heatmap.svg",
                     RenderSvgHeatmap(h)});
    }
  }
  return out;
}

}  // namespace kvpress::eval
