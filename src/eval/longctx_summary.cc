#include "eval/longctx_summary.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "eval/zeroscrolls_metrics.h"

namespace kvpress::eval {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

struct Tally {
  size_t n = 0;
  size_t unscored = 0;  // rows with metric "unscored" (no gold answer): counted, left out of the means
  double score = 0;
  size_t correct = 0;
  std::vector<const json*> scored_rows;  // for ZeroSCROLLS's task-level scores
  void Add(const json& row) {
    ++n;
    if (row.value("metric", std::string()) == "unscored") {
      ++unscored;
      return;
    }
    scored_rows.push_back(&row);
    auto s = row.find("score");
    score += s != row.end() && s->is_number() ? s->get<double>() : 0.0;
    auto c = row.find("correct");
    correct += c != row.end() && c->is_boolean() && c->get<bool>() ? 1 : 0;
  }
  size_t Scored() const { return n - unscored; }
  double Mean() const { return Scored() > 0 ? score / static_cast<double>(Scored()) : 0.0; }
};

}  // namespace

ordered_json SummarizeLongContext(const std::vector<json>& rows) {
  std::vector<std::string> order;
  std::map<std::string, Tally> tasks;
  std::map<std::pair<int64_t, int64_t>, Tally> grid;
  for (const json& row : rows) {
    const std::string task = row.value("task", std::string("all"));
    if (tasks.count(task) == 0) order.push_back(task);
    tasks[task].Add(row);
    auto len = row.find("niah_length"), depth = row.find("niah_depth");
    if (len != row.end() && depth != row.end() && len->is_number_integer() && depth->is_number_integer()) {
      grid[{len->get<int64_t>(), depth->get<int64_t>()}].Add(row);
    }
  }
  ordered_json out;
  ordered_json per_task = ordered_json::object();
  double sum = 0, zero_scrolls_sum = 0;
  size_t scored_tasks = 0, zero_scrolls_tasks = 0;
  for (const std::string& t : order) {
    const Tally& tl = tasks[t];
    per_task[t] = {{"num_samples", tl.n},
                   {"avg_score", tl.Mean()},
                   {"accuracy", tl.Scored() > 0 ? static_cast<double>(tl.correct) / static_cast<double>(tl.Scored()) : 0.0}};
    if (tl.unscored > 0) per_task[t]["unscored_samples"] = tl.unscored;
    if (tl.Scored() == 0) continue;  // a task without gold answers has no score to average
    double task_mean = tl.Mean();
    if (IsZeroScrollsMetric(tl.scored_rows.front()->value("metric", std::string()))) {
      // ZeroSCROLLS's own task score (ROUGE: the geometric mean of the task's mean ROUGE-1/2/L).
      const ZeroScrollsTaskScore z = ZeroScrollsTaskScoreOf(tl.scored_rows);
      per_task[t]["task_score"] = z.score;
      if (z.rouge_means) {
        per_task[t]["rouge1"] = z.rouge_means->rouge1;
        per_task[t]["rouge2"] = z.rouge_means->rouge2;
        per_task[t]["rougeL"] = z.rouge_means->rouge_l;
      }
      task_mean = z.score / 100.0;
      zero_scrolls_sum += z.score;
      ++zero_scrolls_tasks;
    }
    sum += task_mean;
    ++scored_tasks;
  }
  out["per_task"] = per_task;
  out["task_average"] = scored_tasks == 0 ? 0.0 : 100.0 * sum / static_cast<double>(scored_tasks);
  // The benchmark's score: the mean over its ten tasks (here: over those present).
  if (zero_scrolls_tasks > 0) {
    out["zero_scrolls_score"] = zero_scrolls_sum / static_cast<double>(zero_scrolls_tasks);
    out["zero_scrolls_tasks"] = zero_scrolls_tasks;
  }
  if (!grid.empty()) {
    ordered_json cells = ordered_json::array();
    for (const auto& [key, tl] : grid) {
      cells.push_back({{"length", key.first}, {"depth", key.second}, {"num_samples", tl.n}, {"avg_score", tl.Mean()}});
    }
    out["niah_grid"] = cells;
  }
  return out;
}

}  // namespace kvpress::eval
