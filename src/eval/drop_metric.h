// DROP's official answer metric (allennlp drop_eval.py, Dua et al. 2019): answer normalisation
// (lowercase, punctuation and articles removed, numbers canonicalised, whitespace collapsed,
// tokens split on spaces and hyphens), exact match of the span bag, and F1 over span bags
// aligned by a maximum-weight one-to-one matching with the "numbers must match" rule.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kvpress::eval {

struct DropMetrics {
  double exact_match = 0;  // 1 when the normalized span sets (and sizes) are equal
  double f1 = 0;           // mean aligned per-span F1, rounded to 2 decimals as the official script
};

// Normalizes one answer span the official way ("The 3 Dogs!" → "3.0 dogs").
std::string DropNormalizeAnswer(std::string_view text);

// Metrics of the predicted spans against the gold spans (both non-empty for a non-zero score).
DropMetrics DropScore(const std::vector<std::string>& predicted, const std::vector<std::string>& gold);

// Splits a free-text prediction into spans for a multi-span gold: on top-level ',', ';',
// " and " and newlines; empty pieces dropped. A single-span gold keeps the prediction whole.
std::vector<std::string> DropPredictionSpans(std::string_view prediction, size_t gold_spans);

}  // namespace kvpress::eval
