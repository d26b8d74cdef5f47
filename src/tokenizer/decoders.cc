// Decoders of tokenizer.json: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder,
// Sequence (HF `decoders/*.rs`).
#include <fmt/format.h>

#include <cctype>
#include <string>

#include "core/json_parse.h"
#include "tokenizer/components.h"
#include "tokenizer/text_pattern.h"
#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

using nlohmann::json;

// GPT-2 characters back to bytes; a token with a character outside the map is taken verbatim.
class ByteLevelDecoder : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens, bool lossy) const override {
    std::string bytes, tmp;
    for (const std::string& t : tokens) {
      if (unicode::ByteLevelToBytes(t, tmp)) {
        bytes += tmp;
      } else {
        bytes += t;
      }
    }
    tokens.assign(1, lossy ? unicode::LossyUtf8(bytes) : std::move(bytes));
    return Status::Ok();
  }
  bool IsPureByteLevel() const override { return true; }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool strip_first)
      : replacement_(replacement), strip_first_(strip_first) {}
  Status DecodeChain(std::vector<std::string>& tokens, bool) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      const std::string& t = tokens[i];
      std::string out;
      out.reserve(t.size());
      size_t pos = 0;
      while (pos < t.size()) {
        const size_t start = pos;
        char32_t c = 0;
        if (!unicode::DecodeOne(t, pos, c)) {  // raw bytes (non-lossy streaming): keep them
          out.push_back(t[pos++]);
          continue;
        }
        if (c != replacement_) {
          out.append(t, start, pos - start);
        } else if (!(i == 0 && strip_first_)) {
          out.push_back(' ');
        }
      }
      tokens[i] = std::move(out);
    }
    return Status::Ok();
  }

 private:
  char32_t replacement_;
  bool strip_first_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  Status DecodeChain(std::vector<std::string>& tokens, bool) const override {
    for (std::string& t : tokens) RETURN_IF_ERROR(pattern_.ReplaceAll(t, content_));
    return Status::Ok();
  }

 private:
  TextPattern pattern_;
  std::string content_;
};

// `<0xXX>` tokens back to bytes; a run of them that is not valid UTF-8 becomes one U+FFFD per
// byte (lossy) or stays raw.
class ByteFallbackDecoder : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens, bool lossy) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string run;
    auto flush = [&] {
      if (run.empty()) return;
      if (!lossy || unicode::FindInvalidUtf8(run) == std::string::npos) {
        out.push_back(run);
      } else {
        for (size_t k = 0; k < run.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      run.clear();
    };
    for (std::string& t : tokens) {
      unsigned int byte = 0;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
          std::isxdigit(static_cast<unsigned char>(t[3])) &&
          std::isxdigit(static_cast<unsigned char>(t[4]))) {
        byte = static_cast<unsigned int>(std::stoul(t.substr(3, 2), nullptr, 16));
        run.push_back(static_cast<char>(byte));
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens = std::move(out);
    return Status::Ok();
  }
};

class FuseDecoder : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens, bool) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
    return Status::Ok();
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  Status DecodeChain(std::vector<std::string>& tokens, bool) const override {
    const size_t n = content_.size();
    for (std::string& t : tokens) {
      size_t begin = 0, end = t.size();
      for (size_t k = 0; k < start_ && begin + n <= end && t.compare(begin, n, content_) == 0; ++k)
        begin += n;
      for (size_t k = 0; k < stop_ && end >= begin + n && t.compare(end - n, n, content_) == 0; ++k)
        end -= n;
      t = t.substr(begin, end - begin);
    }
    return Status::Ok();
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

// BPEDecoder: the end-of-word suffix becomes a space (nothing on the last token).
class BpeSuffixDecoder : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  Status DecodeChain(std::vector<std::string>& tokens, bool) const override {
    const TextPattern p = TextPattern::Literal(suffix_);
    for (size_t i = 0; i < tokens.size(); ++i) {
      RETURN_IF_ERROR(p.ReplaceAll(tokens[i], i + 1 == tokens.size() ? "" : " "));
    }
    return Status::Ok();
  }

 private:
  std::string suffix_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> stages)
      : stages_(std::move(stages)) {}
  Status DecodeChain(std::vector<std::string>& tokens, bool lossy) const override {
    for (const auto& s : stages_) RETURN_IF_ERROR(s->DecodeChain(tokens, lossy));
    return Status::Ok();
  }

 private:
  std::vector<std::unique_ptr<Decoder>> stages_;
};

}  // namespace

StatusOr<std::unique_ptr<Decoder>> MakeDecoder(const json& spec) {
  if (spec.is_null()) return std::unique_ptr<Decoder>();
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return InvalidArgument("decoder: expected an object with a \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  try {
    if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
    if (type == "Metaspace") {
      const std::string r = spec.at("replacement").get<std::string>();
      size_t pos = 0;
      char32_t c = 0;
      if (!unicode::DecodeOne(r, pos, c) || pos != r.size()) {
        return InvalidArgument("decoder Metaspace: 'replacement' must be a single character");
      }
      bool strip_first = spec.value("prepend_scheme", std::string("always")) != "never";
      if (spec.contains("add_prefix_space") && spec["add_prefix_space"] == false)
        strip_first = false;
      return std::unique_ptr<Decoder>(new MetaspaceDecoder(c, strip_first));
    }
    if (type == "Replace") {
      ASSIGN_OR_RETURN(TextPattern p, TextPattern::FromJson(spec.at("pattern"), "decoder Replace"));
      return std::unique_ptr<Decoder>(
          new ReplaceDecoder(std::move(p), spec.at("content").get<std::string>()));
    }
    if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
    if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
    if (type == "Strip") {
      return std::unique_ptr<Decoder>(new StripDecoder(spec.at("content").get<std::string>(),
                                                       spec.value("start", size_t{0}),
                                                       spec.value("stop", size_t{0})));
    }
    if (type == "BPEDecoder") {
      return std::unique_ptr<Decoder>(
          new BpeSuffixDecoder(spec.value("suffix", std::string("</w>"))));
    }
    if (type == "Sequence") {
      std::vector<std::unique_ptr<Decoder>> stages;
      for (const json& s : spec.at("decoders")) {
        ASSIGN_OR_RETURN(auto stage, MakeDecoder(s));
        if (stage) stages.push_back(std::move(stage));
      }
      if (stages.size() == 1) return std::move(stages[0]);
      return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(stages)));
    }
  } catch (const json::exception& e) {
    return InvalidArgument(fmt::format("decoder {}: {}", type, JsonErrorText(e)));
  }
  return Unimplemented(
      fmt::format("decoder type '{}' is not supported (supported: ByteLevel, Metaspace, "
                  "Replace, ByteFallback, Fuse, Strip, BPEDecoder, Sequence)",
                  type));
}

}  // namespace kvpress
