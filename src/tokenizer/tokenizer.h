// The tokenizer interface every vocabulary format implements.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kvpress {

// Options of Tokenizer::EncodeWith (Hugging Face `encode` semantics).
struct EncodeOptions {
  // Apply the post-processor: the BOS (and/or EOS) the model expects (HF add_special_tokens).
  bool add_special = false;
  // Treat the text of special tokens as plain text instead of mapping it to their ids
  // (HF split_special_tokens). Non-special added tokens are still matched.
  bool split_special = false;
};

// Options of Tokenizer::DecodeWith.
struct DecodeOptions {
  bool skip_special = false;  // drop special tokens (HF skip_special_tokens)
  // Replace invalid UTF-8 with U+FFFD where the reference decoder does; false keeps the raw
  // bytes (what a streaming decoder needs to hold back a partial character).
  bool lossy = true;
};

// A token matched in the input before the model runs (tokenizer.json `added_tokens`).
struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;       // absorbs whitespace on its left
  bool rstrip = false;       // absorbs whitespace on its right
  bool single_word = false;  // matches only on word boundaries
  bool normalized = false;   // matched against normalized text (else against the raw input)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text -> ids. With add_special, the BOS the model expects is prepended (when it has one).
  // Special-token text in `text` maps to the special ids (as Hugging Face does by default).
  virtual StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_special) const = 0;
  virtual StatusOr<std::vector<int32_t>> EncodeWith(std::string_view text,
                                                    const EncodeOptions& options) const {
    return Encode(text, options.add_special);
  }
  // Raw bytes of one token's piece (byte tokens give their byte); "" for out-of-range ids.
  virtual std::string Piece(int32_t id) const = 0;
  // Ids -> text, as the reference decoder renders it (may be invalid UTF-8 mid-sequence).
  virtual std::string Decode(std::span<const int32_t> ids) const = 0;
  virtual std::string DecodeWith(std::span<const int32_t> ids, const DecodeOptions& options) const {
    return Decode(ids);
  }
  virtual int VocabSize() const = 0;
  virtual int BosId() const = 0;  // -1 when none
  virtual int EosId() const = 0;  // -1 when none

  // The token's string as the vocabulary spells it (HF id_to_token: e.g. "Ġthe", "▁the",
  // "<|im_end|>"); "" for unknown ids.
  virtual std::string IdToToken(int32_t id) const { return Piece(id); }
  // The id of a vocabulary string or added-token content (HF token_to_id), or -1.
  virtual int32_t TokenToId(std::string_view token) const { return -1; }
  // Whether `id` is a special token (dropped by skip_special).
  virtual bool IsSpecial(int32_t id) const { return id >= 0 && (id == BosId() || id == EosId()); }
  // Whether Encode(text, add_special=true) prepends BosId().
  virtual bool AddsBos() const { return BosId() >= 0; }
  // The added tokens (special or not), by increasing id.
  virtual std::vector<AddedToken> AddedTokens() const { return {}; }
  // One line describing the format and size, e.g. "tokenizer.json BPE (byte-level), 151669 ids".
  virtual std::string Description() const { return ""; }
};

// Turns a stream of ids into text pieces that are always complete UTF-8 (bytes of a partial
// multi-byte character are held back until it completes). Only a short window of recent ids is
// re-decoded per step, so the cost per token stays constant over long generations.
class StreamingDecoder {
 public:
  // `context` ids (e.g. the prompt) are decoded for context but never emitted, so a decoder that
  // depends on the previous token (leading-space rules) renders the first new token correctly.
  explicit StreamingDecoder(const Tokenizer& tok, std::span<const int32_t> context = {});
  // Appends `id` and returns the newly completed text (possibly empty).
  std::string Push(int32_t id);
  // Whatever is still held back (invalid UTF-8 is flushed as is).
  std::string Flush();

 private:
  // Decodes ids_[start_:] keeping raw bytes.
  std::string DecodeWindow() const;

  const Tokenizer& tok_;
  std::vector<int32_t> ids_;
  size_t start_ = 0;          // first id of the decoding window
  size_t emitted_bytes_ = 0;  // bytes of DecodeWindow() already returned
};

// Length of the longest prefix of `s` that ends on a UTF-8 character boundary (an incomplete
// trailing sequence is excluded).
size_t CompleteUtf8Prefix(std::string_view s);

}  // namespace kvpress
