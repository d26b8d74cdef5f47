#include "eval/longbench_metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace kvpress::eval {
namespace {

std::vector<std::string> SplitOnWhitespace(std::string_view s) {  // Python's str.split()
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string> SplitOn(std::string_view s, char sep) {  // Python's str.split(sep)
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string JoinWords(const std::vector<std::string>& w) {
  std::string out;
  for (size_t i = 0; i < w.size(); ++i) out += (i ? " " : "") + w[i];
  return out;
}

// Every maximal run of ASCII digits (re.findall(r"\d+")).
std::vector<std::string> Numbers(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

double FractionEqual(std::string_view prediction, const std::string& want) {
  const std::vector<std::string> nums = Numbers(prediction);
  if (nums.empty()) return 0.0;
  return static_cast<double>(std::count(nums.begin(), nums.end(), want)) / static_cast<double>(nums.size());
}

// The rouge package's sentences: split at '.', non-empty pieces with whitespace collapsed.
std::vector<std::string> RougeSentences(std::string_view text) {
  std::vector<std::string> out;
  for (const std::string& piece : SplitOn(text, '.')) {
    if (!piece.empty()) out.push_back(JoinWords(SplitOnWhitespace(piece)));
  }
  return out;
}

// The word set of the LCS of x and y, reconstructed as the rouge package does (ties go left).
std::set<std::string> LcsWords(const std::vector<std::string>& x, const std::vector<std::string>& y) {
  const size_t n = x.size(), m = y.size();
  std::vector<std::vector<int>> t(n + 1, std::vector<int>(m + 1, 0));  // [n+1, m+1]
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      t[i][j] = x[i - 1] == y[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
    }
  }
  std::set<std::string> words;
  size_t i = n, j = m;
  while (i > 0 && j > 0) {
    if (x[i - 1] == y[j - 1]) {
      words.insert(x[i - 1]);
      --i;
      --j;
    } else if (t[i - 1][j] > t[i][j - 1]) {
      --i;
    } else {
      --j;
    }
  }
  return words;
}

// difflib's find_longest_match over [alo, ahi) x [blo, bhi) (no junk function; popular elements
// of b left out of b2j, as autojunk does).
std::tuple<size_t, size_t, size_t> LongestMatch(std::string_view a, std::string_view b,
                                                const std::unordered_map<char, std::vector<size_t>>& b2j, size_t alo,
                                                size_t ahi, size_t blo, size_t bhi) {
  size_t besti = alo, bestj = blo, bestsize = 0;
  std::unordered_map<size_t, size_t> j2len, next;
  for (size_t i = alo; i < ahi; ++i) {
    next.clear();
    auto it = b2j.find(a[i]);
    if (it != b2j.end()) {
      for (size_t j : it->second) {
        if (j < blo) continue;
        if (j >= bhi) break;
        auto prev = j > 0 ? j2len.find(j - 1) : j2len.end();
        const size_t k = (prev != j2len.end() ? prev->second : 0) + 1;
        next[j] = k;
        if (k > bestsize) {
          besti = i - k + 1;
          bestj = j - k + 1;
          bestsize = k;
        }
      }
    }
    std::swap(j2len, next);
  }
  while (besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1]) {
    --besti;
    --bestj;
    ++bestsize;
  }
  while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] == b[bestj + bestsize]) ++bestsize;
  return {besti, bestj, bestsize};
}

}  // namespace

std::string NormalizeAnswer(std::string_view s) {
  std::string t;
  for (unsigned char c : s) {
    if (std::ispunct(c)) continue;  // string.punctuation is exactly ASCII ispunct
    t += static_cast<char>(std::tolower(c));
  }
  // \b(a|an|the)\b -> " ": whole words only (word characters: alphanumerics and '_').
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  std::string u;
  for (size_t i = 0; i < t.size();) {
    if ((i == 0 || !word_char(t[i - 1]))) {
      size_t len = 0;
      for (const char* art : {"the", "an", "a"}) {
        const size_t n = std::char_traits<char>::length(art);
        if (t.compare(i, n, art) == 0 && (i + n == t.size() || !word_char(t[i + n]))) {
          len = n;
          break;
        }
      }
      if (len > 0) {
        u += ' ';
        i += len;
        continue;
      }
    }
    u += t[i++];
  }
  return JoinWords(SplitOnWhitespace(u));
}

