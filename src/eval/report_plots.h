// The charts of `kvpress report` as LinePlot descriptions (rendered by svg_plot.h): a metric against
// cache budget, and accuracy against a cost (KV bytes, tokens/s) with the Pareto frontier. Every
// chart names its sample count; accuracy points carry their 95% bootstrap interval when the rows
// have stats (report_stats.h).
#pragma once

#include <string>

#include "eval/report.h"
#include "eval/svg_plot.h"

namespace kvpress::eval {

// Pivot/series label: the press, plus the variant when something varies in the group.
std::string SeriesLabel(const ReportGroup& g, const ScoreRow& r);

// "n = 100 samples per run" or "n = 98-100 samples per run" ("" when no row has num_samples).
std::string SampleCountNote(const ReportGroup& g);

// `metric` ("accuracy" or a ScoreFileKeys() key) against cache budget: one series per press (and
// variant) with CI bars for accuracy; the full cache as a dashed reference over its CI band.
LinePlot BudgetPlot(const ReportGroup& g, const std::string& metric, const std::string& what);

// Accuracy against `x_key` (a ScoreFileKeys() key, multiplied by `x_scale` for display): every run a
// point with its CI bar, one series per press joined in cache-budget order, the full cache its own
// series, and the Pareto frontier (runs no other run beats on both accuracy and the cost: higher x
// better when `higher_x_better`, else lower) as a dashed grey line. Runs without the key are left out.
LinePlot EfficiencyPlot(const ReportGroup& g, const std::string& x_key, const std::string& x_label, double x_scale,
                        bool higher_x_better);

// The frontier of (x, y) points where higher y is better and higher x is better when
// `higher_x_better` (else lower x): the points not dominated by another, sorted by x.
std::vector<std::pair<double, double>> ParetoFrontier(std::vector<std::pair<double, double>> points,
                                                      bool higher_x_better);

}  // namespace kvpress::eval
