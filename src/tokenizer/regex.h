// Unicode regular expressions for pre-tokenization, through PCRE2 (UTF + UCP, JIT-compiled).
//
// Hugging Face `tokenizers` runs its split patterns with Oniguruma; PCRE2 accepts the same syntax
// for everything these patterns use (\p{L}, \p{N}, (?i:...), (?!...), possessive-free classes).
// One difference is bridged here: Oniguruma's \s is the White_Space property, which includes
// U+0085 (NEL); PCRE2 10.42's \s in UCP mode does not, so the pattern is rewritten to add it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kvpress {

class Regex {
 public:
  // Compiles `pattern`. InvalidArgument naming the pattern and PCRE2's message on a syntax error.
  static StatusOr<std::shared_ptr<const Regex>> Compile(const std::string& pattern);
  // A regex matching `literal` exactly (meta-characters escaped).
  static StatusOr<std::shared_ptr<const Regex>> Literal(std::string_view literal);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // All non-overlapping, non-empty matches in `text` (which must be valid UTF-8), as byte
  // [start, end) pairs, appended to `out`. Thread-safe.
  Status FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

// Rewrites Oniguruma-style \s / \S so that PCRE2 matches U+0085 as whitespace too (see above).
std::string TranslateOnigPattern(const std::string& pattern);

}  // namespace kvpress