double QaF1Score(std::string_view prediction, std::string_view gold) {
  const std::vector<std::string> p = SplitOnWhitespace(NormalizeAnswer(prediction));
  const std::vector<std::string> g = SplitOnWhitespace(NormalizeAnswer(gold));
  std::map<std::string, int> gc;
  for (const std::string& w : g) ++gc[w];
  int same = 0;
  for (const std::string& w : p) {
    auto it = gc.find(w);
    if (it != gc.end() && it->second > 0) {
      --it->second;
      ++same;
    }
  }
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(p.size());
  const double recall = static_cast<double>(same) / static_cast<double>(g.size());
  return 2 * precision * recall / (precision + recall);
}

RougePrf RougeLPrf(std::string_view prediction, std::string_view gold) {
  const std::vector<std::string> hyp = RougeSentences(prediction), ref = RougeSentences(gold);
  if (hyp.empty() || ref.empty()) return {};  // the package raises; LongBench and LooGLE score 0
  std::set<std::string> hyp_words, ref_words, lcs_union;
  std::vector<std::vector<std::string>> hyp_split;
  for (const std::string& s : hyp) {
    hyp_split.push_back(SplitOn(s, ' '));
    hyp_words.insert(hyp_split.back().begin(), hyp_split.back().end());
  }
  for (const std::string& r : ref) {
    const std::vector<std::string> rw = SplitOn(r, ' ');
    ref_words.insert(rw.begin(), rw.end());
    for (const auto& hw : hyp_split) {
      const std::set<std::string> l = LcsWords(rw, hw);
      lcs_union.insert(l.begin(), l.end());
    }
  }
  const double llcs = static_cast<double>(lcs_union.size());
  RougePrf out;
  out.r = llcs / static_cast<double>(ref_words.size());
  out.p = llcs / static_cast<double>(hyp_words.size());
  out.f = 2.0 * ((out.p * out.r) / (out.p + out.r + 1e-8));
  return out;
}

double RougeLScore(std::string_view prediction, std::string_view gold) { return RougeLPrf(prediction, gold).f; }

RougePrf RougeNPrf(std::string_view prediction, std::string_view gold, int n) {
  const std::vector<std::string> hyp = RougeSentences(prediction), ref = RougeSentences(gold);
  if (hyp.empty() || ref.empty() || n <= 0) return {};  // the package raises
  auto ngrams = [n](const std::vector<std::string>& sentences) {
    std::vector<std::string> words;  // the sentences' words, flattened (split at single spaces)
    for (const std::string& s : sentences) {
      for (std::string& w : SplitOn(s, ' ')) words.push_back(std::move(w));
    }
    std::set<std::vector<std::string>> out;  // distinct n-grams (the package's exclusive mode)
    for (size_t i = 0; i + static_cast<size_t>(n) <= words.size(); ++i) {
      out.emplace(words.begin() + static_cast<std::ptrdiff_t>(i),
                  words.begin() + static_cast<std::ptrdiff_t>(i) + n);
    }
    return out;
  };
  const std::set<std::vector<std::string>> h = ngrams(hyp), r = ngrams(ref);
  size_t overlap = 0;
  for (const auto& g : h) overlap += r.count(g);
  RougePrf out;
  out.p = h.empty() ? 0.0 : static_cast<double>(overlap) / static_cast<double>(h.size());
  out.r = r.empty() ? 0.0 : static_cast<double>(overlap) / static_cast<double>(r.size());
  out.f = 2.0 * ((out.p * out.r) / (out.p + out.r + 1e-8));
  return out;
}

