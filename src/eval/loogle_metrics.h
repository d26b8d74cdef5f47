// LooGLE (Li et al. 2024, github.com/bigai-nlco/LooGLE Evaluation/automatic_metrics.py, as upstream
// kvpress's loogle/calculate_metrics.py runs it) per-sample metrics:
//  * BLEU-1 and BLEU-4: nltk's sentence_bleu with weights (1,0,0,0) / (0,0,0,1) over whitespace
//  words
//    (newlines made spaces), one reference: brevity penalty x exp(sum w_n log p_n), p_n the clipped
//    n-gram precision; 0 when no unigram matches; a zero p_n becomes the smallest normal double
//    (nltk's default smoothing), so BLEU-4 without a matching 4-gram is ~1e-308, not exactly 0;
//  * ROUGE-1, ROUGE-2, ROUGE-L: the recall of the `rouge` package's scores
//  (eval/longbench_metrics.h);
//  * cloze (shortdep_cloze): both answer and prediction read as Python dict literals (upstream
//  eval()s
//    them; here a parser of the literal subset a dict of strings needs: str / int / None / True /
//    False values, '...' and "..." with escapes, trailing comma, duplicate keys the last wins);
//    exact = the share of gold masks whose predicted value is equal; partial = the share whose
//    predicted words (str.split) meet the gold's. A prediction that is not such a dict scores 0.
// METEOR and BERTScore are not implemented: upstream's METEOR scores Python sets of words, so its
// value depends on the string-hash seed (README, LooGLE); BERTScore needs a RoBERTa model from the
// hub. Upstream pools the cloze counts over a task (sum of matches / sum of masks); a sample's
// score here is its own share, so a task mean weighs samples, not masks, equally.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvpress::eval {

// nltk sentence_bleu(reference.split(), hypothesis.split()) for BLEU-`n` (n in 1..4, weight 1 on
// n).
double LoogleBleu(std::string_view reference, std::string_view hypothesis, int n);

// A matched count over a total (upstream's (match, count) pairs).
struct ClozeCount {
  int match = 0;
  int count = 0;
};
// get_exact_match(reference, hypothesis): (matches, len(reference)); (0, 1) when either side is not
// a dict.
ClozeCount LoogleClozeExact(std::string_view reference, std::string_view hypothesis);
// get_partial_match(reference, hypothesis): (matches, len(reference)); (0, len) when the prediction
// is not a dict of strings (0, 1 when the reference is not a dict).
ClozeCount LoogleClozePartial(std::string_view reference, std::string_view hypothesis);

// The metric names: "loogle_bleu1", "loogle_bleu4", "loogle_rouge1", "loogle_rouge2",
// "loogle_rouge_l", "loogle_cloze_exact", "loogle_cloze_partial".
bool IsLoogleMetric(std::string_view metric);
// A LooGLE task's default metric: shortdep_cloze -> loogle_cloze_exact; shortdep_qa, longdep_qa,
// longdep_summarization -> loogle_rouge_l; "" otherwise.
std::string LoogleMetricFor(const std::string& task);
// The per-sample score of `metric` in [0, 1] (cloze: match / count, 0 for count 0).
double LoogleSampleScore(std::string_view metric, std::string_view prediction,
                         std::string_view gold);

}  // namespace kvpress::eval
