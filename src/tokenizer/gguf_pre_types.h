// The pre-tokenization of GGUF byte-level BPE vocabularies (tokenizer.ggml.model "gpt2"), one
// entry per tokenizer.ggml.pre value that llama.cpp accepts: the list of split regexes it applies
// in sequence and the tokenizer flags that value implies (model-formats.md §4).
//
// Source of the facts: llama.cpp's src/llama-vocab.cpp (llm_tokenizer_bpe and the pre-type
// switch of llama_vocab::impl::load) and src/unicode.cpp (unicode_regex_split), as vendored by
// llama-cpp-python 0.3.36. llama.cpp runs most of these regexes with std::regex on a "collapsed"
// text where every non-ASCII code point stands for its Unicode category; the patterns below are
// written so that PCRE2 (UTF + UCP) on the real text gives the same pieces (see the .cc).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kvpress {

// One split stage. By default each match and each stretch of text between matches becomes a
// piece (HF Split behaviour "Isolated"). With `gap_joins_next_match` the text between matches
// is glued to the match that follows it (HF "MergedWithNext" with `invert`), as llama.cpp's
// digit-grouping splitter (afmoe, tiny_aya) does.
struct GgufSplit {
  GgufSplit(const char* r, bool glue = false) : regex(r), gap_joins_next_match(glue) {}  // NOLINT
  GgufSplit(std::string r, bool glue = false)
      : regex(std::move(r)), gap_joins_next_match(glue) {}  // NOLINT
  bool operator==(const GgufSplit& o) const {
    return regex == o.regex && gap_joins_next_match == o.gap_joins_next_match;
  }
  std::string regex;
  bool gap_joins_next_match = false;
};

// What one tokenizer.ggml.pre value means.
struct GgufPreType {
  // Split stages applied in order, each to every piece, before the GPT-2 byte mapping.
  std::vector<GgufSplit> splits;
  // A whole pre-token that is a vocabulary entry is emitted without merging (HF ignore_merges).
  bool ignore_merges = false;
  // BOS is added when tokenizer.ggml.add_bos_token is absent (llama.cpp's per-type default).
  bool add_bos = false;
  // llama.cpp drops the BOS id for this type (chatglm-bpe, glm4, glm5).
  bool no_bos = false;
};

// The entry for `pre` (tokenizer.ggml.pre; "" means absent, which llama.cpp treats as
// "default"). Unimplemented for a value llama.cpp does not accept or that needs more than split
// regexes over byte-level BPE (e.g. kimi-k2's custom splitter, gemma4's raw-UTF-8 BPE); the
// message lists every supported value.
StatusOr<GgufPreType> FindGgufPreType(std::string_view pre);

// BOS/EOS of a GGUF `gpt2` vocabulary of `n_tokens` tokens as llama.cpp resolves them: ids from
// tokenizer.ggml.bos/eos_token_id (default 11 for both; BOS dropped for `type.no_bos`; -1 when
// out of range), add_bos/add_eos from tokenizer.ggml.add_bos/eos_token (defaults: the pre type's
// add_bos, false). DataLoss (no `origin` prefix) when a flag asks for a token that is absent.
struct GgufBpeSpecials {
  int bos = -1, eos = -1;
  bool add_bos = false, add_eos = false;
};
StatusOr<GgufBpeSpecials> ResolveGgufBpeSpecials(const nlohmann::json& metadata,
                                                 const GgufPreType& type, size_t n_tokens);

// Every supported tokenizer.ggml.pre value, sorted.
std::vector<std::string> GgufPreTypeNames();

// The tokenizer.json pre_tokenizer of `type`: Sequence[Split(regex, ...)..., ByteLevel
// (no prefix space, no regex)], which Hugging Face `tokenizers` and MakePreTokenizer both run.
nlohmann::json GgufPreTokenizerSpec(const GgufPreType& type);

// The tokenizer.ggml.pre value whose split stages are exactly `splits` ("" when none is), for
// writing a GGUF from a tokenizer.json pre_tokenizer. Hugging Face spellings of the same
// patterns are accepted ((?i:'s|...), GPT-2's trailing |\s+). The first name of an entry is
// returned (llama-bpe, qwen2, gpt-2, starcoder, ...).
// Among entries with those splits, one whose ignore_merges equals `ignore_merges` is preferred.
std::string GgufPreTypeForSplits(std::vector<GgufSplit> splits, bool ignore_merges);

}  // namespace kvpress
