// The stages of a Hugging Face tokenizer pipeline (tokenizer.json): normalizer, pre-tokenizer
// and decoder, each built from its JSON spec. Semantics follow `tokenizers` (Rust) exactly for
// the outputs we produce (ids and text); offsets are not tracked.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace kvpress {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `text` (valid UTF-8) in place.
  virtual Status Normalize(std::string& text) const = 0;
};

// One piece of text on its way to the model. `at_start`: the piece begins at offset 0 of the
// original input (Metaspace's prepend_scheme "first" looks at that).
struct PreToken {
  std::string text;
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every piece further (dropping empty ones), in order.
  virtual Status Split(std::vector<PreToken>& pieces) const = 0;
  // True when this stage (or one inside a Sequence) is ByteLevel: the model then works on
  // raw bytes (see BpeOptions::byte_level).
  virtual bool IsByteLevel() const { return false; }
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // HF's decode_chain: rewrites the list of token strings. With `lossy`, invalid UTF-8 becomes
  // U+FFFD exactly where HF puts it; without, raw bytes are kept (for streaming).
  virtual Status DecodeChain(std::vector<std::string>& tokens, bool lossy) const = 0;
  // True for a lone ByteLevel decoder (enables a fast path in the tokenizer).
  virtual bool IsPureByteLevel() const { return false; }
};

// Builders from tokenizer.json specs. A JSON null yields nullptr (the stage is absent).
// Unsupported types are Unimplemented errors naming the type; malformed specs InvalidArgument.
StatusOr<std::unique_ptr<Normalizer>> MakeNormalizer(const nlohmann::json& spec);
StatusOr<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const nlohmann::json& spec);
StatusOr<std::unique_ptr<Decoder>> MakeDecoder(const nlohmann::json& spec);

// The split patterns of the families we know, for loaders that do not carry one.
inline constexpr const char* kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
inline constexpr const char* kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr const char* kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// JSON spec of the pre-tokenizer Sequence[Split(pattern, Isolated), ByteLevel(no prefix, no regex)]
// used by Llama-3 and Qwen2 (and built for vocab.json, tiktoken and GGUF `gpt2` vocabularies).
nlohmann::json ByteLevelSplitSpec(const std::string& pattern);

}  // namespace kvpress
