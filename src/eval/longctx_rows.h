// Long-context dataset rows in upstream kvpress's layout (its evaluation/benchmarks/*/
// create_huggingface_dataset.py): `context`, `question`, `answer_prefix`, `answer` (a string or a
// list of strings), `max_new_tokens`, and `task`, which decides the metric (eval/longctx_metrics.h).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "eval/dataset_spec.h"
#include "eval/prompts.h"

namespace kvpress::eval {

// The metric of a task of benchmark `kind`: RULER qa_* -> string_match_part, other RULER tasks and
// the needle grid -> string_match_all; InfiniteBench passkey / number_string -> first_int_match,
// kv_retrieval -> word_match, math_find -> first_number_match; LongBench -> LongBenchMetricFor(task);
// LongBench-v2 -> longbench_v2; LooGLE -> LoogleMetricFor(task); ZeroSCROLLS -> ZeroScrollsMetricFor(task)
// ("unscored" for a task it does not know). "" when the task has none here.
std::string LongContextMetricFor(DatasetKind kind, const std::string& task);

// A row of the layout above -> the formatted sample (prompt = context + question + answer prefix).
// metric = the row's "metric" field, else LongContextMetricFor its task. InvalidArgument naming the missing or ill-typed
// field, or a task without a metric here.
StatusOr<FormattedRow> FormatLongContextRow(DatasetKind kind, const nlohmann::json& row);

}  // namespace kvpress::eval
