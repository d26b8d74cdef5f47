#include "eval/extract.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <vector>

#include "eval/text_util.h"

namespace kvpress::eval {

namespace {

// Index just past the matching '}' for the '{' at `open`, or npos when unbalanced.
size_t MatchBrace(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      ++i;  // escaped brace: \{ \}
      continue;
    }
    if (s[i] == '{') ++depth;
    else if (s[i] == '}' && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

// Python float(): optional sign, decimal/exponent, inf/nan, underscores between digits.
bool PythonFloatParses(const std::string& s) {
  if (s.empty()) return false;
  std::string t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (i == 0 || i + 1 == s.size() || !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[i + 1])))
        return false;
      continue;
    }
    t += s[i];
  }
  std::string low = ToLower(t);
  size_t k = (low[0] == '+' || low[0] == '-') ? 1 : 0;
  std::string body = low.substr(k);
  if (body == "inf" || body == "infinity" || body == "nan") return true;
  if (body.find('x') != std::string::npos) return false;  // strtod takes hex, Python does not
  for (char c : body)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' || c == '-')) return false;
  char* end = nullptr;
  errno = 0;
  std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && end != t.c_str();
}

bool PythonIsAlpha(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!(std::isalpha(c) || c >= 0x80)) return false;
  return true;
}

// The fork's cue step: lowercased text after the last occurrence of the first cue present,
// stripped, first line, before the first '.'.
std::optional<std::string> ForkCue(const std::string& response, const std::vector<std::string>& cues) {
  std::string low = ToLower(response);
  for (const std::string& cue : cues) {
    size_t p = low.rfind(cue);
    if (p == std::string::npos) continue;
    std::string after = Trim(low.substr(p + cue.size()));
    after = after.substr(0, after.find('\n'));
    return after.substr(0, after.find('.'));
  }
  return std::nullopt;
}

// The fork's boxed step: content after the last "boxed{" with brace matching.
std::optional<std::string> ForkBoxed(const std::string& s, bool unwrap_text) {
  size_t p = s.rfind("boxed{");
  if (p == std::string::npos) return std::nullopt;
  size_t open = p + 5;
  size_t close = MatchBrace(s, open);
  std::string content = close == std::string::npos ? s.substr(open + 1) : s.substr(open + 1, close - open - 2);
  if (unwrap_text) {
    size_t t = content.find("\\text{");
    if (t != std::string::npos) {
      size_t e = MatchBrace(content, t + 5);
      if (e != std::string::npos) return Trim(content.substr(t + 6, e - t - 7));
    }
  }
  return Trim(content);
}

const std::vector<std::string> kForkCues1 = {"final answer is", "correct answer is", "answer should be", "answer is",
                                             "answer:"};
const std::vector<std::string> kForkCues2 = {"option",  "answer",  "option:",   "answer:",
                                             "option.", "answer.", "option is", "correct option is"};

// Cuts `s` at the end of its first sentence: a '.' followed by whitespace or the end, unless it
// sits between digits.
std::string FirstSentence(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '.') continue;
    bool next_digit = i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]));
    if (!next_digit) return s.substr(0, i);
  }
  return s;
}

std::string CleanAnswer(std::string s) {
  s = Trim(s);
  // Markdown emphasis and math delimiters around the whole answer.
  for (const char* wrap : {"**", "$$", "$", "\\(", "\\["}) {
    std::string w(wrap);
    if (s.size() >= 2 * w.size() && s.compare(0, w.size(), w) == 0) {
      std::string close = w == "\\(" ? "\\)" : w == "\\[" ? "\\]" : w;
      size_t e = s.rfind(close);
      if (e != std::string::npos && e >= w.size()) s = Trim(s.substr(w.size(), e - w.size()) + s.substr(e + close.size()));
    }
  }
  while (!s.empty() && (s.back() == '.' || s.back() == ',' || s.back() == ';' || s.back() == '*')) s.pop_back();
  while (!s.empty() && s.front() == '*') s.erase(0, 1);
  return Trim(s);
}

}  // namespace

