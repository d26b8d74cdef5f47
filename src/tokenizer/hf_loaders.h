// Loaders that build an HfTokenizer from each BPE vocabulary format (model-formats.md §4, §6).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/hf_tokenizer.h"

namespace kvpress {

// Hugging Face tokenizer.json. BOS/EOS come from a tokenizer_config.json beside it when there is
// one, else from the post-processor and well-known token names.
StatusOr<std::unique_ptr<HfTokenizer>> LoadTokenizerJson(const std::string& path);

// vocab.json + merges.txt (GPT-2 / Qwen2 slow-tokenizer files). The split pattern, normalizer
// and added tokens come from a tokenizer_config.json beside them when present (tokenizer_class,
// added_tokens_decoder); without one, a 151643-entry vocabulary is taken as Qwen2 (its regex,
// NFC and specials) and anything else as GPT-2.
StatusOr<std::unique_ptr<HfTokenizer>> LoadVocabMerges(const std::string& vocab_path,
                                                       const std::string& merges_path);

// tiktoken BPE ranks (`<base64> <rank>` lines). A 128000-rank file is Llama-3's: its split
// regex, its 256 special tokens at 128000.. and BOS <|begin_of_text|>.
StatusOr<std::unique_ptr<HfTokenizer>> LoadTiktoken(const std::string& path);

// The vocabulary embedded in GGUF metadata (tokenizer.ggml.*), tokenized as llama.cpp does:
// model `llama` (SentencePiece BPE: score-ordered merges, byte fallback, "▁" spaces,
// add_space_prefix) or `gpt2` (byte-level BPE with merges and the split regexes and flags of
// tokenizer.ggml.pre, see gguf_pre_types.h). add_bos_token / add_eos_token override the
// defaults. `origin` names the file in messages.
StatusOr<std::unique_ptr<HfTokenizer>> LoadGgufVocab(const nlohmann::json& metadata,
                                                     const std::string& origin);

// A SentencePiece `.model` protobuf of model type BPE (e.g. Llama-2's tokenizer.model), loaded
// the way transformers converts it to a fast tokenizer.
StatusOr<std::unique_ptr<HfTokenizer>> LoadSentencePieceModel(const std::string& path);

// Shared by the loaders: the pipeline of a SentencePiece BPE vocabulary (`tokens`, `scores`,
// `types` in GGUF token_type numbering: 1 normal, 2 unknown, 3 control, 4 user-defined,
// 5 unused, 6 byte), as the Llama-2 tokenizer.json on the Hub has it: normalizer
// Prepend("▁") + Replace(" " -> "▁"), BPE with byte fallback and merges ordered by piece score
// (SentencePiece's and llama.cpp's order), Replace/ByteFallback/Fuse/Strip decoder;
// unknown/control pieces are special added tokens, user-defined ones plain added tokens.
// Without `add_space_prefix` (GGUF tokenizer.ggml.add_space_prefix false) no "▁" is prepended.
StatusOr<std::unique_ptr<HfTokenizer>> BuildSentencePieceBpe(
    std::vector<std::string> tokens, const std::vector<float>& scores,
    const std::vector<int>& types, int bos_id, int eos_id, int unk_id, bool add_bos, bool add_eos,
    const std::string& description, bool add_space_prefix = true);

// Merge priority of each of `n` SentencePiece pieces, as transformers' SentencePieceExtractor
// orders them: by score, highest first (ties by id); 0 = merged first.
std::vector<int64_t> SentencePieceMergePriorities(const std::vector<float>& scores, size_t n);

// The normalizer and decoder specs of the Llama-2 "legacy" tokenizer.json pipeline that
// BuildSentencePieceBpe uses: Prepend("▁") (when `add_space_prefix`, SentencePiece's
// add_dummy_prefix) + Replace(" " -> "▁"); Replace("▁" -> " ") + ByteFallback + Fuse + Strip.
nlohmann::json SentencePieceNormalizerSpec(bool add_space_prefix);
nlohmann::json SentencePieceDecoderSpec();

// BOS/EOS from a tokenizer_config.json in `dir` (bos_token / eos_token as a string or an
// AddedToken object), resolved with `tok`. Leaves the ids unchanged when absent.
void ApplyTokenizerConfig(const std::string& dir, const Tokenizer& tok, int& bos_id, int& eos_id);

}  // namespace kvpress
