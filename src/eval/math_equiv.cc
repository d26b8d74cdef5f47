#include "eval/math_equiv.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "eval/extract.h"
#include "eval/text_util.h"

namespace kvpress::eval {

namespace {

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

bool Close(double a, double b) { return std::fabs(a - b) <= 1e-6 * std::max(1.0, std::fabs(b)); }

// "\frac12" → "\frac{1}{2}", "\frac1{x}" → "\frac{1}{x}", "\sqrt2" → "\sqrt{2}".
std::string FixBareArguments(const std::string& s, int depth = 0) {
  if (depth > 64) return s;  // pathological nesting: leave as is
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool frac = s.compare(i, 5, "\\frac") == 0, sqrt = s.compare(i, 5, "\\sqrt") == 0;
    if (!frac && !sqrt) {
      out += s[i++];
      continue;
    }
    out += s.substr(i, 5);
    i += 5;
    for (int arg = 0; arg < (frac ? 2 : 1) && i < s.size(); ++arg) {
      if (s[i] == '{' || s[i] == '[') {
        if (s[i] == '[') {  // \sqrt[n]{x}: copy the index, then the braced argument
          size_t e = s.find(']', i);
          if (e == std::string::npos) break;
          out += s.substr(i, e - i + 1);
          i = e + 1;
          --arg;
          continue;
        }
        int level = 0;
        size_t j = i;
        for (; j < s.size(); ++j) {
          if (s[j] == '{') ++level;
          if (s[j] == '}' && --level == 0) break;
        }
        out += '{';
        out += FixBareArguments(s.substr(i + 1, j - i - 1), depth + 1);
        out += '}';
        i = j + 1;
      } else if (s[i] == '\\') {  // \frac\pi2
        size_t j = i + 1;
        while (j < s.size() && IsAlpha(s[j])) ++j;
        out += '{';
        out.append(s, i, j - i);
        out += '}';
        i = j;
      } else {
        out += std::string("{") + s[i] + "}";
        ++i;
      }
    }
  }
  return out;
}

// "a/b" with integer a, b (whole string) → "\frac{a}{b}".
std::string FixSlash(const std::string& s) {
  size_t p = s.find('/');
  if (p == std::string::npos || s.find('/', p + 1) != std::string::npos) return s;
  auto integer = [](const std::string& t) {
    size_t k = (!t.empty() && t[0] == '-') ? 1 : 0;
    if (t.size() <= k) return false;
    for (size_t i = k; i < t.size(); ++i)
      if (!IsDigit(t[i])) return false;
    return true;
  };
  std::string a = s.substr(0, p), b = s.substr(p + 1);
  if (!integer(a) || !integer(b)) return s;
  if (a[0] == '-') return "-\\frac{" + a.substr(1) + "}{" + b + "}";
  return "\\frac{" + a + "}{" + b + "}";
}

// Removes trailing unit words after a number: "5 cm" / "5\text{ cm}^2" / "18 dollars" → "5"/"18".
std::string DropUnits(const std::string& s) {
  std::string t = Trim(s);
  size_t i = 0;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
  size_t digits = i;
  while (i < t.size() && (IsDigit(t[i]) || t[i] == '.' || t[i] == ',')) ++i;
  if (i == digits || i == t.size()) return s;
  std::string rest = Trim(t.substr(i));
  if (rest.empty() || !(t[i] == ' ' || StartsWith(rest, "\\text") || StartsWith(rest, "\\mbox"))) return s;
  std::string words = UnwrapTextCommands(rest);
  int letters = 0;
  for (char c : words) {
    if (IsAlpha(c)) ++letters;
    else if (!(c == ' ' || c == '^' || c == '{' || c == '}' || c == '2' || c == '3' || c == '.')) return s;
  }
  return letters >= 2 ? t.substr(0, i) : s;
}

// Drops a short "lhs =" or "lhs \in" prefix ("x = 5", "k=3", "x \in [1,2]").
std::string DropLhs(const std::string& s) {
  for (std::string_view op : {std::string_view("\\in"), std::string_view("=")}) {
    size_t p = s.find(op);
    if (p == std::string::npos || s.find(op, p + 1) != std::string::npos) continue;
    std::string lhs = Trim(s.substr(0, p));
    if (lhs.empty() || lhs.size() > 6) continue;
    bool simple = true;
    for (char c : lhs)
      if (!(IsAlpha(c) || c == '\\' || c == '_' || IsDigit(c))) simple = false;
    if (simple && IsAlpha(lhs.back() == '\\' ? 'x' : lhs[0] == '\\' ? lhs[1] : lhs[0]))
      return Trim(s.substr(p + op.size()));
  }
  return s;
}

// Recursive-descent evaluator over normalized LaTeX.
class Evaluator {
 public:
  explicit Evaluator(std::string_view s) : s_(s) {}
  std::optional<double> Run() {
    auto v = Expr();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  bool Eat(std::string_view tok) {
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  std::optional<double> Expr() {
    auto v = Term();
    while (v && pos_ < s_.size()) {
      if (Eat("+")) {
        auto r = Term();
        if (!r) return std::nullopt;
        *v += *r;
      } else if (Eat("-")) {
        auto r = Term();
        if (!r) return std::nullopt;
        *v -= *r;
      } else {
        break;
      }
    }
    return v;
  }
  bool AtomStarts() const {
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    return IsDigit(c) || c == '.' || c == '{' || c == '(' || s_.substr(pos_, 5) == "\\frac" ||
           s_.substr(pos_, 5) == "\\sqrt" || s_.substr(pos_, 3) == "\\pi";
  }
  std::optional<double> Term() {
    auto v = Factor();
    while (v && pos_ < s_.size()) {
      if (Eat("*") || Eat("\\cdot") || Eat("\\times")) {
        auto r = Factor();
        if (!r) return std::nullopt;
        *v *= *r;
      } else if (Eat("/") || Eat("\\div")) {
        auto r = Factor();
        if (!r || *r == 0) return std::nullopt;
        *v /= *r;
      } else if (AtomStarts()) {  // implicit multiplication: 2\sqrt{3}, 3\pi
        auto r = Power();
        if (!r) return std::nullopt;
        *v *= *r;
      } else {
        break;
      }
    }
    return v;
  }
  std::optional<double> Factor() {
    if (Eat("-")) {
      if (++depth_ > kMaxDepth) return std::nullopt;
      auto v = Factor();
      --depth_;
      if (v) *v = -*v;
      return v;
    }
    if (Eat("+")) {
      if (++depth_ > kMaxDepth) return std::nullopt;
      auto v = Factor();
      --depth_;
      return v;
    }
    return Power();
  }
  std::optional<double> Power() {
    auto base = Atom();
    if (base && Eat("^")) {
      std::optional<double> e;
      if (pos_ < s_.size() && s_[pos_] == '{') e = Atom();
      else if (pos_ < s_.size() && IsDigit(s_[pos_])) e = s_[pos_++] - '0';
      else e = Atom();
      if (!e) return std::nullopt;
      double r = std::pow(*base, *e);
      if (!std::isfinite(r)) return std::nullopt;
      return r;
    }
    return base;
  }
  std::optional<double> Group(char open, char close) {
    if (pos_ >= s_.size() || s_[pos_] != open || ++depth_ > kMaxDepth) return std::nullopt;
    ++pos_;
    auto v = Expr();
    --depth_;
    if (!v || pos_ >= s_.size() || s_[pos_] != close) return std::nullopt;
    ++pos_;
    return v;
  }
  std::optional<double> Atom() {
    if (pos_ >= s_.size()) return std::nullopt;
    char c = s_[pos_];
    if (IsDigit(c) || c == '.') {
      size_t b = pos_;
      while (pos_ < s_.size() && (IsDigit(s_[pos_]) || s_[pos_] == '.')) ++pos_;
      std::string num(s_.substr(b, pos_ - b));
      char* end = nullptr;
      double v = std::strtod(num.c_str(), &end);
      if (end != num.c_str() + num.size()) return std::nullopt;
      return v;
    }
    if (c == '{') return Group('{', '}');
    if (c == '(') return Group('(', ')');
    if (Eat("\\frac")) {
      auto a = Group('{', '}');
      auto b = a ? Group('{', '}') : std::nullopt;
      if (!a || !b || *b == 0) return std::nullopt;
      return *a / *b;
    }
    if (Eat("\\sqrt")) {
      double index = 2;
      if (pos_ < s_.size() && s_[pos_] == '[') {
        auto n = Group('[', ']');
        if (!n || *n == 0) return std::nullopt;
        index = *n;
      }
      auto a = Group('{', '}');
      if (!a || *a < 0) return std::nullopt;
      return std::pow(*a, 1.0 / index);
    }
    if (Eat("\\pi")) return M_PI;
    return std::nullopt;
  }

  static constexpr int kMaxDepth = 100;  // bounds recursion on adversarial input
  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// Strips one pair of matching outer brackets; returns the open/close characters ("" if none).
std::string OuterBrackets(std::string& s) {
  if (s.size() < 2) return "";
  if (StartsWith(s, "\\{") && EndsWith(s, "\\}")) {
    s = s.substr(2, s.size() - 4);
    return "{}";
  }
  char o = s.front(), c = s.back();
  if ((o == '(' || o == '[') && (c == ')' || c == ']')) {
    // Must be one group: the opening bracket closes at the end.
    int depth = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      if (s[i] == '(' || s[i] == '[' || s[i] == '{') ++depth;
      if (s[i] == ')' || s[i] == ']' || s[i] == '}') --depth;
      if (depth == 0) return "";
    }
    s = s.substr(1, s.size() - 2);
    return std::string{o, c};
  }
  return "";
}

bool ScalarEquivalent(const std::string& p, const std::string& g) {
  if (p == g) return true;
  auto vp = EvaluateConstant(p), vg = EvaluateConstant(g);
  if (vp && vg) return Close(*vp, *vg);
  return false;
}

bool NormalizedEquivalent(std::string p, std::string g, int depth) {
  if (ScalarEquivalent(p, g)) return true;
  if (depth > 3) return false;
  std::string bp = OuterBrackets(p), bg = OuterBrackets(g);
  std::vector<std::string> ep = SplitTopLevel(p, ','), eg = SplitTopLevel(g, ',');
  if (ep.size() != eg.size() || (ep.size() == 1 && bp.empty() && bg.empty())) return false;
  bool ordered = bp == "()" || bp == "[]" || bp == "(]" || bp == "[)" || bg == "()" || bg == "[]" ||
                 bg == "(]" || bg == "[)";
  if (ordered) {
    if (bp != bg) return false;
    for (size_t i = 0; i < ep.size(); ++i)
      if (!NormalizedEquivalent(ep[i], eg[i], depth + 1)) return false;
    return true;
  }
  if (ep.size() == 1) return NormalizedEquivalent(ep[0], eg[0], depth + 1);
  std::vector<bool> used(eg.size(), false);
  for (const std::string& x : ep) {
    bool found = false;
    for (size_t j = 0; j < eg.size() && !found; ++j)
      if (!used[j] && NormalizedEquivalent(x, eg[j], depth + 1)) used[j] = found = true;
    if (!found) return false;
  }
  return true;
}

}  // namespace

std::string NormalizeLatex(std::string_view in) {
  std::string s = Trim(in);
  s = ReplaceAll(s, "\n", "");
  s = ReplaceAll(s, "\xe2\x88\x92", "-");  // U+2212 minus
  for (const char* sp : {"\\!", "\\,", "\\;", "\\:", "\\ ", "\\quad", "\\displaystyle", "~"}) s = ReplaceAll(s, sp, " ");
  s = ReplaceAll(s, "\\dfrac", "\\frac");
  s = ReplaceAll(s, "\\tfrac", "\\frac");
  s = ReplaceAll(s, "\\left", "");
  s = ReplaceAll(s, "\\right", "");
  for (const char* deg : {"^{\\circ}", "^\\circ", "\xc2\xb0", "\\circ", "\\degree"}) s = ReplaceAll(s, deg, "");
  for (const char* cut : {"\\%", "%", "\\$", "$"}) s = ReplaceAll(s, cut, "");
  s = ReplaceAll(s, "{,}", "");
  s = Trim(s);
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  s = DropUnits(s);
  s = UnwrapTextCommands(s);
  s = DropLhs(s);
  std::string out;
  for (char c : s)
    if (c != ' ') out += c;
  s = FixBareArguments(out);
  // Thousands separators: "10,000" (the whole answer is one grouped number).
  {
    bool grouped = s.find(',') != std::string::npos;
    std::vector<std::string> parts = SplitTopLevel(s, ',');
    for (size_t i = 0; i < parts.size() && grouped; ++i) {
      bool digits = !parts[i].empty();
      for (char c : parts[i]) digits = digits && (IsDigit(c) || (i + 1 == parts.size() && c == '.') || (i == 0 && c == '-'));
      size_t intlen = parts[i].find('.') == std::string::npos ? parts[i].size() : parts[i].find('.');
      if (!digits || (i > 0 && intlen != 3) || (i == 0 && (intlen == 0 || intlen > 4))) grouped = false;
    }
    if (grouped) s = ReplaceAll(s, ",", "");
  }
  if (StartsWith(s, ".")) s = "0" + s;
  if (StartsWith(s, "-.")) s = "-0" + s.substr(1);
  s = FixSlash(s);
  return s;
}

std::optional<double> EvaluateConstant(std::string_view normalized) {
  if (normalized.empty()) return std::nullopt;
  return Evaluator(normalized).Run();
}

std::optional<double> ParseNumericAnswer(std::string_view in) {
  // A space before text wrappers keeps "18\text{dollars}" a number followed by a unit word.
  std::string s = UnwrapTextCommands(ReplaceAll(ReplaceAll(std::string(in), "\\text{", " \\text{"), "\\mbox{", " \\mbox{"));
  s = ReplaceAll(s, "\xe2\x88\x92", "-");
  for (const char* cut : {"\\$", "$", "\\%", "%", "\\!", "\\,", "{,}", "~", "\\ "}) s = ReplaceAll(s, cut, " ");
  size_t eq = s.rfind('=');
  if (eq != std::string::npos) s = s.substr(eq + 1);
  s = Trim(s);
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  // Whole-string constant (fractions, \frac, decimals), with commas between digit groups removed.
  std::string compact;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',' && i > 0 && i + 1 < s.size() && IsDigit(s[i - 1]) && IsDigit(s[i + 1])) continue;
    if (s[i] != ' ') compact += s[i];
  }
  if (auto v = EvaluateConstant(NormalizeLatex(compact))) return v;
  // A leading number followed only by words (units): "18 dollars", "5 cm^2".
  size_t i = 0;
  std::string num;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) num += s[i++];
  while (i < s.size() && (IsDigit(s[i]) || s[i] == '.' || (s[i] == ',' && i + 1 < s.size() && IsDigit(s[i + 1])))) {
    if (s[i] != ',') num += s[i];
    ++i;
  }
  if (num.empty() || num == "-" || num == "+") return std::nullopt;
  // Units must be separate words: "2x" or "3a" is an expression, not 2 or 3.
  if (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) return std::nullopt;
  for (size_t j = i; j < s.size(); ++j)
    if (IsDigit(s[j]) && !(j > 0 && s[j - 1] == '^')) return std::nullopt;  // a second number
  char* end = nullptr;
  double v = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size()) return std::nullopt;
  return v;
}

bool NumericEquivalent(std::string_view pred, std::string_view gold) {
  auto p = ParseNumericAnswer(pred), g = ParseNumericAnswer(gold);
  if (p && g) return Close(*p, *g);
  if (!p && !g) return LatexEquivalent(pred, gold);
  return false;
}

bool LatexEquivalent(std::string_view pred, std::string_view gold) {
  std::string p = NormalizeLatex(pred), g = NormalizeLatex(gold);
  if (p.empty() || g.empty()) return false;
  if (NormalizedEquivalent(p, g, 0)) return true;
  return ToLower(p) == ToLower(g);
}

}  // namespace kvpress::eval
