// Evaluation samples: dataset rows turned into {id, prompt, gold, metadata}. Rows may come from
// any JSON source (a local file, a Hugging Face rows page); ill-formed rows are skipped, counted
// and logged, never fatal.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "eval/dataset_spec.h"

namespace kvpress::eval {

// One evaluation item.
struct Sample {
  std::string id;                    // the row's id field, else "<dataset>-<row index>"
  std::string prompt;                // the paper's exact prompt string (§5.2)
  std::string gold;                  // the fork's `gt_answer` string
  std::vector<std::string> golds;    // gold answer(s) for normalized scoring (DROP: span bag)
  nlohmann::json metadata;           // the original row (all dataset fields, for the result file)
  // Long-context samples (RULER, needle in a haystack, InfiniteBench...) as upstream kvpress's
  // pipeline runs them: `context` is prefilled and compressed, then `question` + `answer_prefix`
  // go on top uncompressed. Empty context: a reasoning sample, `prompt` is the whole input.
  std::string context;
  std::string question;
  std::string answer_prefix;
  int max_new_tokens = 0;            // the task's generation limit (0 = the run's --max-new-tokens)
  bool IsLongContext() const { return !context.empty(); }
};

// A loaded dataset and the accounting of what was skipped.
struct Dataset {
  DatasetSpec spec;
  std::vector<Sample> samples;
  size_t rows_read = 0;                  // rows parsed from the source (valid JSON)
  size_t skipped = 0;                    // invalid JSON lines + rows that could not be formatted
  std::vector<std::string> skip_reasons;  // one message per skip, "row N: why"
};

// Builds samples from parsed rows. Rows that FormatRow rejects are skipped with a reason; each
// skip is logged at warning level (first few individually, then a summary). Never fails.
Dataset BuildDataset(const DatasetSpec& spec, const std::vector<nlohmann::json>& rows);

// Reads `path` (JSONL / JSON array / BIG-bench task / rows page) and builds the dataset.
// Invalid JSON lines count as skips. NotFound / DataLoss when the file is missing or has no
// readable row; an ok result may still hold zero samples if every row was ill-formed.
StatusOr<Dataset> LoadDatasetFile(const DatasetSpec& spec, const std::string& path);

// The local file of `spec` under `datasets_dir` (e.g. ../shared/data/datasets).
// NotFound when the dataset ships no local file.
StatusOr<std::string> LocalDatasetPath(const DatasetSpec& spec, const std::string& datasets_dir);

}  // namespace kvpress::eval
