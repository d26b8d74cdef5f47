// The BPE model shared by every vocabulary format (tokenizer.json, vocab.json + merges.txt,
// tiktoken, GGUF, SentencePiece): it turns one pre-token into ids.
//
// Semantics follow Hugging Face `tokenizers` (models/bpe): start from one symbol per character
// (per byte in byte-level mode), then repeatedly apply the adjacent merge of lowest rank, leftmost
// first, with HF's priority-queue bookkeeping. Score-based vocabularies (SentencePiece, GGUF
// `llama`) and rank-based ones (tiktoken) are expressed as merge tables by their loaders.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/flat_map.h"

namespace kvpress {

struct BpeOptions {
  // Pre-tokens are raw bytes and token strings are stored as raw bytes (the GPT-2 characters of
  // byte-level vocabularies are decoded at load time); each byte is an initial symbol.
  bool byte_level = false;
  // Characters missing from the vocabulary become `<0xXX>` tokens, one per UTF-8 byte.
  bool byte_fallback = false;
  // Consecutive unknown characters become a single unk token.
  bool fuse_unk = false;
  // A pre-token that is itself a vocabulary entry is emitted whole, without merging.
  bool ignore_merges = false;
  int32_t unk_id = -1;  // -1: unknown characters are dropped (HF behaviour without unk_token)
};

class BpeModel {
 public:
  // `tokens[id]` is the string of token `id` (raw bytes in byte-level mode). Empty strings mark
  // ids the model does not define (e.g. ids owned by added tokens).
  BpeModel(BpeOptions options, std::vector<std::string> tokens);

  // Registers a merge by ids; a later merge of the same pair replaces the earlier one.
  void AddMerge(int32_t left, int32_t right, int32_t result, uint32_t rank);
  // Registers the merge "left right" by token strings (rank = its position). NotFound when a
  // side or the concatenation is not in the vocabulary.
  Status AddMerge(std::string_view left, std::string_view right, uint32_t rank);
  // Derives merges from token priorities, as SentencePiece (scores) and tiktoken (ranks) do:
  // every split of a token into two vocabulary entries becomes a merge ranked by
  // `priority[token]` (lower merges first). Tokens with a negative priority are never produced.
  void AddMergesFromPriorities(const std::vector<int64_t>& priority);

  // Appends the ids of one pre-token to `out`.
  void Tokenize(std::string_view piece, std::vector<int32_t>& out) const;

  int32_t TokenToId(std::string_view token) const { return vocab_.Find(token); }
  // The token's string ("" for undefined ids).
  const std::string& IdToToken(int32_t id) const;
  int32_t Size() const { return static_cast<int32_t>(tokens_.size()); }
  const BpeOptions& options() const { return options_; }

 private:
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    uint32_t len;  // bytes covered; 0 once merged into its left neighbour
  };
  void InitialSymbols(std::string_view piece, std::vector<Symbol>& symbols) const;
  void MergeSymbols(std::vector<Symbol>& symbols) const;

  BpeOptions options_;
  std::vector<std::string> tokens_;
  StringIdMap vocab_;
  PairMergeMap merges_;
  int32_t byte_ids_[256];  // byte-level: the single-byte token; byte fallback: <0xXX>

  // Pre-token -> ids memo, as HF's BPE cache (bounded; pieces up to kMaxCachedLength bytes).
  struct TransparentHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static constexpr size_t kMaxCachedLength = 256;
  static constexpr size_t kCacheCapacity = 65536;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, TransparentHash, std::equal_to<>>
      cache_;
};

}  // namespace kvpress
