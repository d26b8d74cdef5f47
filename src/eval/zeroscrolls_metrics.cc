#include "eval/zeroscrolls_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "eval/longbench_metrics.h"

namespace kvpress::eval {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
// Python's \w on the bytes of UTF-8 text: ASCII letters, digits, '_', and (as letters) non-ASCII
// bytes.
bool IsWordByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '_' || u >= 0x80;
}

// rouge_score's F: 2PR / (P + R), 0 when P + R = 0.
double FMeasure(double precision, double recall) {
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

double RougeN(const std::vector<std::string>& target, const std::vector<std::string>& prediction,
              size_t n) {
  auto ngrams = [n](const std::vector<std::string>& tokens) {
    std::map<std::vector<std::string>, long> counts;
    for (size_t i = 0; i + n <= tokens.size(); ++i)
      ++counts[{tokens.begin() + i, tokens.begin() + i + n}];
    return counts;
  };
  const auto t = ngrams(target), p = ngrams(prediction);
  long overlap = 0, t_total = 0, p_total = 0;
  for (const auto& [g, c] : t) {
    t_total += c;
    if (auto it = p.find(g); it != p.end()) overlap += std::min(c, it->second);
  }
  for (const auto& [g, c] : p) p_total += c;
  const double precision =
      static_cast<double>(overlap) / static_cast<double>(std::max(p_total, 1L));
  const double recall = static_cast<double>(overlap) / static_cast<double>(std::max(t_total, 1L));
  return FMeasure(precision, recall);
}

double RougeL(const std::vector<std::string>& target, const std::vector<std::string>& prediction) {
  if (target.empty() || prediction.empty()) return 0.0;
  std::vector<size_t> prev(prediction.size() + 1, 0),
      cur(prediction.size() + 1, 0);  // [len(prediction) + 1]
  for (const std::string& t : target) {
    for (size_t j = 1; j <= prediction.size(); ++j) {
      cur[j] = t == prediction[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  const auto lcs = static_cast<double>(prev.back());
  return FMeasure(lcs / static_cast<double>(prediction.size()),
                  lcs / static_cast<double>(target.size()));
}

// The first standalone letter A-D (\b[A-D]\b), or '\0'.
char FirstChoiceLetter(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 'A' || s[i] > 'D') continue;
    if ((i == 0 || !IsWordByte(s[i - 1])) && (i + 1 == s.size() || !IsWordByte(s[i + 1])))
      return s[i];
  }
  return '\0';
}

double BestOver(const std::vector<std::string>& refs, const auto& score) {
  double best = 0;
  for (const std::string& r : refs) best = std::max(best, score(r));
  return best;
}

}  // namespace

std::vector<std::string> RougeScoreTokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : text) {
    const char l = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    if ((l >= 'a' && l <= 'z') || IsDigit(l)) {
      cur += l;
    } else if (!cur.empty()) {
      tokens.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

ZeroScrollsRouge RougeScoreF(std::string_view prediction, std::string_view reference) {
  const std::vector<std::string> p = RougeScoreTokens(prediction), t = RougeScoreTokens(reference);
  return {RougeN(t, p, 1), RougeN(t, p, 2), RougeL(t, p)};
}

ZeroScrollsRouge BestRougeScoreF(std::string_view prediction,
                                 const std::vector<std::string>& refs) {
  ZeroScrollsRouge best;
  for (const std::string& r : refs) {
    const ZeroScrollsRouge s = RougeScoreF(prediction, r);
    best.rouge1 = std::max(best.rouge1, s.rouge1);
    best.rouge2 = std::max(best.rouge2, s.rouge2);
    best.rouge_l = std::max(best.rouge_l, s.rouge_l);
  }
  return best;
}

double ZeroScrollsAccuracy(std::string_view prediction, std::string_view reference) {
  const char gold = FirstChoiceLetter(reference);
  return gold != '\0' && FirstChoiceLetter(prediction) == gold ? 1.0 : 0.0;
}

std::optional<double> FirstPercentage(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsDigit(s[i])) continue;
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    size_t end = j;  // digits, then optionally '.' and more digits, then '%'
    if (end < s.size() && s[end] == '.') {
      ++end;
      while (end < s.size() && IsDigit(s[end])) ++end;
    }
    if (end < s.size() && s[end] == '%')
      return std::strtod(std::string(s.substr(i, end - i)).c_str(), nullptr);
  }
  return std::nullopt;
}

double ZeroScrollsExpSimilarity(std::string_view prediction, std::string_view reference) {
  const std::optional<double> gold = FirstPercentage(reference), pred = FirstPercentage(prediction);
  if (!gold || !pred) return 0.0;
  return std::pow(0.5, std::fabs(*gold - *pred) / 10);
}

