// Metrics of the long-context benchmarks, per sample, written from the definitions of their
// reference code:
//  * RULER (scripts/eval/synthetic/constants.py, upstream kvpress's ruler/calculate_metrics.py):
//    string_match_all = fraction of the gold strings contained in the prediction, string_match_part
//    = 1 when any gold string is contained; case-insensitive; the prediction stripped of control
//    characters (\x00-\x1f) and surrounding whitespace first, as upstream kvpress does.
//  * InfiniteBench (xinrongzhang2022/InfiniteBench src/compute_scores.py): passkey / number_string
//    = the first run of digits in the prediction equals the label; kv_retrieval = the label is one of
//    the prediction's words (split on spaces and punctuation); math_find = the first number
//    (integer or decimal, sign allowed) of the prediction equals the label.
// Scores are in [0, 1] per sample; benchmark figures are means x 100.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "eval/scoring.h"

namespace kvpress::eval {

// The prediction as the metrics see it: control characters removed, whitespace trimmed.
std::string CleanPrediction(std::string_view prediction);

// Fraction of `refs` found (case-insensitive substring) in the cleaned prediction; 0 for no refs.
double StringMatchAll(std::string_view prediction, const std::vector<std::string>& refs);
// 1 when any of `refs` is found in the cleaned prediction, else 0.
double StringMatchPart(std::string_view prediction, const std::vector<std::string>& refs);

// The metric names a long-context sample can carry in its "metric" field.
bool IsLongContextMetric(std::string_view metric);

// Scores `prediction` with the named metric ("string_match_all", "string_match_part",
// "first_int_match", "word_match", "first_number_match", or a LongBench one of
// eval/longbench_metrics.h: "qa_f1", "rouge_l", "classification", "retrieval", "count", "code_sim",
// "longbench_v2"), a LooGLE one of eval/loogle_metrics.h against refs[0], a ZeroSCROLLS one of
// eval/zeroscrolls_metrics.h (the best over refs), or "unscored" (score 0: rows
// without a gold answer, e.g. ZeroSCROLLS's hidden test set) against `refs`; `task` and `classes`
// (the row's all_classes) serve LongBench.
// correct = score == 1. extracted = the cleaned prediction (or the number / word the metric took).
Verdict ScoreLongContext(std::string_view metric, std::string_view prediction, const std::vector<std::string>& refs,
                         const std::string& task = "", const std::vector<std::string>& classes = {});

}  // namespace kvpress::eval
