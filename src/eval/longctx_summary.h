// The long-context parts of a score file: per-task scores (RULER reports each task, then their mean)
// and the needle-in-a-haystack grid (one score per length x depth cell, for the heatmap).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

namespace kvpress::eval {

// From result rows carrying "task" (and, for the needle grid, "niah_length" / "niah_depth"):
//   per_task: {task: {num_samples, avg_score, accuracy}}, tasks in first-seen order;
//   task_average: the mean over tasks of avg_score x 100 (RULER's headline number);
//   ZeroSCROLLS tasks (rows with a zs_* metric, eval/zeroscrolls_metrics.h) add per_task task_score
//   (the benchmark's score of the task, x 100; ROUGE tasks also rouge1 / rouge2 / rougeL means), which
//   task_average uses in place of avg_score, and the summary adds zero_scrolls_score (the mean task
//   score over the ZeroSCROLLS tasks present; the benchmark's own is over all ten) and zero_scrolls_tasks;
//   niah_grid: [{length, depth, num_samples, avg_score}] sorted by length then depth (when present).
// Rows without a task count under "all".
nlohmann::ordered_json SummarizeLongContext(const std::vector<nlohmann::json>& rows);

}  // namespace kvpress::eval
