// The long-context part of `kvpress report` (score files that carry per_task / niah_grid, see
// eval/longctx_summary.h): per (dataset, model) a table of per-task scores (x 100) for each press and
// compression setting (budget or upstream ratio) with sample counts and peak KV memory, a plot of the
// task average against the compression ratio / budget, and one needle-in-a-haystack heatmap per
// press x compression setting. Groups without long-context score files contribute nothing.
#pragma once

#include <string>
#include <vector>

#include "eval/report.h"

namespace kvpress::eval {

// The Markdown section ("" when no group has long-context runs).
std::string RenderLongContextMarkdown(const std::vector<ReportGroup>& groups);

// The SVG files: "<dataset>__<model>__task_average_vs_ratio.svg" / "..._vs_budget.svg" (when the
// group has runs of that mode) and "<dataset>__<model>__<press>__<ratio0.50|budget256|full>__niah_heatmap.svg".
std::vector<SvgFile> RenderLongContextPlots(const std::vector<ReportGroup>& groups);

}  // namespace kvpress::eval
