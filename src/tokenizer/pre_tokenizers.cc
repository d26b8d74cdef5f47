// Pre-tokenizers of tokenizer.json: Split, ByteLevel, Metaspace, Digits, Whitespace,
// WhitespaceSplit, Sequence (HF `pre_tokenizers/*.rs` and NormalizedString::split).
#include <fmt/format.h>
#include <utf8proc.h>

#include <algorithm>
#include <functional>

#include "core/json_parse.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/text_pattern.h"
#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

using nlohmann::json;
using Ranges = std::vector<std::pair<size_t, size_t>>;

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

StatusOr<Behavior> ParseBehavior(const std::string& s) {
  if (s == "Removed") return Behavior::kRemoved;
  if (s == "Isolated") return Behavior::kIsolated;
  if (s == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::kMergedWithNext;
  if (s == "Contiguous") return Behavior::kContiguous;
  return InvalidArgument(fmt::format("pre_tokenizer Split: unknown behavior '{}'", s));
}

struct Segment {
  size_t start, end;
  bool flag;  // is_match before the behavior is applied; "remove" after
};

// NormalizedString::split: `matches` are the pattern's matches in `piece.text`; the pieces it
// produces are appended to `out` (empty ones dropped).
void SplitByMatches(PreToken& piece, const Ranges& matches, Behavior behavior, bool invert,
                    std::vector<PreToken>& out) {
  const std::string& text = piece.text;
  if (text.empty()) return;
  std::vector<Segment> segs;
  segs.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (const auto& [s, e] : matches) {
    if (prev != s) segs.push_back({prev, s, invert});
    segs.push_back({s, e, !invert});
    prev = e;
  }
  if (prev != text.size()) segs.push_back({prev, text.size(), invert});
  if (segs.size() == 1 && !segs[0].flag) {  // nothing to split: keep the piece as is
    out.push_back(std::move(piece));
    return;
  }
  std::vector<Segment> res;
  res.reserve(segs.size());
  switch (behavior) {
    case Behavior::kIsolated:
      for (const Segment& s : segs) res.push_back({s.start, s.end, false});
      break;
    case Behavior::kRemoved:
      res = segs;
      break;
    case Behavior::kContiguous: {
      bool previous = false;
      for (const Segment& s : segs) {
        if (s.flag == previous && !res.empty()) {
          res.back().end = s.end;
        } else {
          res.push_back({s.start, s.end, false});
        }
        previous = s.flag;
      }
      break;
    }
    case Behavior::kMergedWithPrevious: {
      bool previous = false;
      for (const Segment& s : segs) {
        if (s.flag && !previous && !res.empty()) {
          res.back().end = s.end;
        } else {
          res.push_back({s.start, s.end, false});
        }
        previous = s.flag;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->flag && !previous && !res.empty()) {
          res.back().start = it->start;
        } else {
          res.push_back({it->start, it->end, false});
        }
        previous = it->flag;
      }
      std::reverse(res.begin(), res.end());
      break;
    }
  }
  for (const Segment& s : res) {
    if (s.flag || s.end == s.start) continue;
    out.push_back(PreToken{text.substr(s.start, s.end - s.start), piece.at_start && s.start == 0});
  }
}

// Each character satisfying `pred` is one match.
Ranges CharMatches(std::string_view text, const std::function<bool(char32_t)>& pred) {
  Ranges r;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const char32_t c = unicode::NextChar(text, pos);
    if (pred(c)) r.emplace_back(start, pos);
  }
  return r;
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(TextPattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  Status Split(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    out.reserve(pieces.size() * 4);
    Ranges matches;
    for (PreToken& p : pieces) {
      matches.clear();
      RETURN_IF_ERROR(pattern_.FindMatches(p.text, matches));
      SplitByMatches(p, matches, behavior_, invert_, out);
    }
    pieces = std::move(out);
    return Status::Ok();
  }

 private:
  TextPattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// Splits on characters satisfying a predicate (Digits, WhitespaceSplit, Metaspace's split).
class CharSplitPreTokenizer : public PreTokenizer {
 public:
  CharSplitPreTokenizer(std::function<bool(char32_t)> pred, Behavior behavior)
      : pred_(std::move(pred)), behavior_(behavior) {}
  Status Split(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    for (PreToken& p : pieces) SplitByMatches(p, CharMatches(p.text, pred_), behavior_, false, out);
    pieces = std::move(out);
    return Status::Ok();
  }

 private:
  std::function<bool(char32_t)> pred_;
  Behavior behavior_;
};

// Bytes are mapped to GPT-2 characters by the model (byte-level mode), so this stage only adds
// the prefix space and applies the GPT-2 split regex.
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<PreTokenizer> split)
      : add_prefix_space_(add_prefix_space), split_(std::move(split)) {}
  Status Split(std::vector<PreToken>& pieces) const override {
    if (add_prefix_space_) {
      for (PreToken& p : pieces) {
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, 1, ' ');
      }
    }
    return split_ ? split_->Split(pieces) : Status::Ok();
  }
  bool IsByteLevel() const override { return true; }

 private:
  bool add_prefix_space_;
  std::unique_ptr<PreTokenizer> split_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : scheme_(scheme), split_(split), replacement_char_(replacement) {
    unicode::AppendUtf8(replacement_, replacement);
  }
  Status Split(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    for (PreToken& p : pieces) {
      std::string& t = p.text;
      for (size_t pos = t.find(' '); pos != std::string::npos;
           pos = t.find(' ', pos + replacement_.size())) {
        t.replace(pos, 1, replacement_);
      }
      const bool starts = t.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts &&
          (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.at_start))) {
        t.insert(0, replacement_);
      }
      if (split_) {
        const char32_t r = replacement_char_;
        SplitByMatches(p, CharMatches(t, [r](char32_t c) { return c == r; }),
                       Behavior::kMergedWithNext, false, out);
      } else if (!t.empty()) {
        out.push_back(std::move(p));
      }
    }
    pieces = std::move(out);
    return Status::Ok();
  }

 private:
  PrependScheme scheme_;
  bool split_;
  char32_t replacement_char_;
  std::string replacement_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> stages)
      : stages_(std::move(stages)) {}
  Status Split(std::vector<PreToken>& pieces) const override {
    for (const auto& s : stages_) RETURN_IF_ERROR(s->Split(pieces));
    return Status::Ok();
  }
  bool IsByteLevel() const override {
    for (const auto& s : stages_) {
      if (s->IsByteLevel()) return true;
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> stages_;
};

bool IsNumeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

StatusOr<std::unique_ptr<PreTokenizer>> RegexSplit(const std::string& pattern, Behavior b,
                                                   bool invert) {
  ASSIGN_OR_RETURN(auto re, Regex::Compile(pattern));
  return std::unique_ptr<PreTokenizer>(
      new SplitPreTokenizer(TextPattern::FromRegex(std::move(re)), b, invert));
}

StatusOr<char32_t> SingleChar(const json& spec, const char* key, const std::string& type) {
  const std::string s = spec.at(key).get<std::string>();
  size_t pos = 0;
  char32_t c = 0;
  if (!unicode::DecodeOne(s, pos, c) || pos != s.size()) {
    return InvalidArgument(
        fmt::format("pre_tokenizer {}: '{}' must be a single character", type, key));
  }
  return c;
}

}  // namespace

