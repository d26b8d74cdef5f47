// LongBench (Bai et al. 2024, github.com/THUDM/LongBench metrics.py, as upstream kvpress's
// longbench/calculate_metrics.py runs them) and LongBench-v2 per-sample metrics, English tasks:
//  * qa_f1: token F1 after SQuAD normalisation (lowercase, ASCII punctuation and a/an/the removed,
//    whitespace collapsed);
//  * rouge_l: summary-level ROUGE-L F of the `rouge` package (1.0.1, no lowercasing): sentences split
//    at '.', words at spaces; |union of the word sets of each (reference sentence, prediction sentence)
//    LCS| over the distinct words of each side (0 when either side has no sentence);
//  * classification: 1 / (number of class names found in the prediction) when the gold class is among
//    them (class names that are substrings of the gold are dropped, with LongBench's list-mutation quirk);
//  * retrieval: fraction of the numbers in the prediction equal to the gold's "Paragraph N";
//  * count: fraction of the numbers in the prediction equal to the gold count;
//  * code_sim: fuzzywuzzy's fuzz.ratio / 100 (difflib's SequenceMatcher ratio, rounded to an integer
//    percent) between the first prediction line without ` # // and the gold;
//  * longbench_v2: the prediction (asterisks removed) contains "The correct answer is (X)" or "... is X".
// The task decides the metric (LongBenchMetricFor); trec / triviaqa / samsum keep the prediction's
// first line. A sample's score is the best over its gold answers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kvpress::eval {

// SQuAD answer normalisation (LongBench normalize_answer), ASCII case folding.
std::string NormalizeAnswer(std::string_view s);
double QaF1Score(std::string_view prediction, std::string_view gold);
double RougeLScore(std::string_view prediction, std::string_view gold);

// Precision, recall and F of one `rouge` 1.0.1 score (the package's f = 2pr / (p + r + 1e-8)).
struct RougePrf {
  double p = 0, r = 0, f = 0;
};
// The package's summary-level ROUGE-L (RougeLScore is its f); all zero when either side has no
// sentence (the package raises there).
RougePrf RougeLPrf(std::string_view prediction, std::string_view gold);
// The package's ROUGE-N: distinct word n-grams of the flattened sentences (split at single spaces),
// p = overlap / hypothesis n-grams, r = overlap / reference n-grams; all zero as above.
RougePrf RougeNPrf(std::string_view prediction, std::string_view gold, int n);
double ClassificationScore(std::string_view prediction, std::string_view gold, const std::vector<std::string>& classes);
double RetrievalScore(std::string_view prediction, std::string_view gold);
double CountScore(std::string_view prediction, std::string_view gold);
// difflib.SequenceMatcher(None, a, b).ratio() over bytes (autojunk on, as difflib's default).
double SequenceMatcherRatio(std::string_view a, std::string_view b);
double CodeSimScore(std::string_view prediction, std::string_view gold);
double LongBenchV2Score(std::string_view prediction, std::string_view gold_letter);

// The metric of a LongBench task ("qa_f1", "rouge_l", "classification", "retrieval", "count",
// "code_sim"); "" for the Chinese tasks and unknown ones. LongBench-v2 rows use "longbench_v2".
std::string LongBenchMetricFor(const std::string& task);

// The per-sample score of `metric` (one of the above) as LongBench's scorer computes it: the task's
// first-line rule, lstrip, then the best over `golds`.
double LongBenchSampleScore(const std::string& metric, const std::string& task, std::string_view prediction,
                            const std::vector<std::string>& golds, const std::vector<std::string>& classes);

}  // namespace kvpress::eval
