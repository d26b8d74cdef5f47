#include "eval/loogle_metrics.h"

#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <utility>

#include "eval/longbench_metrics.h"

namespace kvpress::eval {
namespace {

std::vector<std::string> Words(std::string_view s) {  // str.split() (ASCII whitespace)
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

// n-gram -> count of `words`.
std::map<std::vector<std::string>, int> NgramCounts(const std::vector<std::string>& words, int n) {
  std::map<std::vector<std::string>, int> out;
  for (size_t i = 0; i + static_cast<size_t>(n) <= words.size(); ++i) {
    ++out[std::vector<std::string>(words.begin() + static_cast<std::ptrdiff_t>(i),
                                   words.begin() + static_cast<std::ptrdiff_t>(i) + n)];
  }
  return out;
}

// A Python literal of the kinds a cloze answer holds. Numbers (int, float, bool) compare by value,
// as Python's == does (1 == 1.0 == True).
struct PyValue {
  enum Kind { kStr, kNum, kNone } kind = kNone;
  std::string str;
  double num = 0;
  bool operator==(const PyValue& o) const {
    if (kind != o.kind) return false;
    return kind == kStr ? str == o.str : kind == kNum ? num == o.num : true;
  }
};
using PyDict =
    std::map<std::string, PyValue>;  // string keys only (cloze masks); the last duplicate wins

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Reads the subset of Python expression syntax a flat dict literal of strings / numbers / None
// needs.
class PyDictParser {
 public:
  explicit PyDictParser(std::string_view s) : s_(s) {}

  std::optional<PyDict> Parse() {
    SkipSpace();
    if (!Eat('{')) return std::nullopt;
    PyDict out;
    SkipSpace();
    if (Eat('}')) return Finish(out);
    for (;;) {
      SkipSpace();
      if (Eat('}')) return Finish(out);  // after a trailing comma
      std::optional<PyValue> key = Value();
      if (!key || key->kind != PyValue::kStr) return std::nullopt;
      SkipSpace();
      if (!Eat(':')) return std::nullopt;
      SkipSpace();
      std::optional<PyValue> value = Value();
      if (!value) return std::nullopt;
      out[key->str] = *value;
      SkipSpace();
      if (Eat('}')) return Finish(out);
      if (!Eat(',')) return std::nullopt;
    }
  }

 private:
  std::optional<PyDict> Finish(const PyDict& d) {
    SkipSpace();
    return i_ == s_.size() ? std::optional<PyDict>(d) : std::nullopt;
  }
  void SkipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    const size_t end = i_ + w.size();
    if (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_'))
      return false;
    i_ = end;
    return true;
  }

  std::optional<PyValue> Value() {
    PyValue v;
    if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"')) {
      v.kind = PyValue::kStr;
      while (i_ < s_.size() &&
             (s_[i_] == '\'' || s_[i_] == '"')) {  // adjacent literals concatenate
        if (!String(v.str)) return std::nullopt;
        SkipSpace();
      }
      return v;
    }
    if (Word("None")) return v;
    v.kind = PyValue::kNum;
    if (Word("True")) return v.num = 1, v;
    if (Word("False")) return v.num = 0, v;
    const size_t start = i_;
    if (i_ < s_.size() && (s_[i_] == '-' || s_[i_] == '+')) ++i_;
    const size_t digits = i_;
    while (i_ < s_.size() &&
           (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' || s_[i_] == '_'))
      ++i_;
    if (i_ == digits) return std::nullopt;
    std::string text;
    for (size_t k = start; k < i_; ++k) {
      if (s_[k] != '_') text += s_[k];
    }
    char* end = nullptr;
    v.num = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) return std::nullopt;
    return v;
  }

  // One '...' or "..." literal (no prefix, not triple-quoted), its escapes decoded, appended to
  // `out`.
  bool String(std::string& out) {
    const char q = s_[i_++];
    if (s_.substr(i_, 2) == std::string(2, q)) return false;  // triple quotes: not handled
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == q) return true;
      if (c == '\n') return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '\n':
          break;  // line continuation
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (i_ + len > s_.size()) return false;
          uint32_t cp = 0;
          for (size_t k = 0; k < len; ++k) {
            const char h = s_[i_ + k];
            if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
            cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                     ? h - '0'
                                                     : (std::tolower(h) - 'a' + 10));
          }
          if (cp > 0x10FFFF) return false;
          i_ += len;
          AppendUtf8(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {  // up to three octal digits
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '7'; ++k)
              cp = cp * 8 + static_cast<uint32_t>(s_[i_++] - '0');
            AppendUtf8(out, cp);
          } else if (e == 'N') {
            return false;  // \N{name}: not handled
          } else {         // an unknown escape keeps its backslash
            out += '\\';
            out += e;
          }
      }
    }
    return false;
  }

  std::string_view s_;
  size_t i_ = 0;
};

