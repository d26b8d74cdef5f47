// The paper's prompt strings (kvpress-reference.md §5.2, verbatim) and the per-dataset formatter
// that turns one dataset row (any of the layouts we accept: the Hugging Face columns of §5.2 and
// the local files under ../shared/data/datasets) into a prompt and its gold answer.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "eval/dataset_spec.h"

namespace kvpress::eval {

// Verbatim prompt strings of the fork (§5.2).
extern const char kPromptMath[];       // P_MATH (leading newline)
extern const char kPromptStep[];       // P_STEP
extern const char kPromptMc[];         // P_MC
extern const char kFolioInstr[];       // F_INSTR
extern const char kFolioTail[];        // F_TAIL
extern const char kStrategyInstr[];    // S_INSTR
extern const char kStrategyTail[];     // S_TAIL
extern const char kReclorInstr[];      // R_INSTR
extern const char kLogiqaInstr[];      // L_INSTR
extern const char kReclorTail[];       // R_TAIL (with its literal double braces)

// One row turned into what the model sees and what it is scored against.
struct FormattedRow {
  std::string prompt;
  // The gold exactly as the fork stores it in `gt_answer` (e.g. DROP: the Python repr of the
  // span list; reclor: str(label + 1)).
  std::string gold;
  // The gold answer(s) for normalized scoring: one entry, or DROP's bag of spans.
  std::vector<std::string> golds;
  // Long-context rows (eval/longctx_rows.h): what is compressed, what is asked, the answer's start,
  // the row's generation limit (0 = the run's).
  std::string context, question, answer_prefix;
  int max_new_tokens = 0;
  std::string metric;  // the sample's metric (eval/longctx_metrics.h); "" for reasoning rows
};

// Formats `row` for dataset `kind`. Accepts the HF layout of §5.2 and the local-file layout
// (e.g. AGIEval logiqa/lsat-lr, CSQA's nested `question`, BIG-bench StrategyQA examples).
// InvalidArgument naming the missing or ill-typed field when the row cannot be used; never throws.
StatusOr<FormattedRow> FormatRow(DatasetKind kind, const nlohmann::json& row);

// Python's repr() of a list of str, as `str(list)` prints it (used for DROP's fork gold).
std::string PythonListRepr(const std::vector<std::string>& items);

}  // namespace kvpress::eval