double ClassificationScore(std::string_view prediction, std::string_view gold, const std::vector<std::string>& classes) {
  std::vector<std::string> matches;
  for (const std::string& c : classes) {
    if (prediction.find(c) != std::string_view::npos) matches.push_back(c);
  }
  // LongBench removes from the list it iterates: after a removal the next element is skipped.
  for (size_t i = 0; i < matches.size(); ++i) {
    if (gold.find(matches[i]) != std::string_view::npos && matches[i] != gold) {
      matches.erase(matches.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  const bool hit = std::find(matches.begin(), matches.end(), gold) != matches.end();
  return hit ? 1.0 / static_cast<double>(matches.size()) : 0.0;
}

double RetrievalScore(std::string_view prediction, std::string_view gold) {
  const size_t at = gold.find("Paragraph ");
  if (at == std::string_view::npos) return 0.0;
  const std::vector<std::string> id = Numbers(gold.substr(at + 10, 12));
  if (id.empty() || !std::isdigit(static_cast<unsigned char>(gold[at + 10]))) return 0.0;
  return FractionEqual(prediction, id.front());
}

double CountScore(std::string_view prediction, std::string_view gold) { return FractionEqual(prediction, std::string(gold)); }

double SequenceMatcherRatio(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 1.0;
  std::unordered_map<char, std::vector<size_t>> b2j;
  for (size_t j = 0; j < b.size(); ++j) b2j[b[j]].push_back(j);
  if (b.size() >= 200) {  // autojunk: drop elements more frequent than 1% + 1
    const size_t ntest = b.size() / 100 + 1;
    for (auto it = b2j.begin(); it != b2j.end();) it = it->second.size() > ntest ? b2j.erase(it) : std::next(it);
  }
  size_t matched = 0;
  std::vector<std::tuple<size_t, size_t, size_t, size_t>> queue = {{0, a.size(), 0, b.size()}};
  while (!queue.empty()) {
    const auto [alo, ahi, blo, bhi] = queue.back();
    queue.pop_back();
    const auto [i, j, k] = LongestMatch(a, b, b2j, alo, ahi, blo, bhi);
    if (k == 0) continue;
    matched += k;
    if (alo < i && blo < j) queue.emplace_back(alo, i, blo, j);
    if (i + k < ahi && j + k < bhi) queue.emplace_back(i + k, ahi, j + k, bhi);
  }
  return 2.0 * static_cast<double>(matched) / static_cast<double>(a.size() + b.size());
}

double CodeSimScore(std::string_view prediction, std::string_view gold) {
  while (!prediction.empty() && prediction.front() == '\n') prediction.remove_prefix(1);
  std::string line;
  for (const std::string& l : SplitOn(prediction, '\n')) {
    if (l.find('`') == std::string::npos && l.find('#') == std::string::npos && l.find("//") == std::string::npos) {
      line = l;
      break;
    }
  }
  // fuzz.ratio: 100 for equal strings, 0 when one is empty, else round-half-even(100 * ratio).
  if (line == gold) return 1.0;
  if (line.empty() || gold.empty()) return 0.0;
  return std::nearbyint(100.0 * SequenceMatcherRatio(line, gold)) / 100.0;
}

double LongBenchV2Score(std::string_view prediction, std::string_view gold_letter) {
  std::string p(prediction);
  p.erase(std::remove(p.begin(), p.end(), '*'), p.end());
  const std::string g(gold_letter);
  return p.find("The correct answer is (" + g + ")") != std::string::npos ||
                 p.find("The correct answer is " + g) != std::string::npos
             ? 1.0
             : 0.0;
}

std::string LongBenchMetricFor(const std::string& task) {
  static const std::map<std::string, std::string> k = {
      {"narrativeqa", "qa_f1"},    {"qasper", "qa_f1"},      {"multifieldqa_en", "qa_f1"}, {"hotpotqa", "qa_f1"},
      {"2wikimqa", "qa_f1"},       {"musique", "qa_f1"},     {"triviaqa", "qa_f1"},        {"gov_report", "rouge_l"},
      {"qmsum", "rouge_l"},        {"multi_news", "rouge_l"}, {"samsum", "rouge_l"},       {"trec", "classification"},
      {"passage_retrieval_en", "retrieval"}, {"passage_count", "count"}, {"lcc", "code_sim"},
      {"repobench-p", "code_sim"}};
  std::string t = task;
  if (t.size() > 2 && t.compare(t.size() - 2, 2, "-e") == 0) t.resize(t.size() - 2);  // LongBench-E
  auto it = k.find(t);
  return it == k.end() ? "" : it->second;
}

double LongBenchSampleScore(const std::string& metric, const std::string& task, std::string_view prediction,
                            const std::vector<std::string>& golds, const std::vector<std::string>& classes) {
  std::string pred(prediction);
  auto lstrip = [](std::string s) {
    s.erase(0, std::min(s.size(), s.find_first_not_of(" \t\n\r\f\v")));
    return s;
  };
  std::string t = task;
  if (t.size() > 2 && t.compare(t.size() - 2, 2, "-e") == 0) t.resize(t.size() - 2);
  if (t == "trec" || t == "triviaqa" || t == "samsum" || t == "lsht") pred = SplitOn(lstrip(pred), '\n').front();
  pred = lstrip(pred);
  double best = 0.0;
  for (const std::string& g : golds) {
    double s = 0.0;
    if (metric == "qa_f1") s = QaF1Score(pred, g);
    else if (metric == "rouge_l") s = RougeLScore(pred, g);
    else if (metric == "classification") s = ClassificationScore(pred, g, classes);
    else if (metric == "retrieval") s = RetrievalScore(pred, g);
    else if (metric == "count") s = CountScore(pred, g);
    else if (metric == "code_sim") s = CodeSimScore(pred, g);
    else if (metric == "longbench_v2") s = LongBenchV2Score(prediction, g);
    best = std::max(best, s);
  }
  return best;
}

}  // namespace kvpress::eval
