// The seam between the model and KV-cache presses: after each layer's attention the forward pass
// calls an abstract hook with that layer's cache, inputs and the attention statistics the hook
// asked for. The model never knows presses.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/kv_cache.h"
#include "ops/matmul.h"

namespace kvpress {

// Which part of a request a forward belongs to. Presses compress in kPrefill (context) and kDecode;
// kQuestion tokens (pipeline mode) are never compressed.
enum class ForwardPhase { kPrefill, kQuestion, kDecode };

const char* PhaseName(ForwardPhase p);

// Facts about a forward a hook needs before it runs, to say which statistics it wants.
struct ForwardInfo {
  ForwardPhase phase = ForwardPhase::kPrefill;
  int n_tokens = 0;        // tokens in this forward call (all chunks)
  bool first_chunk = true;  // this chunk starts the forward call
  bool last_chunk = true;   // this chunk ends the forward call
  // kPrefill of a query-aware prompt: its last `question_tokens` tokens are the user's question
  // (compressed with the context; FINCH's observation window). 0 = none or unknown. The last chunk
  // of the forward holds them all when a hook asks for them as its window (Request).
  int question_tokens = 0;
};

// Attention statistics a hook asks for. Never an n×n matrix: O(H·n) floats per layer.
struct AttentionRequest {
  bool sum_all_queries = false;  // (a) per-key mass summed over every query of the forward
  int last_queries = 0;          // (b) per-key mass summed over the last w queries (w = this)
  bool Any() const { return sum_all_queries || last_queries > 0; }
};

// Statistics of one layer for one forward chunk. Row h belongs to query head h and is indexed by
// the slots of KV head h / group as they are when the hook runs (before any pruning).
struct AttentionStats {
  int n_heads = 0;
  int group = 1;                               // query heads per KV head
  std::vector<std::vector<float>> all_sum;     // [H][n_slots]: Σ_{queries of the chunk} p
  std::vector<std::vector<float>> window_sum;  // [H][n_slots]: Σ_{last `window` queries} p
  int window = 0;                              // queries summed in window_sum (≤ requested)

  enum class Reduce { kMean, kMax };
  // Reduces rows (all_sum or window_sum) over the query heads of KV head `kv_head`.
  std::vector<float> ReduceGroup(const std::vector<std::vector<float>>& rows, int kv_head, Reduce r) const;
};

// What the forward pass exposes to a hook for one layer of one forward chunk.
struct LayerHookContext {
  int layer = 0;
  ForwardInfo info;
  KVCache* cache = nullptr;              // this layer's slots already include the new tokens
  std::span<const int32_t> positions;    // [n] absolute positions of the chunk's tokens
  const float* queries = nullptr;        // [n, H*hd] post-RoPE queries
  const float* hidden = nullptr;         // [n, d] normalised layer input
  int n_tokens = 0;                      // tokens in this chunk
  int sliding_window = 0;                // model's attention window (0 = none)
  const AttentionStats* stats = nullptr;  // what Request() asked for (null when nothing)
  // This layer's output projection W_o [d, H*hd] as the model stores it (any dtype, quantized
  // included; widen rows with DequantizeRow). Query head h's d×hd slice is columns [h*hd, (h+1)*hd).
  // Read-only; for presses that weigh a slot by its projected value (CriticalKV). Null when the
  // caller has no weights (tests driving a press by hand).
  const MatrixView* wo = nullptr;
  // Threads the hook may spread its own work over (ParallelFor); the forward's thread count.
  int threads = 1;
};

// Implemented by presses; the default is no hook (nullptr) and a full cache.
class LayerHook {
 public:
  virtual ~LayerHook() = default;
  // Statistics wanted for a forward (same for every layer of it).
  virtual AttentionRequest Request(const ForwardInfo& info) const { return {}; }
  // Called once per layer per forward chunk after the chunk's K/V were appended and RoPE applied to
  // its queries, before attention reads the cache (ctx.stats is null). A hook may rewrite the layer's
  // cache here (ShadowKV materialises the chunks it selected for this query). Default: nothing.
  virtual void BeforeAttention(const LayerHookContext& ctx) {}
  // Called once per layer per forward chunk, after attention and before the MLP.
  virtual void AfterAttention(const LayerHookContext& ctx) = 0;
};

}  // namespace kvpress
