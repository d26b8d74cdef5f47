// The `pattern` of tokenizer.json's Split / Replace stages: {"String": s} or {"Regex": r}.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/regex.h"

namespace kvpress {

class TextPattern {
 public:
  // `what` names the stage in error messages.
  static StatusOr<TextPattern> FromJson(const nlohmann::json& spec, const std::string& what);
  static TextPattern Literal(std::string literal);
  static TextPattern FromRegex(std::shared_ptr<const Regex> regex);

  // Non-overlapping, non-empty matches in `text`, left to right, as byte ranges.
  Status FindMatches(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;
  // Replaces every match with `content`.
  Status ReplaceAll(std::string& text, std::string_view content) const;

 private:
  std::string literal_;  // used when regex_ is null
  std::shared_ptr<const Regex> regex_;
};

}  // namespace kvpress
