// Scoring a model response against a sample's gold answer, in two modes:
//  * kExact: the fork's protocol (§5.3 extractor, §5.4 exact-match scorer), defects included
//    (string equality for math, a per-character DROP check that only single characters pass);
//  * kNormalized: the improved extractor and equivalence per answer type — numeric for gsm8k /
//    AIME / AMC, LaTeX-aware for MATH-500, choice letters / option numbers, true/false/uncertain,
//    and DROP exact match + F1 with the official normalisation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "eval/dataset_spec.h"

namespace kvpress::eval {

enum class ScoringMode { kExact, kNormalized };

// "exact" / "normalized" → mode; InvalidArgument otherwise.
StatusOr<ScoringMode> ParseScoringMode(std::string_view name);
const char* ScoringModeName(ScoringMode mode);

// The outcome for one sample.
struct Verdict {
  std::string extracted;  // the answer the extractor took from the response
  bool correct = false;
  double score = 0;       // 1/0, or DROP's F1 in normalized mode
};

// The fork's scorer on an already extracted answer (§5.4).
bool ForkExactMatch(DatasetKind kind, std::string_view extracted, std::string_view gold);

// The normalized scorer on an already extracted answer; `golds` holds one answer, or DROP's
// span bag. correct = equivalent (DROP: exact match of the bag); score = 1/0 or DROP F1.
Verdict ScoreExtracted(DatasetKind kind, std::string_view extracted, const std::vector<std::string>& golds);

// Extracts (ForkExtract or ExtractAnswer by mode) and scores `response`. `gold` is the fork's
// gt_answer string (exact mode), `golds` the normalized gold answer(s).
Verdict ScoreResponse(ScoringMode mode, DatasetKind kind, std::string_view response, std::string_view gold,
                      const std::vector<std::string>& golds);

// Canonical forms used by the normalized scorer (nullopt when nothing recognisable):
// "(B)", "B.", "Option B", "b" → "B" (a lowercase letter only when it stands alone).
std::optional<std::string> CanonicalChoiceLetter(std::string_view answer);
// "2", "(2)", "Option 2", "2. text", and a lone letter "B" → "2".
std::optional<std::string> CanonicalOptionNumber(std::string_view answer);
// "True."/"yes" → "true", "False"/"no" → "false", "Uncertain"/"unknown" → "uncertain"
// (yes/no only when `allow_yes_no`).
std::optional<std::string> CanonicalTruth(std::string_view answer, bool allow_yes_no);

}  // namespace kvpress::eval
