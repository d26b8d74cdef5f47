#include "eval/scoring.h"

#include <cctype>

#include "eval/longctx_metrics.h"
#include "eval/drop_metric.h"
#include "eval/extract.h"
#include "eval/math_equiv.h"
#include "eval/text_util.h"

namespace kvpress::eval {

namespace {

// Leading label words and brackets removed: "Option (B)" → "B)", "answer: 2" → "2".
std::string StripChoicePrefix(std::string_view in) {
  std::string s = Trim(UnwrapTextCommands(in));
  for (bool changed = true; changed;) {
    changed = false;
    std::string low = ToLower(s);
    for (const char* w : {"the correct answer is", "the answer is", "correct option", "option", "choice", "answer",
                          "is", ":", "(", "[", "{", "*", "$"}) {
      if (StartsWith(low, w)) {
        s = Trim(s.substr(std::string(w).size()));
        changed = true;
        break;
      }
    }
  }
  return s;
}

bool EndsLabel(const std::string& s, size_t i) {
  return i >= s.size() || !std::isalnum(static_cast<unsigned char>(s[i]));
}

}  // namespace

StatusOr<ScoringMode> ParseScoringMode(std::string_view name) {
  if (name == "exact") return ScoringMode::kExact;
  if (name == "normalized") return ScoringMode::kNormalized;
  return InvalidArgument("--scoring must be 'exact' or 'normalized', got '" + std::string(name) + "'");
}

const char* ScoringModeName(ScoringMode mode) { return mode == ScoringMode::kExact ? "exact" : "normalized"; }

std::optional<std::string> CanonicalChoiceLetter(std::string_view answer) {
  std::string s = StripChoicePrefix(answer);
  if (s.empty()) return std::nullopt;
  char c = s[0];
  if (std::isupper(static_cast<unsigned char>(c)) && EndsLabel(s, 1)) return std::string(1, c);
  if (std::islower(static_cast<unsigned char>(c)) && s.size() == 1) return std::string(1, char(std::toupper(c)));
  if (std::islower(static_cast<unsigned char>(c)) && (s.size() >= 2 && (s[1] == ')' || s[1] == '.')))
    return std::string(1, char(std::toupper(c)));
  return std::nullopt;
}

std::optional<std::string> CanonicalOptionNumber(std::string_view answer) {
  std::string s = StripChoicePrefix(answer);
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i > 0) {
    if (i < s.size() && s[i] == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))
      return std::nullopt;  // "2.5" is not an option number
    std::string digits = s.substr(0, i);
    while (digits.size() > 1 && digits[0] == '0') digits.erase(0, 1);
    return digits;
  }
  char c = s[0];
  if (c >= 'A' && c <= 'H' && EndsLabel(s, 1)) return std::to_string(c - 'A' + 1);
  return std::nullopt;
}

std::optional<std::string> CanonicalTruth(std::string_view answer, bool allow_yes_no) {
  std::string s = ToLower(StripChoicePrefix(answer));
  std::string word;
  for (char c : s) {
    if (!std::isalpha(static_cast<unsigned char>(c))) break;
    word += c;
  }
  if (word == "true" || word == "correct") return "true";
  if (word == "false" || word == "incorrect") return "false";
  if (word == "uncertain" || word == "unknown" || word == "undetermined") return "uncertain";
  if (allow_yes_no && word == "yes") return "true";
  if (allow_yes_no && word == "no") return "false";
  return std::nullopt;
}

bool ForkExactMatch(DatasetKind kind, std::string_view extracted, std::string_view gold) {
  switch (SpecFor(kind).answer_type) {
    case AnswerType::kNumeric:
    case AnswerType::kLatex:
      return extracted == gold;
    case AnswerType::kSpans:
      // The fork iterates the characters of the span list's repr: only a one-character
      // prediction equal to one of them passes.
      for (char c : gold)
        if (extracted.size() == 1 && extracted[0] == c) return true;
      return false;
    case AnswerType::kLongContext:
      return ScoreLongContext("string_match_all", extracted, {std::string(gold)}).correct;
    default:
      return ToLower(extracted) == ToLower(gold);
  }
}

Verdict ScoreExtracted(DatasetKind kind, std::string_view extracted, const std::vector<std::string>& golds) {
  Verdict v;
  v.extracted = std::string(extracted);
  if (golds.empty()) return v;
  const std::string& gold = golds[0];
  switch (SpecFor(kind).answer_type) {
    case AnswerType::kNumeric:
      v.correct = NumericEquivalent(extracted, gold);
      break;
    case AnswerType::kLatex:
      // Numeric reading (units, $, commas) only when the gold itself is a plain number.
      v.correct = LatexEquivalent(extracted, gold) ||
                  (ParseNumericAnswer(gold).has_value() && NumericEquivalent(extracted, gold));
      break;
    case AnswerType::kChoiceLetter: {
      auto p = CanonicalChoiceLetter(extracted), g = CanonicalChoiceLetter(gold);
      v.correct = p && g && *p == *g;
      break;
    }
    case AnswerType::kChoiceNumber: {
      auto p = CanonicalOptionNumber(extracted), g = CanonicalOptionNumber(gold);
      v.correct = p && g && *p == *g;
      break;
    }
    case AnswerType::kTrueFalseUnc:
    case AnswerType::kTrueFalse: {
      bool yes_no = SpecFor(kind).answer_type == AnswerType::kTrueFalse;
      auto p = CanonicalTruth(extracted, yes_no), g = CanonicalTruth(gold, true);
      v.correct = p && g && *p == *g;
      break;
    }
    case AnswerType::kLongContext:
      return ScoreLongContext("string_match_all", extracted, golds);
    case AnswerType::kSpans: {
      DropMetrics m = DropScore(DropPredictionSpans(extracted, golds.size()), golds);
      v.correct = m.exact_match == 1.0;
      v.score = m.f1;
      return v;
    }
  }
  v.score = v.correct ? 1.0 : 0.0;
  return v;
}

Verdict ScoreResponse(ScoringMode mode, DatasetKind kind, std::string_view response, std::string_view gold,
                      const std::vector<std::string>& golds) {
  if (SpecFor(kind).answer_type == AnswerType::kLongContext) {  // no extraction: the metric reads the answer
    return ScoreLongContext("string_match_all", response, golds);
  }
  if (mode == ScoringMode::kExact) {
    Verdict v;
    v.extracted = ForkExtract(kind, response);
    v.correct = ForkExactMatch(kind, v.extracted, gold);
    v.score = v.correct ? 1.0 : 0.0;
    return v;
  }
  return ScoreExtracted(kind, ExtractAnswer(kind, response), golds);
}

}  // namespace kvpress::eval
