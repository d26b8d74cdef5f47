// SentencePiece-style vocabularies (GGUF `llama`, SentencePiece .model protobufs) and the GGUF
// `gpt2` byte-level vocabulary, all built into the HF pipeline that transformers' converters
// write for them.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/file_util.h"
#include "tokenizer/gguf_pre_types.h"
#include "tokenizer/hf_loaders.h"
#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

using nlohmann::json;

// GGUF token types (model-formats.md §4).
constexpr int kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3, kTypeUserDefined = 4;

// Minimal protobuf wire-format reader (varint, fixed32/64, length-delimited).
class ProtoReader {
 public:
  ProtoReader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  bool done() const { return p_ >= end_; }
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  // Reads a field header; `len` / `value` receive the payload of the field.
  bool Field(uint32_t& number, uint32_t& wire, const uint8_t*& data, uint64_t& value) {
    uint64_t key = 0;
    if (!Varint(key)) return false;
    number = static_cast<uint32_t>(key >> 3);
    wire = static_cast<uint32_t>(key & 7);
    data = nullptr;
    switch (wire) {
      case 0:
        return Varint(value);
      case 1:
        return Skip(8, data, value);
      case 5:
        return Skip(4, data, value);
      case 2:
        return Varint(value) && Skip(value, data, value);
      default:
        return false;
    }
  }

 private:
  bool Skip(uint64_t n, const uint8_t*& data, uint64_t& len) {
    if (n > static_cast<uint64_t>(end_ - p_)) return false;
    data = p_;
    len = n;
    p_ += n;
    return true;
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

int64_t MetaInt(const json& m, const char* key, int64_t fallback) {
  auto it = m.find(key);
  return it != m.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

bool MetaBool(const json& m, const char* key, bool fallback) {
  auto it = m.find(key);
  return it != m.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// A GGUF `gpt2` vocabulary as llama.cpp tokenizes it: the split regexes and flags of its
// tokenizer.ggml.pre (gguf_pre_types.h), GPT-2 byte mapping, rank-ordered merges; control
// tokens are special added tokens, user-defined ones plain added tokens (both matched before
// splitting, as llama.cpp's special-token partition does). No normalizer: llama.cpp has none.
StatusOr<std::unique_ptr<HfTokenizer>> LoadGgufGpt2(const json& m, const std::string& origin,
                                                    const std::vector<std::string>& strings,
                                                    const std::vector<int>& types) {
  const std::string pre = m.value("tokenizer.ggml.pre", std::string());
  auto found = FindGgufPreType(pre);
  if (!found.ok()) return Status(found.status().code(), origin + ": " + found.status().message());
  const GgufPreType& type = *found;
  HfTokenizer::Parts parts;
  std::vector<std::string> tokens(strings.size());
  std::string bytes;
  for (size_t id = 0; id < strings.size(); ++id) {
    const int tt = id < types.size() ? types[id] : kTypeNormal;
    if (tt == kTypeControl || tt == kTypeUserDefined) {
      AddedToken t;
      t.id = static_cast<int32_t>(id);
      t.content = strings[id];
      t.special = tt == kTypeControl;
      parts.added_tokens.push_back(std::move(t));
    } else if (unicode::ByteLevelToBytes(strings[id], bytes)) {
      tokens[id] = bytes;
    }
  }
  BpeOptions opt;
  opt.byte_level = true;
  opt.ignore_merges = type.ignore_merges;
  auto bpe = std::make_unique<BpeModel>(opt, std::move(tokens));
  const json merges = m.value("tokenizer.ggml.merges", json::array());
  std::string left, right;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string s =
        merges[rank].is_string() ? merges[rank].get<std::string>() : std::string();
    const size_t space = s.find(' ', 1);  // llama.cpp: the first space after the first byte
    if (space == std::string::npos)
      return DataLoss(
          fmt::format("{}: tokenizer.ggml.merges[{}] is not \"left right\"", origin, rank));
    if (!unicode::ByteLevelToBytes(std::string_view(s).substr(0, space), left) ||
        !unicode::ByteLevelToBytes(std::string_view(s).substr(space + 1), right)) {
      continue;
    }
    Status st = bpe->AddMerge(left, right, static_cast<uint32_t>(rank));
    if (!st.ok()) return DataLoss(fmt::format("{}: tokenizer.ggml.{}", origin, st.message()));
  }
  // tokenizer.ggml.add_space_prefix is not used by llama.cpp's BPE tokenizer.
  auto specials = ResolveGgufBpeSpecials(m, type, strings.size());
  if (!specials.ok())
    return Status(specials.status().code(), origin + ": " + specials.status().message());
  if (specials->add_bos) parts.special_prefix = {specials->bos};
  if (specials->add_eos) parts.special_suffix = {specials->eos};
  parts.bos_id = specials->bos;
  parts.eos_id = specials->eos;
  ASSIGN_OR_RETURN(parts.pre_tokenizer, MakePreTokenizer(GgufPreTokenizerSpec(type)));
  ASSIGN_OR_RETURN(parts.decoder, MakeDecoder(json{{"type", "ByteLevel"}}));
  parts.description = fmt::format("GGUF byte-level BPE (pre '{}'), {} tokens, {} merges",
                                  pre.empty() ? "default" : pre, strings.size(), merges.size());
  parts.model = std::move(bpe);
  auto tok = HfTokenizer::Create(std::move(parts));
  if (!tok.ok()) return Status(tok.status().code(), origin + ": " + tok.status().message());
  return tok;
}

}  // namespace

std::vector<int64_t> SentencePieceMergePriorities(const std::vector<float>& scores, size_t n) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const float sa = a < scores.size() ? scores[a] : 0.0f,
                sb = b < scores.size() ? scores[b] : 0.0f;
    return sa > sb;
  });
  std::vector<int64_t> priority(n, -1);
  for (size_t r = 0; r < n; ++r) priority[order[r]] = static_cast<int64_t>(r);
  return priority;
}

