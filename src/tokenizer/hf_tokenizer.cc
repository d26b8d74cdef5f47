#include "tokenizer/hf_tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "tokenizer/unicode_util.h"

namespace kvpress {

StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::Create(Parts parts) {
  if (!parts.model) return Internal("HfTokenizer: no model");
  const bool byte_level_pre = parts.pre_tokenizer && parts.pre_tokenizer->IsByteLevel();
  if (byte_level_pre != parts.model->options().byte_level) {
    return Internal("HfTokenizer: the model's byte-level mode does not match the pre-tokenizer");
  }
  auto tok = std::unique_ptr<HfTokenizer>(new HfTokenizer(std::move(parts)));
  int max_id = tok->parts_.model->Size() - 1;
  for (AddedToken& t : tok->parts_.added_tokens) {
    if (t.id < 0)
      return InvalidArgument(fmt::format("added token '{}' has a negative id", t.content));
    max_id = std::max(max_id, t.id);
    tok->added_.Add(std::move(t));
  }
  tok->parts_.added_tokens.clear();
  RETURN_IF_ERROR(tok->added_.Build(tok->parts_.normalizer.get()));
  tok->vocab_size_ = max_id + 1;
  for (int32_t id : tok->parts_.special_prefix) {
    if (id < 0 || id > max_id)
      return InvalidArgument(fmt::format("post_processor: id {} is not in the vocabulary", id));
  }
  for (int32_t id : tok->parts_.special_suffix) {
    if (id < 0 || id > max_id)
      return InvalidArgument(fmt::format("post_processor: id {} is not in the vocabulary", id));
  }
  return tok;
}

StatusOr<std::vector<int32_t>> HfTokenizer::Encode(std::string_view text, bool add_special) const {
  EncodeOptions options;
  options.add_special = add_special;
  return EncodeWith(text, options);
}

StatusOr<std::vector<int32_t>> HfTokenizer::EncodeWith(std::string_view text,
                                                       const EncodeOptions& options) const {
  const size_t bad = unicode::FindInvalidUtf8(text);
  if (bad != std::string_view::npos) {
    return InvalidArgument(
        fmt::format("text is not valid UTF-8 (byte {} of {})", bad, text.size()));
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (options.add_special) ids = parts_.special_prefix;
  std::vector<AddedVocabulary::Span> spans;
  added_.Split(text, /*normalized_set=*/false, options.split_special, spans);
  for (const auto& s : spans) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else {
      RETURN_IF_ERROR(EncodePlain(text.substr(s.start, s.end - s.start), s.start == 0,
                                  options.split_special, ids));
    }
  }
  if (options.add_special)
    ids.insert(ids.end(), parts_.special_suffix.begin(), parts_.special_suffix.end());
  return ids;
}

Status HfTokenizer::EncodePlain(std::string_view text, bool at_start, bool split_special,
                                std::vector<int32_t>& ids) const {
  std::string normalized(text);
  if (parts_.normalizer) RETURN_IF_ERROR(parts_.normalizer->Normalize(normalized));
  std::vector<AddedVocabulary::Span> spans;
  if (added_.HasNormalizedTokens()) {
    added_.Split(normalized, /*normalized_set=*/true, split_special, spans);
  } else if (!normalized.empty()) {
    spans.push_back(AddedVocabulary::Span{0, normalized.size(), -1});
  }
  std::vector<PreToken> pieces;
  for (const auto& s : spans) {
    if (s.id >= 0) {
      ids.push_back(s.id);
      continue;
    }
    pieces.clear();
    pieces.push_back(
        PreToken{normalized.substr(s.start, s.end - s.start), at_start && s.start == 0});
    if (parts_.pre_tokenizer) RETURN_IF_ERROR(parts_.pre_tokenizer->Split(pieces));
    for (const PreToken& p : pieces) parts_.model->Tokenize(p.text, ids);
  }
  return Status::Ok();
}

std::string HfTokenizer::Decode(std::span<const int32_t> ids) const {
  return DecodeWith(ids, DecodeOptions());
}

std::string HfTokenizer::DecodeWith(std::span<const int32_t> ids,
                                    const DecodeOptions& options) const {
  const BpeModel& model = *parts_.model;
  const bool byte_level = model.options().byte_level;
  if (parts_.decoder && parts_.decoder->IsPureByteLevel()) {
    // Fast path of the ByteLevel decoder: model tokens are stored as raw bytes already.
    std::string bytes, tmp;
    for (int32_t id : ids) {
      if (const AddedToken* t = added_.Find(id)) {
        if (options.skip_special && t->special) continue;
        const std::string& s = added_.DecodeString(id);
        bytes += unicode::ByteLevelToBytes(s, tmp) ? tmp : s;
      } else {
        bytes += model.IdToToken(id);
      }
    }
    return options.lossy ? unicode::LossyUtf8(bytes) : bytes;
  }
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* t = added_.Find(id)) {
      if (options.skip_special && t->special) continue;
      tokens.push_back(added_.DecodeString(id));
    } else if (const std::string& s = model.IdToToken(id); !s.empty()) {
      tokens.push_back(byte_level ? unicode::BytesToByteLevel(s) : s);
    }
  }
  std::string out;
  if (!parts_.decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out += ' ';
      out += tokens[i];
    }
    return out;
  }
  if (!parts_.decoder->DecodeChain(tokens, options.lossy).ok()) return "";
  for (const std::string& t : tokens) out += t;
  return out;
}

std::string HfTokenizer::Piece(int32_t id) const {
  if (const AddedToken* t = added_.Find(id)) return t->content;
  const BpeModel& model = *parts_.model;
  const std::string& s = model.IdToToken(id);
  if (model.options().byte_level) return s;
  unsigned int byte = 0;
  if (model.options().byte_fallback && s.size() == 6 && s.compare(0, 3, "<0x") == 0 &&
      s[5] == '>' && std::from_chars(s.data() + 3, s.data() + 5, byte, 16).ptr == s.data() + 5) {
    return std::string(1, static_cast<char>(byte));
  }
  std::string out;  // "▁" (U+2581) stands for a space
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size(); ++pos) {
    if (s.compare(pos, 3, "\xE2\x96\x81") == 0) {
      out += ' ';
      pos += 2;
    } else {
      out += s[pos];
    }
  }
  return out;
}

std::string HfTokenizer::IdToToken(int32_t id) const {
  if (const AddedToken* t = added_.Find(id)) return t->content;
  const std::string& s = parts_.model->IdToToken(id);
  return parts_.model->options().byte_level ? unicode::BytesToByteLevel(s) : s;
}

int32_t HfTokenizer::TokenToId(std::string_view token) const {
  const int32_t added = added_.IdOf(token);
  if (added >= 0) return added;
  if (!parts_.model->options().byte_level) return parts_.model->TokenToId(token);
  std::string bytes;
  if (!unicode::ByteLevelToBytes(token, bytes)) return -1;
  return parts_.model->TokenToId(bytes);
}

bool HfTokenizer::IsSpecial(int32_t id) const {
  const AddedToken* t = added_.Find(id);
  return t != nullptr && t->special;
}

bool HfTokenizer::AddsBos() const {
  return parts_.bos_id >= 0 && !parts_.special_prefix.empty() &&
         parts_.special_prefix.front() == parts_.bos_id;
}

}  // namespace kvpress
