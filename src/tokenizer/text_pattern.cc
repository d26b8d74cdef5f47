#include "tokenizer/text_pattern.h"

#include <fmt/format.h>

namespace kvpress {

StatusOr<TextPattern> TextPattern::FromJson(const nlohmann::json& spec, const std::string& what) {
  if (spec.is_object() && spec.contains("String") && spec["String"].is_string()) {
    return Literal(spec["String"].get<std::string>());
  }
  if (spec.is_object() && spec.contains("Regex") && spec["Regex"].is_string()) {
    auto re = Regex::Compile(spec["Regex"].get<std::string>());
    if (!re.ok()) return InvalidArgument(fmt::format("{}: {}", what, re.status().message()));
    return FromRegex(std::move(re).value());
  }
  return InvalidArgument(
      fmt::format("{}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}", what));
}

TextPattern TextPattern::Literal(std::string literal) {
  TextPattern p;
  p.literal_ = std::move(literal);
  return p;
}

TextPattern TextPattern::FromRegex(std::shared_ptr<const Regex> regex) {
  TextPattern p;
  p.regex_ = std::move(regex);
  return p;
}

Status TextPattern::FindMatches(std::string_view text,
                                std::vector<std::pair<size_t, size_t>>& out) const {
  if (regex_) return regex_->FindAll(text, out);
  if (literal_.empty()) return Status::Ok();
  for (size_t pos = text.find(literal_); pos != std::string_view::npos;
       pos = text.find(literal_, pos + literal_.size())) {
    out.emplace_back(pos, pos + literal_.size());
  }
  return Status::Ok();
}

Status TextPattern::ReplaceAll(std::string& text, std::string_view content) const {
  std::vector<std::pair<size_t, size_t>> matches;
  RETURN_IF_ERROR(FindMatches(text, matches));
  if (matches.empty()) return Status::Ok();
  std::string out;
  out.reserve(text.size() + matches.size() * content.size());
  size_t prev = 0;
  for (const auto& [start, end] : matches) {
    out.append(text, prev, start - prev);
    out.append(content);
    prev = end;
  }
  out.append(text, prev, std::string::npos);
  text = std::move(out);
  return Status::Ok();
}

}  // namespace kvpress
