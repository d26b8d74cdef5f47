#include "eval/report_plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>

namespace kvpress::eval {

namespace {

// The accuracy CI bar of a row: its bootstrap interval, or NaN ends (no bar) without stats.
std::pair<double, double> AccuracyBar(const ScoreRow& r) {
  if (!r.stats) return {NAN, NAN};
  return {r.stats->bootstrap.lo, r.stats->bootstrap.hi};
}

bool HasStats(const ReportGroup& g) {
  return std::any_of(g.rows.begin(), g.rows.end(), [](const ScoreRow& r) { return r.stats.has_value(); });
}

// The footnote: sample counts, and what the bars mean when there are any.
std::string Footnote(const ReportGroup& g, bool accuracy) {
  std::string note = SampleCountNote(g);
  if (accuracy && HasStats(g)) {
    note += fmt::format("{}bars / band: 95% bootstrap CI over samples", note.empty() ? "" : "; ");
  }
  return note;
}

}  // namespace

std::string SeriesLabel(const ReportGroup& g, const ScoreRow& r) {
  const std::string v = g.VariantLabel(r);
  return v.empty() ? r.PressLabel() : fmt::format("{} ({})", r.PressLabel(), v);
}

std::string SampleCountNote(const ReportGroup& g) {
  double lo = INFINITY, hi = -INFINITY;
  for (const ScoreRow& r : g.rows) {
    if (const std::optional<double> n = r.Number("num_samples")) lo = std::min(lo, *n), hi = std::max(hi, *n);
  }
  if (lo > hi) return "";
  if (lo == hi) return fmt::format("n = {:.0f} samples per run", lo);
  return fmt::format("n = {:.0f}\u2013{:.0f} samples per run", lo, hi);
}

LinePlot BudgetPlot(const ReportGroup& g, const std::string& metric, const std::string& what) {
  LinePlot p;
  const bool accuracy = metric == "accuracy";
  p.title = fmt::format("{} vs cache budget", what);
  p.subtitle = fmt::format("{} \u2014 {}", g.dataset, g.model_name);
  p.x_label = "cache budget (tokens per KV head per layer)";
  p.y_label = what;
  p.footnote = Footnote(g, accuracy);
  if (accuracy) p.y_range = std::make_pair(0.0, 1.0);
  std::map<std::string, size_t> index;  // label -> series
  int64_t bmin = INT64_MAX, bmax = 0;
  for (const ScoreRow& r : g.rows) {
    const std::optional<double> y = accuracy ? std::optional<double>(r.accuracy) : r.Number(metric);
    const std::string variant = g.VariantLabel(r);
    if (r.IsFull()) {
      if (!y) continue;
      const std::string value = accuracy ? fmt::format("{:.3f}", *y) : fmt::format("{:.0f}", *y);
      ReferenceLine ref{fmt::format("full cache{} ({})", variant.empty() ? "" : " " + variant, value), *y, {}};
      if (accuracy && r.stats) ref.band = AccuracyBar(r);
      p.references.push_back(ref);
      continue;
    }
    auto [it, added] = index.emplace(SeriesLabel(g, r), p.series.size());
    if (added) {
      PlotSeries s;
      s.name = it->first;
      p.series.push_back(s);
    }
    if (y) {
      p.series[it->second].points.emplace_back(static_cast<double>(r.cache_budget), *y);
      if (accuracy) p.series[it->second].errors.push_back(AccuracyBar(r));
    }
    bmin = std::min(bmin, r.cache_budget);
    bmax = std::max(bmax, r.cache_budget);
  }
  p.log2_x = bmin > 0 && bmax >= 4 * bmin;  // powers-of-two budget grids read best on a log axis
  return p;
}

std::vector<std::pair<double, double>> ParetoFrontier(std::vector<std::pair<double, double>> points,
                                                      bool higher_x_better) {
  // Best cost first (ties: best accuracy first); a point joins when it beats every accuracy before it.
  std::sort(points.begin(), points.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return higher_x_better ? a.first > b.first : a.first < b.first;
    return a.second > b.second;
  });
  std::vector<std::pair<double, double>> frontier;
  double best = -INFINITY;
  for (const auto& pt : points) {
    if (pt.second > best) frontier.push_back(pt), best = pt.second;
  }
  if (higher_x_better) std::reverse(frontier.begin(), frontier.end());
  return frontier;
}

LinePlot EfficiencyPlot(const ReportGroup& g, const std::string& x_key, const std::string& x_label, double x_scale,
                        bool higher_x_better) {
  LinePlot p;
  p.title = fmt::format("accuracy vs {}", x_label);
  p.subtitle = fmt::format("{} \u2014 {} (Pareto view: {} and up is better)", g.dataset, g.model_name,
                           higher_x_better ? "right" : "left");
  p.x_label = x_label;
  p.y_label = "accuracy";
  p.footnote = Footnote(g, true);
  p.y_range = std::make_pair(0.0, 1.0);
  std::map<std::string, size_t> index;  // label -> series
  std::vector<std::pair<double, double>> all;
  size_t presses = 0;
  for (const ScoreRow& r : g.rows) {
    const std::optional<double> x = r.Number(x_key);
    if (!x || !std::isfinite(*x)) continue;
    const std::string label = r.IsFull() ? SeriesLabel(g, r) + " cache" : SeriesLabel(g, r);
    auto [it, added] = index.emplace(label, p.series.size());
    if (added) {
      PlotSeries s;
      s.name = label;
      s.connect = !higher_x_better;  // KV bytes grow with the budget, so the line follows it; speed need not
      // The presses keep the colours of the budget plot (where the full cache is no series).
      s.color = r.IsFull() ? "#333333" : PaletteColor(presses++);
      p.series.push_back(s);
    }
    p.series[it->second].points.emplace_back(*x * x_scale, r.accuracy);
    p.series[it->second].errors.push_back(AccuracyBar(r));
    all.emplace_back(*x * x_scale, r.accuracy);
  }
  if (all.size() >= 2) {
    PlotSeries frontier;
    frontier.name = "Pareto frontier";
    frontier.points = ParetoFrontier(all, higher_x_better);
    frontier.dashed = true;
    frontier.markers = false;
    frontier.color = "#555555";
    p.series.push_back(frontier);
  }
  return p;
}

}  // namespace kvpress::eval
