// The prefill/decode loop: prompt ids in, generated ids out, with stop criteria and metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "generate/metrics.h"
#include "generate/sampler.h"
#include "model/transformer.h"
#include "press/press.h"

namespace kvpress {

struct GenerateOptions {
  int max_new_tokens = 256;
  SamplerParams sampling;
  std::vector<int32_t> stop_ids;  // generation ends when one of these is produced (not emitted)
  int prefill_chunk = 256;        // tokens per prefill forward
  Press* press = nullptr;         // KV-cache compression (null = none; not owned)
  DType kv_dtype = DType::kF32;   // KV cache storage
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids, stop id excluded
  std::string finish_reason;    // "stop" (stop id), "length" (max_new_tokens), "cancelled"
  Metrics metrics;
};

// Called with each generated id as soon as it is chosen; return false to stop early.
using TokenCallback = std::function<bool(int32_t id)>;

// Prefills `prompt` (positions 0..n-1) into a fresh cache and decodes up to max_new_tokens.
// If `cache_out` is given, the final cache is moved there.
StatusOr<GenerateResult> Generate(Transformer& model, const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options, const TokenCallback& on_token = {},
                                  KVCache* cache_out = nullptr);

}  // namespace kvpress
