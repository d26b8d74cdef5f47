#include "eval/longctx_summary.h"

#include <map>
#include <string>
#include <utility>

namespace kvpress::eval {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

struct Tally {
  size_t n = 0;
  double score = 0;
  size_t correct = 0;
  void Add(const json& row) {
    ++n;
    auto s = row.find("score");
    score += s != row.end() && s->is_number() ? s->get<double>() : 0.0;
    auto c = row.find("correct");
    correct += c != row.end() && c->is_boolean() && c->get<bool>() ? 1 : 0;
  }
  double Mean() const { return n > 0 ? score / static_cast<double>(n) : 0.0; }
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
  double sum = 0;
  for (const std::string& t : order) {
    const Tally& tl = tasks[t];
    per_task[t] = {{"num_samples", tl.n},
                   {"avg_score", tl.Mean()},
                   {"accuracy", tl.n > 0 ? static_cast<double>(tl.correct) / static_cast<double>(tl.n) : 0.0}};
    sum += tl.Mean();
  }
  out["per_task"] = per_task;
  out["task_average"] = order.empty() ? 0.0 : 100.0 * sum / static_cast<double>(order.size());
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
