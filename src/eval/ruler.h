// RULER (Hsieh et al. 2024, "RULER: What's the Real Context Size of Your Long-Context Language
// Models?", github.com/NVIDIA/RULER) synthetic tasks, generated here deterministically from a seed:
// needle in a haystack (single 1-3, multikey 1-3, multivalue, multiquery), variable tracking (vt),
// common words extraction (cwe) and frequent words extraction (fwe), in the task configurations of
// RULER's synthetic.yaml, with RULER's prompt templates and generation limits. Each sample is sized so
// that its input tokens (measured with the model's own tokenizer, chat template excluded, as RULER
// counts) plus the task's generation limit fit the context length. The input is split as upstream
// kvpress's RULER dataset splits it: context (compressed) | question | answer prefix.
// Differences from RULER's scripts: our own word lists and haystack essay (synth_text.h), our own
// random stream, and sentence splitting without nltk. Scores: RULER's string_match_all (fraction of
// the gold strings found, case-insensitive, in the answer).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/dataset.h"

namespace kvpress::eval {

// Counts the tokens of `text` (no special tokens added): the model's tokenizer.
using TokenCounter = std::function<StatusOr<int>(const std::string& text)>;

struct RulerOptions {
  int context_length = 4096;        // input tokens + the task's generation limit, at most
  std::vector<std::string> tasks;   // empty = every task of RulerTaskNames()
  int samples_per_task = 10;
  uint64_t seed = 42;
  std::string haystack_text;        // the "essay" haystack ("" = BuiltinEssay)
};

// The task names in RULER's order: niah_single_1..3, niah_multikey_1..3, niah_multivalue,
// niah_multiquery, vt, cwe, fwe.
const std::vector<std::string>& RulerTaskNames();

// The generation limit of a task (RULER's tokens_to_generate: niah 128, vt 30, cwe 120, fwe 50).
int RulerMaxNewTokens(const std::string& task);

// Generates samples_per_task samples per task, tasks in the given order, sample i of a task the same
// whatever the count or the other tasks. Each sample: id "ruler-<length>-<task>-<i>", context /
// question / answer_prefix, golds = the strings to find, max_new_tokens, metadata {task,
// context_length, input_tokens, num_haystack}. InvalidArgument for an unknown task or a context
// length too short for the task (below 512 tokens); errors of `count` pass on.
StatusOr<std::vector<Sample>> GenerateRuler(const RulerOptions& options, const TokenCounter& count);

}  // namespace kvpress::eval
