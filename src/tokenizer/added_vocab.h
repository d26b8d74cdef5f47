// Added tokens (tokenizer.json `added_tokens`, GGUF control/user-defined tokens, tiktoken
// specials): found in the input before the model runs, as HF's AddedVocabulary does it.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/components.h"
#include "tokenizer/flat_map.h"
#include "tokenizer/tokenizer.h"

namespace kvpress {

class AddedVocabulary {
 public:
  // A piece of input: a plain span [start, end) or an added token's match (id >= 0).
  struct Span {
    size_t start, end;
    int32_t id;
  };

  // Adds or replaces (same content) a token.
  void Add(AddedToken token);
  // Prepares matching; tokens with `normalized` are matched in their normalized form, computed
  // with `normalizer` (may be null).
  Status Build(const Normalizer* normalizer);

  // HF find_matches: splits `text` with the raw (`normalized_set` false) or the normalized
  // token set, honouring lstrip/rstrip/single_word. Leftmost-longest, non-overlapping.
  // With `split_special`, special tokens are not matched.
  void Split(std::string_view text, bool normalized_set, bool split_special,
             std::vector<Span>& out) const;
  bool HasNormalizedTokens() const { return !normalized_.empty(); }

  const AddedToken* Find(int32_t id) const;
  int32_t IdOf(std::string_view content) const { return by_content_.Find(content); }
  // The string HF decodes for the token (its normalized form when it has one).
  const std::string& DecodeString(int32_t id) const;
  // All tokens by increasing id.
  std::vector<AddedToken> Tokens() const;
  bool empty() const { return tokens_.empty(); }

 private:
  // Leftmost-longest matcher over a small set of strings: candidate lengths are tried longest
  // first at each position whose first byte can start a pattern.
  struct Matcher {
    bool can_start[256] = {};
    std::vector<size_t> lengths;  // distinct pattern lengths, descending
    StringIdMap patterns;         // pattern -> token id
    void Add(const std::string& pattern, int32_t id);
    void Finish();
    bool empty() const { return patterns.size() == 0; }
  };

  std::unordered_map<int32_t, AddedToken> tokens_;
  std::unordered_map<int32_t, std::string> normalized_form_;
  StringIdMap by_content_;
  Matcher raw_, normalized_;
};

}  // namespace kvpress