std::optional<std::string> LastBoxed(std::string_view text) {
  size_t best = std::string_view::npos, name_len = 0;
  for (std::string_view name : {std::string_view("\\boxed"), std::string_view("\\fbox")}) {
    size_t p = text.rfind(name);
    if (p != std::string_view::npos && (best == std::string_view::npos || p > best)) {
      best = p;
      name_len = name.size();
    }
  }
  if (best == std::string_view::npos) return std::nullopt;
  size_t i = best + name_len;
  if (i < text.size() && text[i] == '{') {
    size_t close = MatchBrace(text, i);
    if (close == std::string_view::npos) return std::string(text.substr(i + 1));
    return std::string(text.substr(i + 1, close - i - 2));
  }
  // "\boxed 5": the next whitespace-delimited token.
  while (i < text.size() && text[i] == ' ') ++i;
  size_t e = i;
  while (e < text.size() && !std::isspace(static_cast<unsigned char>(text[e])) && text[e] != '$') ++e;
  return std::string(text.substr(i, e - i));
}

std::string UnwrapTextCommands(std::string_view in) {
  std::string s(in);
  for (const char* cmd : {"\\text{", "\\textbf{", "\\mathrm{", "\\mbox{", "\\textit{", "\\mathbf{"}) {
    std::string c(cmd);
    size_t p;
    while ((p = s.find(c)) != std::string::npos) {
      size_t open = p + c.size() - 1;
      size_t close = MatchBrace(s, open);
      if (close == std::string::npos) {
        s.erase(p, c.size());
        continue;
      }
      std::string inner = s.substr(open + 1, close - open - 2);
      // "18\text{dollars}": keep the number and the unit word apart.
      if (p > 0 && std::isdigit(static_cast<unsigned char>(s[p - 1])) && !inner.empty() &&
          std::isalpha(static_cast<unsigned char>(inner[0])))
        inner = " " + inner;
      s = s.substr(0, p) + inner + s.substr(close);
    }
  }
  return s;
}

std::string ForkExtract(DatasetKind kind, std::string_view response_in) {
  std::string s = Trim(std::string(response_in));
  if (kind == DatasetKind::kFolio || kind == DatasetKind::kStrategyQa) {
    std::string low = ToLower(s);
    if (low == "true" || low == "false" || (kind == DatasetKind::kFolio && low == "uncertain"))
      return kind == DatasetKind::kFolio ? s : low;
    if (s.find("boxed{") != std::string::npos) return *ForkBoxed(s, kind == DatasetKind::kFolio);
    return ForkCue(s, kForkCues1).value_or("");
  }
  if (PythonFloatParses(s) || PythonIsAlpha(s)) return s;
  if (s.find("boxed{") != std::string::npos) return *ForkBoxed(s, /*unwrap_text=*/false);
  if (auto a = ForkCue(s, kForkCues1)) return *a;
  if (auto a = ForkCue(s, kForkCues2)) return *a;
  return "";
}

std::string ExtractAnswer(DatasetKind kind, std::string_view response_in) {
  std::string response(response_in);
  if (auto boxed = LastBoxed(response)) return CleanAnswer(UnwrapTextCommands(*boxed));
  std::string low = ToLower(response);
  for (const char* cue : {"final answer is", "final answer:", "correct answer is", "correct option is",
                          "answer should be", "answer is", "answer:"}) {
    size_t p = low.rfind(cue);
    if (p == std::string::npos) continue;
    std::string after = Trim(response.substr(p + std::string(cue).size()));
    while (!after.empty() && (after.front() == ':' || after.front() == '*')) after = Trim(after.substr(1));
    after = after.substr(0, after.find('\n'));
    return CleanAnswer(UnwrapTextCommands(FirstSentence(after)));
  }
  std::string t = Trim(response);
  if (t.find('\n') == std::string::npos && t.size() <= 40) return CleanAnswer(UnwrapTextCommands(t));
  if (IsMathDataset(kind)) {
    std::string last = LastNumber(response);
    if (!last.empty()) return last;
  }
  return "";
}

}  // namespace kvpress::eval
