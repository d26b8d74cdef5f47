// Conversion of a tokenizer between its GGUF metadata form (tokenizer.ggml.*, model-formats.md §4)
// and its Hugging Face form (tokenizer.json + tokenizer_config.json, §6), for `kvpress convert`.
// Both directions keep the ids: the tokenizer.json written for a GGUF byte-level vocabulary encodes
// exactly as llama.cpp tokenizes the GGUF (same split regexes, see gguf_pre_types.h), and the
// metadata written for a tokenizer.json reads back, in llama.cpp and here, as that tokenizer.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace kvpress {

// The two files of a Hugging Face tokenizer directory.
struct HfTokenizerFiles {
  nlohmann::ordered_json tokenizer_json;
  nlohmann::ordered_json tokenizer_config;
};

// tokenizer.json and tokenizer_config.json for GGUF `metadata` with tokenizer.ggml.model "gpt2":
// BPE (vocab, merges, ignore_merges of the pre type), control / user-defined tokens as special /
// plain added tokens, the pre type's Split stages + ByteLevel, a TemplateProcessing post-processor
// when BOS/EOS are added, a ByteLevel decoder; the config carries bos/eos/unk/pad tokens,
// add_bos_token / add_eos_token and the chat template(s). `origin` names the file in errors.
// Unimplemented for other tokenizer models (SentencePiece-style `llama` vocabularies) and for
// unsupported pre types; DataLoss for malformed metadata.
StatusOr<HfTokenizerFiles> HfTokenizerFromGguf(const nlohmann::json& metadata,
                                               const std::string& origin);

// The GGUF tokenizer metadata for the Hugging Face tokenizer in `dir` (tokenizer.json, with
// tokenizer_config.json / chat_template.jinja when present), as an object of GGUF keys:
// tokenizer.ggml.{model "gpt2", pre, tokens, token_type, merges, bos/eos/unknown/padding_token_id,
// add_bos_token, add_eos_token} and tokenizer.chat_template[.<name>] (+ tokenizer.chat_templates).
// Ids missing from the tokenizer up to `vocab_size` (the model's embedding rows) are written as
// "[PAD<id>]" tokens of type unused (5), as llama.cpp's converter does. Token types are small
// non-negative integers here; they are GGUF i32 values. NotFound when `dir` has no tokenizer.json;
// Unimplemented when the tokenizer is not byte-level BPE or its pre-tokenizer matches no
// tokenizer.ggml.pre value (the message says which stage).
StatusOr<nlohmann::ordered_json> GgufTokenizerMetadataFromHf(const std::string& dir,
                                                             int64_t vocab_size);

}  // namespace kvpress