std::optional<PyDict> ParsePyDict(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
    ++i;  // eval() strips leading spaces and tabs
  return PyDictParser(s.substr(i)).Parse();
}

}  // namespace

double LoogleBleu(std::string_view reference, std::string_view hypothesis, int n) {
  const std::vector<std::string> ref = Words(reference), hyp = Words(hypothesis);
  double log_sum = 0;
  for (int k = 1; k <= 4; ++k) {
    const auto h = NgramCounts(hyp, k), r = NgramCounts(ref, k);
    int64_t matched = 0, total = 0;
    for (const auto& [g, c] : h) {
      total += c;
      auto it = r.find(g);
      matched += it == r.end() ? 0 : std::min(c, it->second);
    }
    if (k == 1 && matched == 0) return 0.0;  // no unigram in common
    const double p = matched == 0 ? DBL_MIN
                                  : static_cast<double>(matched) /
                                        static_cast<double>(std::max<int64_t>(1, total));
    log_sum += (k == n ? 1.0 : 0.0) * std::log(p);
  }
  const double c = static_cast<double>(hyp.size()), r = static_cast<double>(ref.size());
  const double bp = c > r ? 1.0 : c == 0 ? 0.0 : std::exp(1.0 - r / c);
  return bp * std::exp(log_sum);
}

ClozeCount LoogleClozeExact(std::string_view reference, std::string_view hypothesis) {
  const std::optional<PyDict> ref = ParsePyDict(reference), hyp = ParsePyDict(hypothesis);
  if (!ref || !hyp) return {0, 1};
  ClozeCount out{0, static_cast<int>(ref->size())};
  for (const auto& [key, value] : *ref) {
    auto it = hyp->find(key);
    if (it != hyp->end() && it->second == value) ++out.match;
  }
  return out;
}

ClozeCount LoogleClozePartial(std::string_view reference, std::string_view hypothesis) {
  const std::optional<PyDict> ref = ParsePyDict(reference);
  if (!ref) return {0, 1};  // upstream raises here
  const int count = static_cast<int>(ref->size());
  const std::optional<PyDict> hyp = ParsePyDict(hypothesis);
  if (!hyp) return {0, count};
  int match = 0;
  for (const auto& [key, value] : *ref) {
    auto it = hyp->find(key);
    if (it == hyp->end()) continue;
    if (value.kind != PyValue::kStr || it->second.kind != PyValue::kStr)
      return {0, count};  // .split() raises
    const std::vector<std::string> t = Words(value.str), p = Words(it->second.str);
    const std::set<std::string> truth(t.begin(), t.end());
    bool meet = false;
    for (const std::string& w : p) meet = meet || truth.count(w) > 0;
    match += meet ? 1 : 0;
  }
  return {match, count};
}

bool IsLoogleMetric(std::string_view m) {
  return m == "loogle_bleu1" || m == "loogle_bleu4" || m == "loogle_rouge1" ||
         m == "loogle_rouge2" || m == "loogle_rouge_l" || m == "loogle_cloze_exact" ||
         m == "loogle_cloze_partial";
}

std::string LoogleMetricFor(const std::string& task) {
  if (task == "shortdep_cloze") return "loogle_cloze_exact";
  if (task == "shortdep_qa" || task == "longdep_qa" || task == "longdep_summarization")
    return "loogle_rouge_l";
  return "";
}

double LoogleSampleScore(std::string_view metric, std::string_view prediction,
                         std::string_view gold) {
  auto share = [](ClozeCount c) {
    return c.count > 0 ? static_cast<double>(c.match) / c.count : 0.0;
  };
  if (metric == "loogle_bleu1") return LoogleBleu(gold, prediction, 1);
  if (metric == "loogle_bleu4") return LoogleBleu(gold, prediction, 4);
  if (metric == "loogle_rouge1") return RougeNPrf(prediction, gold, 1).r;
  if (metric == "loogle_rouge2") return RougeNPrf(prediction, gold, 2).r;
  if (metric == "loogle_rouge_l") return RougeLPrf(prediction, gold).r;
  if (metric == "loogle_cloze_exact") return share(LoogleClozeExact(gold, prediction));
  if (metric == "loogle_cloze_partial") return share(LoogleClozePartial(gold, prediction));
  return 0.0;
}

}  // namespace kvpress::eval
