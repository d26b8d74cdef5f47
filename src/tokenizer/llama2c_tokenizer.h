// llama2.c `tokenizer.bin` vocabularies (model-formats.md §5), with run.c's encode/decode.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kvpress {

class Llama2cTokenizer : public Tokenizer {
 public:
  // Loads `path` for a vocabulary of `vocab_size` tokens (the model's; the file has no count).
  // A negative `vocab_size` reads tokens until the end of the file.
  static StatusOr<std::unique_ptr<Llama2cTokenizer>> Load(const std::string& path, int vocab_size);

  // run.c semantics: BOS (id 1) when add_special, a dummy-prefix " " token for non-empty text,
  // code points looked up whole or as byte tokens (id = byte + 3), then greedy highest-score
  // merges.
  StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_special) const override;
  std::string Piece(int32_t id) const override;
  // Pieces concatenated; a piece following BOS loses its leading space; <0xXX> become bytes.
  std::string Decode(std::span<const int32_t> ids) const override;
  int VocabSize() const override { return static_cast<int>(pieces_.size()); }
  int BosId() const override { return 1; }
  int EosId() const override { return 2; }
  int32_t TokenToId(std::string_view token) const override {
    auto it = lookup_.find(std::string(token));
    return it == lookup_.end() ? -1 : it->second;
  }
  std::string Description() const override { return "llama2.c tokenizer.bin"; }

 private:
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t> lookup_;
};

}  // namespace kvpress