std::vector<long long> ConcordanceIds(std::string_view text) {
  std::vector<long long> ids;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    ids.push_back(cur.size() > 18 ? -1
                                  : std::atoll(cur.c_str()));  // -1: too large to be an id here
    cur.clear();
  };
  for (char c : text) {
    if (IsDigit(c)) {
      cur += c;
    } else if (IsAsciiSpace(c) || c == ',') {
      flush();
    }  // any other character is dropped: the digits around it join
  }
  flush();
  return ids;
}

double ZeroScrollsConcordanceIndex(std::string_view prediction, std::string_view reference) {
  const std::vector<long long> pred = ConcordanceIds(prediction), gold = ConcordanceIds(reference);
  const size_t n = gold.size();
  std::vector<long long> a = pred, b = gold, identity(n);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  for (size_t i = 0; i < n; ++i) identity[i] = static_cast<long long>(i) + 1;
  if (n < 2 || a != b || b != identity) return 0.0;
  // Position (1-based) of each id in each order: [n], indexed by id - 1.
  std::vector<size_t> pred_pos(n), gold_pos(n);
  for (size_t i = 0; i < n; ++i) {
    pred_pos[static_cast<size_t>(pred[i] - 1)] = i + 1;
    gold_pos[static_cast<size_t>(gold[i] - 1)] = i + 1;
  }
  size_t concordant = 0, pairs = 0;
  for (size_t x = 0; x < n; ++x) {
    for (size_t y = x + 1; y < n; ++y) {
      ++pairs;
      concordant += (gold_pos[x] < gold_pos[y]) == (pred_pos[x] < pred_pos[y]) ? 1 : 0;
    }
  }
  return static_cast<double>(concordant) / static_cast<double>(pairs);
}

std::string ZeroScrollsMetricFor(const std::string& task) {
  if (task == "gov_report" || task == "summ_screen_fd" || task == "qmsum" || task == "squality")
    return "zs_rouge";
  if (task == "quality") return "zs_accuracy";
  if (task == "space_digest") return "zs_exp_similarity";
  if (task == "book_sum_sort") return "zs_concordance_index";
  if (task == "narrative_qa" || task == "qasper" || task == "musique") return "zs_f1";
  return "";
}

bool IsZeroScrollsMetric(std::string_view m) {
  return m == "zs_f1" || m == "zs_rouge" || m == "zs_accuracy" || m == "zs_exp_similarity" ||
         m == "zs_concordance_index";
}

double ZeroScrollsSampleScore(std::string_view metric, std::string_view prediction,
                              const std::vector<std::string>& refs) {
  if (metric == "zs_rouge") {
    if (refs.empty()) return 0.0;
    const ZeroScrollsRouge r = BestRougeScoreF(prediction, refs);
    return std::cbrt(r.rouge1 * r.rouge2 * r.rouge_l);
  }
  if (metric == "zs_f1")
    return BestOver(refs, [&](const std::string& r) { return QaF1Score(prediction, r); });
  if (metric == "zs_accuracy")
    return BestOver(refs, [&](const std::string& r) { return ZeroScrollsAccuracy(prediction, r); });
  if (metric == "zs_exp_similarity") {
    return BestOver(refs,
                    [&](const std::string& r) { return ZeroScrollsExpSimilarity(prediction, r); });
  }
  if (metric == "zs_concordance_index") {
    return BestOver(
        refs, [&](const std::string& r) { return ZeroScrollsConcordanceIndex(prediction, r); });
  }
  return 0.0;
}

ZeroScrollsTaskScore ZeroScrollsTaskScoreOf(const std::vector<const nlohmann::json*>& rows) {
  ZeroScrollsTaskScore out;
  if (rows.empty()) return out;
  const double n = static_cast<double>(rows.size());
  if (rows.front()->value("metric", std::string()) != "zs_rouge") {
    double sum = 0;
    for (const nlohmann::json* row : rows) sum += row->value("score", 0.0);
    out.score = 100.0 * sum / n;
    return out;
  }
  ZeroScrollsRouge mean;
  for (const nlohmann::json* row : rows) {
    std::vector<std::string> refs;
    if (auto g = row->find("gold_answers"); g != row->end() && g->is_array()) {
      for (const nlohmann::json& s : *g) {
        if (s.is_string()) refs.push_back(s.get<std::string>());
      }
    }
    const ZeroScrollsRouge r = BestRougeScoreF(row->value("response", std::string()), refs);
    mean.rouge1 += 100 * r.rouge1;
    mean.rouge2 += 100 * r.rouge2;
    mean.rouge_l += 100 * r.rouge_l;
  }
  mean = {mean.rouge1 / n, mean.rouge2 / n, mean.rouge_l / n};
  out.score = std::pow(mean.rouge1 * mean.rouge2 * mean.rouge_l, 1.0 / 3.0);
  out.rouge_means = mean;
  return out;
}

}  // namespace kvpress::eval
