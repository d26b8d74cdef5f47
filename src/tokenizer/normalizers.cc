// Normalizers of tokenizer.json: NFC/NFD/NFKC/NFKD, Lowercase, Prepend, Replace, Strip, Sequence.
#include <fmt/format.h>

#include "core/json_parse.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/text_pattern.h"
#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

using nlohmann::json;

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(unicode::NormalForm form) : form_(form) {}
  Status Normalize(std::string& text) const override {
    text = unicode::Normalize(text, form_);
    return Status::Ok();
  }

 private:
  unicode::NormalForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  Status Normalize(std::string& text) const override {
    text = unicode::Lowercase(text);
    return Status::Ok();
  }
};

// Prepends `prefix` to non-empty text.
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  Status Normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
    return Status::Ok();
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  Status Normalize(std::string& text) const override { return pattern_.ReplaceAll(text, content_); }

 private:
  TextPattern pattern_;
  std::string content_;
};

// Removes leading and/or trailing whitespace (char::is_whitespace).
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  Status Normalize(std::string& text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      size_t pos = 0;
      char32_t c = 0;
      while (pos < end && unicode::DecodeOne(text, pos, c) && unicode::IsWhitespace(c)) begin = pos;
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t pos = start;
        char32_t c = 0;
        if (!unicode::DecodeOne(text, pos, c) || !unicode::IsWhitespace(c)) break;
        end = start;
      }
    }
    text = text.substr(begin, end - begin);
    return Status::Ok();
  }

 private:
  bool left_, right_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> stages)
      : stages_(std::move(stages)) {}
  Status Normalize(std::string& text) const override {
    for (const auto& s : stages_) RETURN_IF_ERROR(s->Normalize(text));
    return Status::Ok();
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> stages_;
};

}  // namespace

StatusOr<std::unique_ptr<Normalizer>> MakeNormalizer(const json& spec) {
  if (spec.is_null()) return std::unique_ptr<Normalizer>();
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return InvalidArgument("normalizer: expected an object with a \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  try {
    if (type == "NFC")
      return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::NormalForm::kNFC));
    if (type == "NFD")
      return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::NormalForm::kNFD));
    if (type == "NFKC")
      return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::NormalForm::kNFKC));
    if (type == "NFKD")
      return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::NormalForm::kNFKD));
    if (type == "Lowercase") return std::unique_ptr<Normalizer>(new LowercaseNormalizer());
    if (type == "Prepend") {
      return std::unique_ptr<Normalizer>(
          new PrependNormalizer(spec.at("prepend").get<std::string>()));
    }
    if (type == "Replace") {
      ASSIGN_OR_RETURN(TextPattern p,
                       TextPattern::FromJson(spec.at("pattern"), "normalizer Replace"));
      return std::unique_ptr<Normalizer>(
          new ReplaceNormalizer(std::move(p), spec.at("content").get<std::string>()));
    }
    if (type == "Strip") {
      return std::unique_ptr<Normalizer>(
          new StripNormalizer(spec.value("strip_left", true), spec.value("strip_right", true)));
    }
    if (type == "Sequence") {
      std::vector<std::unique_ptr<Normalizer>> stages;
      for (const json& s : spec.at("normalizers")) {
        ASSIGN_OR_RETURN(auto stage, MakeNormalizer(s));
        if (stage) stages.push_back(std::move(stage));
      }
      return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(stages)));
    }
  } catch (const json::exception& e) {
    return InvalidArgument(fmt::format("normalizer {}: {}", type, JsonErrorText(e)));
  }
  return Unimplemented(
      fmt::format("normalizer type '{}' is not supported (supported: NFC, NFD, "
                  "NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence)",
                  type));
}

}  // namespace kvpress