json SentencePieceNormalizerSpec(bool add_space_prefix) {
  const std::string space = "\xE2\x96\x81";  // U+2581
  json normalizers = json::array();
  if (add_space_prefix) normalizers.push_back(json{{"type", "Prepend"}, {"prepend", space}});
  normalizers.push_back(
      json{{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space}});
  return json{{"type", "Sequence"}, {"normalizers", std::move(normalizers)}};
}

json SentencePieceDecoderSpec() {
  const std::string space = "\xE2\x96\x81";
  return json{
      {"type", "Sequence"},
      {"decoders",
       json::array({json{{"type", "Replace"}, {"pattern", {{"String", space}}}, {"content", " "}},
                    json{{"type", "ByteFallback"}}, json{{"type", "Fuse"}},
                    json{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
}

StatusOr<std::unique_ptr<HfTokenizer>> BuildSentencePieceBpe(
    std::vector<std::string> tokens, const std::vector<float>& scores,
    const std::vector<int>& types, int bos_id, int eos_id, int unk_id, bool add_bos, bool add_eos,
    const std::string& description, bool add_space_prefix) {
  const size_t n = tokens.size();
  HfTokenizer::Parts parts;
  for (size_t id = 0; id < n; ++id) {
    const int type = id < types.size() ? types[id] : kTypeNormal;
    if (type == kTypeUnknown || type == kTypeControl || type == kTypeUserDefined) {
      AddedToken t;
      t.id = static_cast<int32_t>(id);
      t.content = tokens[id];
      t.special = type != kTypeUserDefined;
      parts.added_tokens.push_back(std::move(t));
    }
  }
  const std::vector<int64_t> priority = SentencePieceMergePriorities(scores, n);
  BpeOptions opt;
  opt.byte_fallback = true;
  opt.fuse_unk = true;
  opt.unk_id = unk_id;
  auto bpe = std::make_unique<BpeModel>(opt, std::move(tokens));
  bpe->AddMergesFromPriorities(priority);
  if (add_bos && bos_id >= 0) parts.special_prefix = {bos_id};
  if (add_eos && eos_id >= 0) parts.special_suffix = {eos_id};
  parts.bos_id = bos_id;
  parts.eos_id = eos_id;
  ASSIGN_OR_RETURN(parts.normalizer, MakeNormalizer(SentencePieceNormalizerSpec(add_space_prefix)));
  ASSIGN_OR_RETURN(parts.decoder, MakeDecoder(SentencePieceDecoderSpec()));
  parts.description = description;
  parts.model = std::move(bpe);
  return HfTokenizer::Create(std::move(parts));
}

namespace {

StatusOr<std::unique_ptr<HfTokenizer>> GgufVocab(const json& m, const std::string& origin) {
  if (!m.is_object() || !m.contains("tokenizer.ggml.model")) {
    return NotFound(origin + ": the GGUF metadata has no tokenizer (tokenizer.ggml.model)");
  }
  const std::string model =
      m["tokenizer.ggml.model"].is_string() ? m["tokenizer.ggml.model"].get<std::string>() : "";
  const json& toks = m.value("tokenizer.ggml.tokens", json());
  if (!toks.is_array() || toks.empty())
    return DataLoss(origin + ": tokenizer.ggml.tokens is missing or empty");
  std::vector<std::string> strings;
  strings.reserve(toks.size());
  for (const json& t : toks) {
    if (!t.is_string()) return DataLoss(origin + ": tokenizer.ggml.tokens holds a non-string");
    strings.push_back(t.get<std::string>());
  }
  std::vector<int> types;
  for (const json& t : m.value("tokenizer.ggml.token_type", json::array()))
    types.push_back(t.is_number() ? t.get<int>() : kTypeNormal);
  if (model == "gpt2") return LoadGgufGpt2(m, origin, strings, types);
  if (model != "llama") {
    return Unimplemented(
        fmt::format("{}: tokenizer.ggml.model '{}' is not supported (llama, gpt2)", origin, model));
  }
  std::vector<float> scores;
  for (const json& s : m.value("tokenizer.ggml.scores", json::array()))
    scores.push_back(s.is_number() ? s.get<float>() : 0.0f);
  if (scores.size() != strings.size()) {
    return DataLoss(
        fmt::format("{}: {} tokens but {} scores", origin, strings.size(), scores.size()));
  }
  const size_t n = strings.size();
  return BuildSentencePieceBpe(std::move(strings), scores, types,
                               static_cast<int>(MetaInt(m, "tokenizer.ggml.bos_token_id", 1)),
                               static_cast<int>(MetaInt(m, "tokenizer.ggml.eos_token_id", 2)),
                               static_cast<int>(MetaInt(m, "tokenizer.ggml.unknown_token_id", 0)),
                               MetaBool(m, "tokenizer.ggml.add_bos_token", true),
                               MetaBool(m, "tokenizer.ggml.add_eos_token", false),
                               fmt::format("GGUF SentencePiece BPE, {} tokens", n),
                               MetaBool(m, "tokenizer.ggml.add_space_prefix", true));
}

}  // namespace

StatusOr<std::unique_ptr<HfTokenizer>> LoadGgufVocab(const json& m, const std::string& origin) {
  try {
    return GgufVocab(m, origin);
  } catch (const json::exception& e) {  // a tokenizer key of the wrong GGUF type
    return DataLoss(fmt::format("{}: malformed tokenizer metadata ({})", origin, e.what()));
  }
}

StatusOr<std::unique_ptr<HfTokenizer>> LoadSentencePieceModel(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, ReadFileToString(path));
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int> types;
  uint64_t model_type = 1;  // UNIGRAM unless the trainer spec says otherwise
  int64_t unk = 0, bos = 1, eos = 2;
  const auto* base = reinterpret_cast<const uint8_t*>(data.data());
  ProtoReader r(base, data.size());
  const Status corrupt = DataLoss(path + ": not a SentencePiece model (malformed protobuf)");
  while (!r.done()) {
    uint32_t num = 0, wire = 0;
    const uint8_t* p = nullptr;
    uint64_t v = 0;
    if (!r.Field(num, wire, p, v)) return corrupt;
    if (num == 1 && wire == 2) {  // SentencePiece {1: piece, 2: score, 3: type}
      ProtoReader pr(p, v);
      std::string piece;
      float score = 0;
      int type = kTypeNormal;
      while (!pr.done()) {
        uint32_t n2 = 0, w2 = 0;
        const uint8_t* p2 = nullptr;
        uint64_t v2 = 0;
        if (!pr.Field(n2, w2, p2, v2)) return corrupt;
        if (n2 == 1 && w2 == 2) piece.assign(reinterpret_cast<const char*>(p2), v2);
        if (n2 == 2 && w2 == 5) std::memcpy(&score, p2, 4);
        if (n2 == 3 && w2 == 0) type = static_cast<int>(v2);
      }
      pieces.push_back(std::move(piece));
      scores.push_back(score);
      types.push_back(type);
    } else if (num == 2 && wire == 2) {  // TrainerSpec
      ProtoReader tr(p, v);
      while (!tr.done()) {
        uint32_t n2 = 0, w2 = 0;
        const uint8_t* p2 = nullptr;
        uint64_t v2 = 0;
        if (!tr.Field(n2, w2, p2, v2)) return corrupt;
        if (w2 != 0) continue;
        if (n2 == 3) model_type = v2;
        if (n2 == 40) unk = static_cast<int32_t>(v2);
        if (n2 == 41) bos = static_cast<int32_t>(v2);
        if (n2 == 42) eos = static_cast<int32_t>(v2);
      }
    }
  }
  if (pieces.empty()) return corrupt;
  if (model_type != 2) {
    return Unimplemented(fmt::format(
        "{}: SentencePiece model type {} is not supported (only BPE = 2)", path, model_type));
  }
  const size_t n = pieces.size();
  return BuildSentencePieceBpe(std::move(pieces), scores, types, static_cast<int>(bos),
                               static_cast<int>(eos), static_cast<int>(unk), true, false,
                               fmt::format("SentencePiece BPE .model, {} pieces", n));
}

}  // namespace kvpress
