#include "eval/drop_metric.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <set>

#include "eval/text_util.h"

namespace kvpress::eval {

namespace {

// Python float(text) succeeds (digits, sign, '.', exponent, inf/nan; no commas).
bool IsNumber(const std::string& t, double* value = nullptr) {
  if (t.empty()) return false;
  std::string low = ToLower(t);
  size_t k = (low[0] == '+' || low[0] == '-') ? 1 : 0;
  std::string body = low.substr(k);
  if (body == "inf" || body == "infinity" || body == "nan") {
    if (value) *value = body == "nan" ? NAN : (k && low[0] == '-' ? -INFINITY : INFINITY);
    return true;
  }
  if (body.empty() || body.find_first_not_of("0123456789.e+-") != std::string::npos) return false;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return false;
  if (value) *value = v;
  return true;
}

// Python str(float(x)).
std::string PyFloatStr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e16) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 0);
    return std::string(buf, r.ptr) + ".0";
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

bool IsAsciiPunct(unsigned char c) { return c < 128 && std::ispunct(c); }

std::string RemoveArticles(const std::string& t) {
  // \b(a|an|the)\b → " " on a single lowercase token (no internal spaces after tokenisation).
  if (t == "a" || t == "an" || t == "the") return " ";
  return t;
}

std::string Collapse(const std::string& t) {
  std::string out, word;
  for (char c : t + " ") {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) out += (out.empty() ? "" : " ") + word;
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

std::vector<std::string> SpanBag(const std::string& normalized) {
  std::vector<std::string> words;
  std::string w;
  for (char c : normalized + " ") {
    if (c == ' ') {
      if (!w.empty()) words.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

double BagF1(const std::vector<std::string>& pred, const std::vector<std::string>& gold) {
  std::vector<std::string> inter;
  std::set_intersection(pred.begin(), pred.end(), gold.begin(), gold.end(), std::back_inserter(inter));
  double precision = pred.empty() ? 1.0 : double(inter.size()) / pred.size();
  double recall = gold.empty() ? 1.0 : double(inter.size()) / gold.size();
  if (precision == 0 && recall == 0) return 0;
  return 2 * precision * recall / (precision + recall);
}

bool NumbersMatch(const std::vector<std::string>& gold, const std::vector<std::string>& pred) {
  std::set<std::string> g, p;
  for (const auto& w : gold)
    if (IsNumber(w)) g.insert(w);
  for (const auto& w : pred)
    if (IsNumber(w)) p.insert(w);
  if (g.empty()) return true;
  for (const auto& x : g)
    if (p.count(x)) return true;
  return false;
}

// Maximum-weight assignment of rows to distinct columns (brute force; DROP bags are tiny).
// Returns per-row best scores under the optimal assignment.
void BestAssignment(const std::vector<std::vector<double>>& s, size_t row, std::vector<bool>& used,
                    double acc, std::vector<double>& cur, double& best, std::vector<double>& best_rows) {
  if (row == s.size()) {
    if (acc > best) {
      best = acc;
      best_rows = cur;
    }
    return;
  }
  for (size_t c = 0; c < used.size(); ++c) {
    if (used[c]) continue;
    used[c] = true;
    cur[row] = s[row][c];
    BestAssignment(s, row + 1, used, acc + s[row][c], cur, best, best_rows);
    used[c] = false;
  }
  cur[row] = 0;  // this gold span left unmatched (scores are >= 0, so only needed when short)
  BestAssignment(s, row + 1, used, acc, cur, best, best_rows);
}

}  // namespace

std::string DropNormalizeAnswer(std::string_view text) {
  std::vector<std::string> tokens;
  std::string tok;
  for (char c : std::string(text) + " ") {
    if (c == ' ' || c == '-') {
      tokens.push_back(tok);
      tok.clear();
    } else {
      tok += c;
    }
  }
  std::string out;
  for (const std::string& raw : tokens) {
    std::string t = ToLower(raw);
    if (!IsNumber(t)) {
      std::string kept;
      for (char c : t)
        if (!IsAsciiPunct(static_cast<unsigned char>(c))) kept += c;
      t = kept;
    }
    double v;
    if (IsNumber(t, &v)) t = PyFloatStr(v);
    t = Collapse(RemoveArticles(t));
    if (Trim(t).empty()) continue;
    out += (out.empty() ? "" : " ") + t;
  }
  return Trim(out);
}

DropMetrics DropScore(const std::vector<std::string>& predicted, const std::vector<std::string>& gold) {
  std::vector<std::string> pn, gn;
  std::vector<std::vector<std::string>> pb, gb;
  for (const auto& p : predicted) {
    pn.push_back(DropNormalizeAnswer(p));
    pb.push_back(SpanBag(pn.back()));
  }
  for (const auto& g : gold) {
    gn.push_back(DropNormalizeAnswer(g));
    gb.push_back(SpanBag(gn.back()));
  }
  DropMetrics m;
  m.exact_match = (std::set<std::string>(pn.begin(), pn.end()) == std::set<std::string>(gn.begin(), gn.end()) &&
                   pn.size() == gn.size())
                      ? 1.0
                      : 0.0;
  if (gb.empty() && pb.empty()) {
    m.f1 = 1.0;
    return m;
  }
  std::vector<std::vector<double>> scores(gb.size(), std::vector<double>(pb.size(), 0.0));
  for (size_t g = 0; g < gb.size(); ++g)
    for (size_t p = 0; p < pb.size(); ++p)
      if (NumbersMatch(gb[g], pb[p])) scores[g][p] = BagF1(pb[p], gb[g]);
  std::vector<bool> used(pb.size(), false);
  std::vector<double> cur(gb.size(), 0.0), best_rows(gb.size(), 0.0);
  double best = -1;
  if (gb.size() <= 6 && pb.size() <= 6) {
    BestAssignment(scores, 0, used, 0.0, cur, best, best_rows);
  } else {  // greedy fallback for pathological bags
    for (size_t g = 0; g < gb.size(); ++g) {
      double b = 0;
      size_t bc = pb.size();
      for (size_t p = 0; p < pb.size(); ++p)
        if (!used[p] && scores[g][p] > b) b = scores[g][p], bc = p;
      if (bc < pb.size()) used[bc] = true;
      best_rows[g] = b;
    }
  }
  double total = std::accumulate(best_rows.begin(), best_rows.end(), 0.0);
  double n = static_cast<double>(std::max(gb.size(), pb.size()));
  m.f1 = std::round(total / n * 100.0) / 100.0;
  return m;
}

std::vector<std::string> DropPredictionSpans(std::string_view prediction, size_t gold_spans) {
  std::string p = Trim(prediction);
  if (gold_spans <= 1) return {p};
  p = ReplaceAll(p, " and ", ",");
  p = ReplaceAll(p, ";", ",");
  p = ReplaceAll(p, "\n", ",");
  std::vector<std::string> out;
  for (const std::string& part : SplitTopLevel(p, ',')) {
    std::string t = Trim(part);
    if (!t.empty()) out.push_back(t);
  }
  if (out.empty()) out.push_back("");
  return out;
}

}  // namespace kvpress::eval
