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

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text -> ids. With add_special, the BOS the model expects is prepended (when it has one).
  virtual StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_special) const = 0;
  // Raw bytes of one token's piece (byte tokens give their byte); "" for out-of-range ids.
  virtual std::string Piece(int32_t id) const = 0;
  // Ids -> text, as the reference decoder renders it (may be invalid UTF-8 mid-sequence).
  virtual std::string Decode(std::span<const int32_t> ids) const = 0;
  virtual int VocabSize() const = 0;
  virtual int BosId() const = 0;  // -1 when none
  virtual int EosId() const = 0;  // -1 when none
};

// Turns a stream of ids into text pieces that are always complete UTF-8 (bytes of a partial
// multi-byte character are held back until it completes).
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
  const Tokenizer& tok_;
  std::vector<int32_t> ids_;
  size_t emitted_bytes_ = 0;
};

// Length of the longest prefix of `s` that ends on a UTF-8 character boundary (an incomplete
// trailing sequence is excluded).
size_t CompleteUtf8Prefix(std::string_view s);

}  // namespace kvpress
