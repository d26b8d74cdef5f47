#include "eval/longctx_metrics.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "eval/longbench_metrics.h"
#include "eval/loogle_metrics.h"
#include "eval/zeroscrolls_metrics.h"

namespace kvpress::eval {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// InfiniteBench's first_int_match: the first maximal run of ASCII digits ("" when none).
std::string FirstDigits(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  size_t j = i;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
  return std::string(s.substr(i, j - i));
}

// InfiniteBench's math_find pattern \d+\.\d+|\d+: the first number, a decimal when digits follow a '.'.
std::string FirstNumber(std::string_view s) {
  std::string d = FirstDigits(s);
  if (d.empty()) return d;
  const size_t end = s.find(d) + d.size();
  if (end + 1 < s.size() && s[end] == '.' && std::isdigit(static_cast<unsigned char>(s[end + 1]))) {
    return d + "." + FirstDigits(s.substr(end + 1));
  }
  return d;
}

// InfiniteBench's kv_retrieval word split: \n : " ' . , ? ! { } become spaces, then whitespace split.
std::vector<std::string> RetrievalWords(std::string_view s) {
  std::string t(s);
  for (char& c : t) {
    if (c == '\n' || c == ':' || c == '"' || c == '\'' || c == '.' || c == ',' || c == '?' || c == '!' || c == '{' ||
        c == '}')
      c = ' ';
  }
  std::vector<std::string> words;
  size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    size_t j = i;
    while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j]))) ++j;
    if (j > i) words.push_back(t.substr(i, j - i));
    i = j;
  }
  return words;
}

// Python's float() equality of two decimal strings, integer labels compared as integers
// (a decimal prediction against an integer label fails, as int("3.5") raises there).
bool SameNumber(const std::string& pred, const std::string& label) {
  if (pred.empty()) return false;
  const bool label_int = label.find('.') == std::string::npos;
  if (label_int) return pred.find('.') == std::string::npos && std::strtoll(pred.c_str(), nullptr, 10) == std::strtoll(label.c_str(), nullptr, 10);
  return std::strtod(pred.c_str(), nullptr) == std::strtod(label.c_str(), nullptr);
}

}  // namespace

std::string CleanPrediction(std::string_view prediction) {
  std::string out;
  for (char c : Trim(prediction)) {
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return std::string(Trim(out));
}

double StringMatchAll(std::string_view prediction, const std::vector<std::string>& refs) {
  if (refs.empty()) return 0.0;
  const std::string pred = Lower(CleanPrediction(prediction));
  double found = 0;
  for (const std::string& r : refs) found += pred.find(Lower(r)) != std::string::npos ? 1.0 : 0.0;
  return found / static_cast<double>(refs.size());
}

double StringMatchPart(std::string_view prediction, const std::vector<std::string>& refs) {
  const std::string pred = Lower(CleanPrediction(prediction));
  for (const std::string& r : refs) {
    if (pred.find(Lower(r)) != std::string::npos) return 1.0;
  }
  return 0.0;
}

bool IsLongContextMetric(std::string_view m) {
  return m == "string_match_all" || m == "string_match_part" || m == "first_int_match" || m == "word_match" ||
         m == "first_number_match" || m == "qa_f1" || m == "rouge_l" || m == "classification" || m == "retrieval" ||
         m == "count" || m == "code_sim" || m == "longbench_v2" || m == "unscored" || IsLoogleMetric(m) ||
         IsZeroScrollsMetric(m);
}

Verdict ScoreLongContext(std::string_view metric, std::string_view prediction, const std::vector<std::string>& refs,
                         const std::string& task, const std::vector<std::string>& classes) {
  Verdict v;
  v.extracted = CleanPrediction(prediction);
  const std::string label = refs.empty() ? "" : refs.front();
  if (metric == "string_match_all") {
    v.score = StringMatchAll(prediction, refs);
  } else if (metric == "string_match_part") {
    v.score = StringMatchPart(prediction, refs);
  } else if (metric == "first_int_match") {
    v.extracted = FirstDigits(prediction);
    v.score = !label.empty() && v.extracted == label ? 1.0 : 0.0;
  } else if (metric == "word_match") {
    const std::vector<std::string> words = RetrievalWords(prediction);
    v.score = std::find(words.begin(), words.end(), label) != words.end() ? 1.0 : 0.0;
  } else if (metric == "first_number_match") {
    v.extracted = FirstNumber(prediction);
    v.score = SameNumber(v.extracted, label) ? 1.0 : 0.0;
  } else if (metric == "unscored") {
    v.extracted = std::string(prediction);  // kept for a leaderboard submission; score 0, left out of means
  } else if (IsZeroScrollsMetric(metric)) {
    v.extracted = std::string(prediction);
    v.score = ZeroScrollsSampleScore(metric, prediction, refs);
  } else if (IsLoogleMetric(metric)) {
    v.extracted = std::string(prediction);
    v.score = LoogleSampleScore(metric, prediction, label);
  } else {
    v.extracted = std::string(prediction);
    v.score = LongBenchSampleScore(std::string(metric), task, prediction, refs, classes);
  }
  v.correct = v.score == 1.0;
  return v;
}

}  // namespace kvpress::eval
