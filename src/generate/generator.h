// One prompt in, generated ids out: prefill (compressed by the press) then decode.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "generate/metrics.h"
#include "generate/session.h"

namespace kvpress {

struct GenerateOptions {
  int max_new_tokens = 256;
  SamplerParams sampling;
  std::vector<int32_t> stop_ids;          // generation ends when one is produced (not emitted)
  std::vector<std::string> stop_strings;  // needs `tokenizer`
  bool stop_on_repetition = false;
  const Tokenizer* tokenizer = nullptr;
  int prefill_chunk = 256;                // tokens per prefill forward
  int press_chunk = 0;                    // > 0: prefill in pieces of N tokens, the press compressing
                                          // after each (--prefill-chunk; see ForwardPrefill)
  Press* press = nullptr;                 // KV-cache compression (null = none; not owned)
  // RunPipeline: the context's last `query_tokens` ids are the question, compressed with it
  // (PipelinePrompt::query_tokens; Session::Prefill's question_tokens). 0 = none.
  int query_tokens = 0;
  // Ids a context-replaying press (kvzip) runs after the context (Session::set_replay_prompts);
  // BuildPipelinePrompt makes them. Unset: such a press fails with FailedPrecondition.
  std::optional<ContextReplayPrompts> replay_prompts;
  DType kv_dtype = DType::kF32;           // KV cache storage
  std::function<void(const KVCache&)> on_cache;  // after each decode step (progress display)
  // Raised by SIGINT/SIGTERM (may be null; not owned): stops a prefill before its next layer.
  // Generate then returns finish_reason "cancelled"; RunPipeline and StartSequence a Cancelled
  // status. Decoding stops through the token callback, as before.
  const std::atomic<bool>* cancel = nullptr;
  // RunPipeline: called with the question's index before it is prefilled (its answer's tokens
  // follow), so a streaming caller can tell the answers apart. May be empty.
  std::function<void(size_t question)> on_question;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids, stop id excluded
  std::string finish_reason;    // see StopCriteria
  Metrics metrics;
  std::vector<int> kept_per_layer;  // slots held per layer at the end (max over KV heads)
};

// The decode-loop settings of `options` for an answer that follows `context` ids.
DecodeLoopOptions MakeDecodeLoopOptions(const GenerateOptions& options, std::span<const int32_t> context);

// The ids that end a generation for `model`: its config's EOS ids, the tokenizer's EOS (not for
// llama2.c checkpoints, whose vocabulary EOS is not a stop token) and BOS when the config says so.
std::vector<int32_t> DefaultStopIds(const ModelConfig& config, const Tokenizer* tokenizer);

// The result of a finished decode: its tokens and finish reason, the session's metrics and kept slots.
GenerateResult MakeGenerateResult(const Session& session, DecodeResult decoded);

// Prefills `prompt` (positions 0..n-1) into a fresh cache and decodes up to max_new_tokens. A prefill
// cancelled through options.cancel gives no tokens and finish_reason "cancelled".
StatusOr<GenerateResult> Generate(Transformer& model, const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options, const TokenCallback& on_token = {});

}  // namespace kvpress
