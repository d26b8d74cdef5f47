// Needle in a haystack over a grid of prompt lengths x needle depths (Kamradt's test, in the form of
// RULER's niah_single_2): a 7-digit "special magic number" for an adjective-noun key is placed, as a
// sentence of its own, after the given percentage of the haystack's sentences; the haystack is the
// built-in essay (synth_text.h) or any text file, cut so that the prompt (measured with the model's
// tokenizer) plus the generation limit fits the cell's length. Scored with RULER's string match.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "eval/dataset.h"
#include "eval/ruler.h"

namespace kvpress::eval {

// Tokens a needle answer may take; the prompt is sized to leave them.
inline constexpr int kNiahMaxNewTokens = 32;

struct NiahGridOptions {
  std::vector<int> lengths;   // prompt + generation tokens per cell
  std::vector<int> depths;    // needle depth, % of the haystack's sentences before it (0..100)
  int samples_per_cell = 1;
  uint64_t seed = 42;
  std::string haystack_text;  // "" = BuiltinEssay
};

// "1k,2k,4k,8k" / "1024,3000" -> token counts (k = 1024). InvalidArgument for an empty list, a value
// that is not a positive integer (with an optional k), or one below 256.
StatusOr<std::vector<int>> ParseNiahLengths(std::string_view text);
// "0:100:10" (start:stop:step, stop included) or "0,25,50" -> depths in %. InvalidArgument for an
// empty list, a depth outside [0, 100] or a step <= 0.
StatusOr<std::vector<int>> ParseNiahDepths(std::string_view text);

// The grid's samples, lengths outermost then depths then sample index; ids "niah-<length>-d<depth>-<i>",
// metadata {task: "niah", niah_length, niah_depth, input_tokens, metric}. The needle of sample i
// of a cell is drawn from (seed, length, depth, i). Errors of `count` pass on.
StatusOr<std::vector<Sample>> GenerateNiahGrid(const NiahGridOptions& options, const TokenCounter& count);

}  // namespace kvpress::eval