json ByteLevelSplitSpec(const std::string& pattern) {
  return json{{"type", "Sequence"},
              {"pretokenizers", json::array({json{{"type", "Split"},
                                                  {"pattern", {{"Regex", pattern}}},
                                                  {"behavior", "Isolated"},
                                                  {"invert", false}},
                                             json{{"type", "ByteLevel"},
                                                  {"add_prefix_space", false},
                                                  {"trim_offsets", false},
                                                  {"use_regex", false}}})}};
}

StatusOr<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const json& spec) {
  if (spec.is_null()) return std::unique_ptr<PreTokenizer>();
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return InvalidArgument("pre_tokenizer: expected an object with a \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  try {
    if (type == "Split") {
      ASSIGN_OR_RETURN(TextPattern p,
                       TextPattern::FromJson(spec.at("pattern"), "pre_tokenizer Split"));
      ASSIGN_OR_RETURN(Behavior b, ParseBehavior(spec.at("behavior").get<std::string>()));
      return std::unique_ptr<PreTokenizer>(
          new SplitPreTokenizer(std::move(p), b, spec.value("invert", false)));
    }
    if (type == "ByteLevel") {
      std::unique_ptr<PreTokenizer> split;
      if (spec.value("use_regex", true)) {
        ASSIGN_OR_RETURN(split, RegexSplit(kGpt2SplitPattern, Behavior::kIsolated, false));
      }
      return std::unique_ptr<PreTokenizer>(
          new ByteLevelPreTokenizer(spec.value("add_prefix_space", true), std::move(split)));
    }
    if (type == "Metaspace") {
      ASSIGN_OR_RETURN(char32_t r, SingleChar(spec, "replacement", type));
      PrependScheme scheme = PrependScheme::kAlways;
      const std::string s = spec.value("prepend_scheme", std::string("always"));
      if (s == "first")
        scheme = PrependScheme::kFirst;
      else if (s == "never")
        scheme = PrependScheme::kNever;
      else if (s != "always")
        return InvalidArgument("pre_tokenizer Metaspace: unknown prepend_scheme '" + s + "'");
      if (spec.contains("add_prefix_space") && spec["add_prefix_space"] == false)
        scheme = PrependScheme::kNever;
      return std::unique_ptr<PreTokenizer>(
          new MetaspacePreTokenizer(r, scheme, spec.value("split", true)));
    }
    if (type == "Digits") {
      const Behavior b =
          spec.value("individual_digits", false) ? Behavior::kIsolated : Behavior::kContiguous;
      return std::unique_ptr<PreTokenizer>(new CharSplitPreTokenizer(IsNumeric, b));
    }
    if (type == "WhitespaceSplit") {
      return std::unique_ptr<PreTokenizer>(
          new CharSplitPreTokenizer(unicode::IsWhitespace, Behavior::kRemoved));
    }
    if (type == "Whitespace") return RegexSplit(R"(\w+|[^\w\s]+)", Behavior::kRemoved, true);
    if (type == "Sequence") {
      std::vector<std::unique_ptr<PreTokenizer>> stages;
      for (const json& s : spec.at("pretokenizers")) {
        ASSIGN_OR_RETURN(auto stage, MakePreTokenizer(s));
        if (stage) stages.push_back(std::move(stage));
      }
      return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(stages)));
    }
  } catch (const json::exception& e) {
    return InvalidArgument(fmt::format("pre_tokenizer {}: {}", type, JsonErrorText(e)));
  }
  return Unimplemented(
      fmt::format("pre_tokenizer type '{}' is not supported (supported: Split, "
                  "ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, "
                  "Sequence)",
                  type));
}

}  // namespace kvpress
