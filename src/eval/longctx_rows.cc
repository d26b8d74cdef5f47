#include "eval/longctx_rows.h"

#include <fmt/format.h>

#include "eval/longbench_metrics.h"
#include "eval/loogle_metrics.h"
#include "eval/zeroscrolls_metrics.h"

namespace kvpress::eval {

using nlohmann::json;

std::string LongContextMetricFor(DatasetKind kind, const std::string& task) {
  switch (kind) {
    case DatasetKind::kRuler:
      return task.rfind("qa", 0) == 0 ? "string_match_part" : "string_match_all";
    case DatasetKind::kNiah:
      return "string_match_all";
    case DatasetKind::kInfiniteBench:
      if (task == "passkey" || task == "number_string") return "first_int_match";
      if (task == "kv_retrieval") return "word_match";
      if (task == "math_find") return "first_number_match";
      return "";
    case DatasetKind::kLongBench:
      return LongBenchMetricFor(task);
    case DatasetKind::kLongBenchV2:
      return "longbench_v2";
    case DatasetKind::kLoogle:
      return LoogleMetricFor(task);
    case DatasetKind::kZeroScrolls: {  // its official metric; an unknown task runs unscored
      const std::string metric = ZeroScrollsMetricFor(task);
      return metric.empty() ? "unscored" : metric;
    }
    default:
      return "";
  }
}

StatusOr<FormattedRow> FormatLongContextRow(DatasetKind kind, const json& row) {
  FormattedRow f;
  auto text = [&row](const char* key, bool required, std::string& out) -> Status {
    auto it = row.find(key);
    if (it == row.end() || it->is_null()) {
      return required ? InvalidArgument(fmt::format("missing field '{}'", key)) : Status::Ok();
    }
    if (!it->is_string()) return InvalidArgument(fmt::format("field '{}' is not a string", key));
    out = it->get<std::string>();
    return Status::Ok();
  };
  RETURN_IF_ERROR(text("context", true, f.context));
  RETURN_IF_ERROR(text("question", false, f.question));
  RETURN_IF_ERROR(text("answer_prefix", false, f.answer_prefix));
  if (f.context.empty()) return InvalidArgument("field 'context' is empty");
  auto answer = row.find("answer");
  if (answer == row.end()) answer = row.find("answers");
  if (answer == row.end() || answer->is_null()) return InvalidArgument("missing field 'answer'");
  auto add = [&f](const json& a) -> Status {
    if (a.is_string()) {
      f.golds.push_back(a.get<std::string>());
    } else if (a.is_number()) {  // InfiniteBench math_find labels are numbers
      if (a.is_number_integer()) {
        f.golds.push_back(std::to_string(a.get<long long>()));
      } else {  // keep a float label a float ("3.0", not "3"): the metric compares floats then
        std::string v = fmt::format("{}", a.get<double>());
        if (v.find_first_of(".eEn") == std::string::npos) v += ".0";
        f.golds.push_back(v);
      }
    } else {
      return InvalidArgument("field 'answer' holds something other than strings and numbers");
    }
    return Status::Ok();
  };
  if (answer->is_array()) {
    for (const json& a : *answer) RETURN_IF_ERROR(add(a));
  } else {
    RETURN_IF_ERROR(add(*answer));
  }
  if (f.golds.empty()) return InvalidArgument("field 'answer' is empty");
  for (const std::string& g : f.golds) f.gold += (f.gold.empty() ? "" : ", ") + g;
  if (auto it = row.find("max_new_tokens"); it != row.end() && it->is_number_integer()) {
    f.max_new_tokens = it->get<int>();
  }
  std::string task;
  RETURN_IF_ERROR(text("task", false, task));
  RETURN_IF_ERROR(text("metric", false, f.metric));
  if (f.metric.empty()) f.metric = LongContextMetricFor(kind, task);
  // ZeroSCROLLS's public test answers are hidden: its rows run for the leaderboard's predictions only.
  if (kind == DatasetKind::kZeroScrolls && f.gold.empty()) f.metric = "unscored";
  if (f.metric.empty()) {
    return InvalidArgument(fmt::format("task '{}' has no metric here (known: RULER tasks; InfiniteBench passkey, "
                                       "number_string, kv_retrieval, math_find; LongBench English tasks; LooGLE shortdep_qa, longdep_qa, "
                                       "shortdep_cloze, longdep_summarization; ZeroSCROLLS tasks)",
                                       task));
  }
  f.prompt = f.context + f.question + f.answer_prefix;
  return f;
}

}  // namespace kvpress::eval
