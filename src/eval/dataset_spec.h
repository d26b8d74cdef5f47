// The reasoning datasets the harness knows: their keys, Hugging Face coordinates (§5.2 of
// kvpress-reference.md), the local file shipped under ../shared/data/datasets, and the kind of
// answer each one has (which decides how answers are extracted and scored).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kvpress::eval {

enum class DatasetKind {
  kGsm8k,
  kMath500,
  kAime24,
  kAime25,
  kAmc23,
  kFolio,
  kStrategyQa,
  kDrop,
  kReclor,
  kLogiqa,
  kCommonsenseQa,
  kOpenbookQa,
  kLsatLr,  // AGIEval LSAT-LR, a stand-in for ReClor with the same prompt
  kJsonl,   // generic {question, answer} rows: the question is the prompt verbatim; numeric/LaTeX scoring
  // Long-context benchmarks (eval/longctx_rows.h): context + question + answer prefix, run as
  // upstream kvpress's pipeline runs them (the context compressed, the question not).
  kRuler,          // generated locally (eval/ruler.h), or upstream kvpress's rows (simonjegou/ruler)
  kNiah,           // needle-in-a-haystack length x depth grid, generated locally (eval/niah_grid.h)
  kInfiniteBench,  // synthetic tasks generated locally (eval/infinitebench.h), or MaxJeblick/InfiniteBench rows
  kLongBench,      // upstream kvpress's Xnhyacinth/LongBench rows (English tasks; LongBench-E too)
  kLongBenchV2,    // upstream kvpress's simonjegou/LongBench-v2 rows (answer = option letter)
  kLoogle,         // upstream kvpress's simonjegou/loogle rows (config = task: shortdep_qa, longdep_qa, ...)
  kZeroScrolls,    // upstream kvpress's simonjegou/zero_scrolls rows (test answers are hidden: unscored)
};

// How a dataset's gold answer is compared with a prediction.
enum class AnswerType {
  kNumeric,        // gsm8k, aime, amc: numbers (commas, $, units, %, trailing .0, leading zeros)
  kLatex,          // math500 and generic jsonl: LaTeX-aware equivalence
  kChoiceLetter,   // commonsenseqa, openbookqa: "A".."E"
  kChoiceNumber,   // reclor, logiqa, lsat-lr: "1".."5"
  kTrueFalseUnc,   // folio: True / False / Uncertain
  kTrueFalse,      // strategyqa: True / False
  kSpans,          // drop: bag of spans, EM and F1
  kLongContext,    // the sample's own metric (its "metric" field; eval/longctx_metrics.h)
};

// What the harness needs to know about one dataset.
struct DatasetSpec {
  DatasetKind kind;
  std::string key;         // CLI name, e.g. "gsm8k"
  std::string hf_id;       // e.g. "openai/gsm8k" ("" for jsonl)
  std::string hf_config;   // e.g. "main" ("" when none)
  std::string hf_split;    // e.g. "test"
  std::string local_file;  // path relative to ../shared/data/datasets ("" when none ships)
  AnswerType answer_type;
};

// Every known dataset, in the order of the table in §5.2 (then lsat-lr, jsonl).
const std::vector<DatasetSpec>& AllDatasets();

// The spec for `key` (case-insensitive; "aime2024"/"aime2025" accepted as aliases).
// InvalidArgument listing the known keys when unknown.
StatusOr<DatasetSpec> FindDataset(std::string_view key);

// The spec for a kind (always exists).
const DatasetSpec& SpecFor(DatasetKind kind);

// True for the long-context benchmarks (context / question / answer prefix samples).
bool IsLongContextDataset(DatasetKind kind);

// True for the long-context benchmarks generated here from a seed and the model's tokenizer when no
// --data-file is given (ruler, niah, infinitebench).
bool IsSyntheticDataset(DatasetKind kind);

// True for datasets whose answers are math (numeric or LaTeX): gsm8k, math500, aime, amc, jsonl.
bool IsMathDataset(DatasetKind kind);

}  // namespace kvpress::eval
