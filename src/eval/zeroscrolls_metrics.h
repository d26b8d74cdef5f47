// ZeroSCROLLS's official metrics beyond QA F1 (Shaham et al. 2023, "ZeroSCROLLS: A Zero-Shot
// Benchmark for Long Text Understanding"), written from the definitions of its scorer (the Hugging
// Face dataset tau/zero_scrolls, metrics/rouge.py, accuracy.py, exp_similarity.py,
// concordance_index.py and zero_scrolls.py):
//  * ROUGE (GovReport, SummScreenFD, QMSum, SQuALITY): ROUGE-1, ROUGE-2 and ROUGE-L F-measures of
//    Google's rouge_score package, no stemming: text lowercased, every run of characters outside
//    [a-z0-9] a separator; ROUGE-N from n-gram counts (overlap = sum of min counts, P = overlap /
//    prediction n-grams, R = overlap / reference n-grams), ROUGE-L from the longest common
//    subsequence; F = 2PR / (P + R), 0 when P + R = 0. Per sample each of the three is the best
//    over the references (separately); the task score is the geometric mean of the three task means
//    (x 100), not a mean of per-sample geometric means;
//  * accuracy (QuALITY): the first standalone letter A-D (regex \b[A-D]\b) of the prediction equals
//    the reference's;
//  * exponential similarity (SpaceDigest): the first percentage (regex \d+\.?\d*%) of each side,
//    score 0.5 ^ (|gold - predicted| / 10); 0 without a predicted percentage;
//  * concordance index (BookSumSort): both sides reduced to their integers (characters other than
//    digits, whitespace and commas dropped, commas read as spaces); 0 unless the prediction holds
//    the same multiset of summary ids as the gold order; else Harrell's C (lifelines) between the
//    positions the two orders give each id = the fraction of id pairs ordered alike.
//  * F1 (NarrativeQA, Qasper, MuSiQue): SQuAD token F1 (eval/longbench_metrics.h QaF1Score).
// Per-sample scores are in [0, 1] and the best over the references; a task's score is the mean of
// its samples' (x 100), except ROUGE's geometric mean above. The ZeroSCROLLS score is the mean of
// the ten task scores. Text is handled as bytes: lowercasing and the digit / word classes are ASCII
// (the reference's Python regexes are Unicode-aware; they differ only on non-ASCII digits, letters
// and spaces).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvpress::eval {

// rouge_score's default tokenizer without stemming: lowercase, [^a-z0-9]+ -> separator, split.
std::vector<std::string> RougeScoreTokens(std::string_view text);

// F-measures of one (prediction, reference) pair, each in [0, 1].
struct ZeroScrollsRouge {
  double rouge1 = 0, rouge2 = 0, rouge_l = 0;
};
// rouge_score's scorer.score(reference, prediction) for rouge1, rouge2 and rougeL.
ZeroScrollsRouge RougeScoreF(std::string_view prediction, std::string_view reference);
// The best of each F over `refs` (taken separately, as the scorer aggregates with max); zeros for
// no refs.
ZeroScrollsRouge BestRougeScoreF(std::string_view prediction, const std::vector<std::string>& refs);

// QuALITY's accuracy: 1 when the first \b[A-D]\b of the prediction equals the reference's, else 0
// (also 0 when the reference has none: the reference scorer asserts there).
double ZeroScrollsAccuracy(std::string_view prediction, std::string_view reference);

// The first percentage \d+\.?\d*% of `text` as a number; nullopt when there is none.
std::optional<double> FirstPercentage(std::string_view text);
// SpaceDigest's exponential similarity 0.5 ^ (|gold - predicted| / 10); 0 without a predicted
// percentage, or without one in the reference (the reference scorer raises there).
double ZeroScrollsExpSimilarity(std::string_view prediction, std::string_view reference);

// BookSumSort's integers of a text (characters other than digits, ASCII whitespace and commas
// dropped, commas as spaces, then split).
std::vector<long long> ConcordanceIds(std::string_view text);
// BookSumSort's concordance index: 0 unless the two id lists are permutations of each other and the
// reference is a permutation of 1..n with n >= 2 (the reference scorer fails on anything else);
// else the fraction of id pairs the two orders rank alike.
double ZeroScrollsConcordanceIndex(std::string_view prediction, std::string_view reference);

// The ZeroSCROLLS metric of a task: "zs_rouge" (gov_report, summ_screen_fd, qmsum, squality),
// "zs_accuracy" (quality), "zs_exp_similarity" (space_digest), "zs_concordance_index"
// (book_sum_sort), "zs_f1" (narrative_qa, qasper, musique); "" for unknown tasks.
std::string ZeroScrollsMetricFor(const std::string& task);
bool IsZeroScrollsMetric(std::string_view metric);

// The per-sample score of one of the zs_* metrics, the best over `refs`: for zs_rouge the geometric
// mean of the sample's three best F-measures (the task score aggregates differently: see above).
double ZeroScrollsSampleScore(std::string_view metric, std::string_view prediction,
                              const std::vector<std::string>& refs);

// The official score (x 100) of one ZeroSCROLLS task from its scored result rows (each with
// "metric", "response" and "gold_answers"): zs_rouge -> geometric mean of the mean best ROUGE-1/2/L
// (x 100), returned with those three means; other metrics -> the mean of the rows' "score" x 100.
// Empty rows -> 0.
struct ZeroScrollsTaskScore {
  double score = 0;
  std::optional<ZeroScrollsRouge> rouge_means;  // x 100, zs_rouge tasks only
};
ZeroScrollsTaskScore ZeroScrollsTaskScoreOf(const std::vector<const nlohmann::json*>& rows);

}  // namespace kvpress::eval
