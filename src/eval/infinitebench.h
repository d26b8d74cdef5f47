// InfiniteBench (Zhang et al. 2024, "∞Bench: Extending Long Context Evaluation Beyond 100K Tokens",
// github.com/OpenBMB/InfiniteBench) synthetic retrieval tasks, generated here at any length:
// passkey (a 5-digit key in repeated noise), number_string (a 10-digit string with repeated digits),
// kv_retrieval (a JSON object of UUID pairs, one key asked) and math_find (the largest / smallest /
// second / third / median number of a list of integers 0..99). Shapes follow InfiniteBench's
// data/construct_synthetic_dataset.py; the prompts, answer prefixes and generation limits are upstream
// kvpress's (its infinite_bench/create_huggingface_dataset.py: InfiniteBench's yarn-mistral templates,
// limits + 20 tokens). Each sample fills --context-length (input + generation, the model's tokenizer);
// the key / needle position is drawn per sample. Scored with InfiniteBench's scorers
// (eval/longctx_metrics.h).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "eval/dataset.h"
#include "eval/ruler.h"

namespace kvpress::eval {

struct InfiniteBenchOptions {
  int context_length = 4096;
  std::vector<std::string> tasks;  // empty = InfiniteBenchTaskNames()
  int samples_per_task = 10;
  uint64_t seed = 42;
};

// passkey, number_string, kv_retrieval, math_find.
const std::vector<std::string>& InfiniteBenchTaskNames();

// samples_per_task per task, ids "infinitebench-<length>-<task>-<i>", metadata {task, context_length,
// input_tokens, metric}. InvalidArgument for an unknown task or a length below 512; errors of
// `count` pass on.
StatusOr<std::vector<Sample>> GenerateInfiniteBench(const InfiniteBenchOptions& options, const TokenCounter& count);

}  // namespace kvpress::eval
