// The Hugging Face tokenizer pipeline: added tokens -> normalizer -> pre-tokenizer -> BPE ->
// post-processor, and ids -> decoder -> text. Every BPE format is loaded into this one class:
// tokenizer.json directly, vocab.json + merges.txt, tiktoken, GGUF and SentencePiece by building
// the equivalent pipeline (see the loaders in load_tokenizer.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/added_vocab.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/components.h"
#include "tokenizer/tokenizer.h"

namespace kvpress {

class HfTokenizer : public Tokenizer {
 public:
  struct Parts {
    std::unique_ptr<Normalizer> normalizer;       // may be null
    std::unique_ptr<PreTokenizer> pre_tokenizer;  // may be null
    std::unique_ptr<BpeModel> model;              // required
    std::unique_ptr<Decoder> decoder;             // may be null (tokens joined with spaces)
    std::vector<AddedToken> added_tokens;
    // Single-sequence post-processing (TemplateProcessing): ids around the text.
    std::vector<int32_t> special_prefix, special_suffix;
    int bos_id = -1, eos_id = -1;
    std::string description;
  };
  // Checks the parts fit together (byte-level model <=> ByteLevel pre-tokenizer, ids in range).
  static StatusOr<std::unique_ptr<HfTokenizer>> Create(Parts parts);

  StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_special) const override;
  StatusOr<std::vector<int32_t>> EncodeWith(std::string_view text,
                                            const EncodeOptions& options) const override;
  std::string Piece(int32_t id) const override;
  std::string Decode(std::span<const int32_t> ids) const override;
  std::string DecodeWith(std::span<const int32_t> ids, const DecodeOptions& options) const override;
  int VocabSize() const override { return vocab_size_; }
  int BosId() const override { return parts_.bos_id; }
  int EosId() const override { return parts_.eos_id; }
  std::string IdToToken(int32_t id) const override;
  int32_t TokenToId(std::string_view token) const override;
  bool IsSpecial(int32_t id) const override;
  bool AddsBos() const override;
  std::vector<AddedToken> AddedTokens() const override { return added_.Tokens(); }
  std::string Description() const override { return parts_.description; }

  const BpeModel& model() const { return *parts_.model; }
  // Loaders resolve BOS/EOS by name once the vocabulary is built.
  void SetBosEos(int bos_id, int eos_id) {
    parts_.bos_id = bos_id;
    parts_.eos_id = eos_id;
  }

 private:
  explicit HfTokenizer(Parts parts) : parts_(std::move(parts)) {}
  // Normalizes, pre-tokenizes and BPE-encodes one span of input that holds no added token
  // from the raw set; `at_start`: it begins at offset 0 of the input.
  Status EncodePlain(std::string_view text, bool at_start, bool split_special,
                     std::vector<int32_t>& ids) const;

  Parts parts_;
  AddedVocabulary added_;
  int vocab_size_ = 0;
};

}  // namespace kvpress
