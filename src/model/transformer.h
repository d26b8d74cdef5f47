// Forward pass of llama/mistral/qwen2/qwen3 decoders over a ragged KV cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "kv/kv_cache.h"
#include "model/layer_hook.h"
#include "model/model.h"

namespace kvpress {

// kFast: Highway SIMD kernels, OpenMP threads. kReference: scalar double-accumulating kernels on
// one thread, the oracle the fast path is tested against.
enum class KernelMode { kFast, kReference };

struct ForwardOptions {
  bool all_logits = false;  // logits for every token (else only the last one)
  int max_chunk = 256;      // tokens per internal prefill chunk (bounds activation memory)
  LayerHook* hook = nullptr;
  ForwardPhase phase = ForwardPhase::kPrefill;  // told to the hook
  // Told to the hook (ForwardInfo::question_tokens); at most the tokens forwarded.
  int question_tokens = 0;
  // When set and raised (SIGINT/SIGTERM), Forward stops before the next layer or chunk and returns
  // Cancelled; the cache is then partly filled and must be discarded.
  const std::atomic<bool>* cancel = nullptr;
};

class Transformer {
 public:
  // `model` must outlive the Transformer. threads <= 0 means DefaultThreadCount() (physical cores);
  // more than MaxThreads() (core/threads.h) are clamped to it (the CLI refuses such values first).
  explicit Transformer(const Model& model, int threads = 0, KernelMode mode = KernelMode::kFast);

  const ModelConfig& config() const { return model_.config; }
  int threads() const { return threads_; }

  // A cache shaped for this model, K/V stored as `dtype` (F32, F16 or BF16).
  KVCache NewCache(DType dtype = DType::kF32) const;

  // Runs `tokens` at absolute `positions` (same length, increasing, beyond every cached position),
  // appending their keys/values to `cache`. Writes logits [n_out, V] to `logits`, where n_out is
  // tokens.size() with all_logits, else 1 (the last token). Bad token ids -> InvalidArgument.
  Status Forward(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                 KVCache& cache, const ForwardOptions& options, std::vector<float>& logits);

  // One decoding step of B independent sequences at once: token b at positions[b] is appended to
  // *caches[b] and attends only to it; hooks[b] (may be null) sees that sequence's layer exactly as
  // in a B = 1 Forward with phase `phase`. The linear layers run on the B rows together, so the
  // weights are read once per step for all sequences. Writes logits [B, V].
  Status ForwardBatch(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                      std::span<KVCache* const> caches, std::span<LayerHook* const> hooks,
                      ForwardPhase phase, std::vector<float>& logits);

 private:
  // InvalidArgument naming the first id outside [0, vocab).
  Status CheckTokenIds(std::span<const int32_t> tokens) const;
  // Consecutive rows of one sequence inside a forward: its cache, hook and chunk info.
  struct RowGroup {
    KVCache* cache;
    LayerHook* hook;
    int first;  // first row
    int n;      // rows
    ForwardInfo info;
  };
  // Runs the decoder layers on all rows (tokens[i] at positions[i]); each group attends to and
  // appends to its own cache. Leaves the last layer's residual stream in x_ [rows, d]. False when
  // `cancel` was raised before a layer (the caches are then partly filled).
  bool ForwardRows(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                   std::span<const RowGroup> groups, const std::atomic<bool>* cancel = nullptr);
  // The steps of one forward (transformer.cc opens each with its formula).
  void EmbedTokens(std::span<const int32_t> tokens);
  void NormalizeRows(const std::vector<float>& weight, int n);
  void ProjectQkv(const LayerWeights& layer, int n);
  void PrepareRow(const LayerWeights& layer, int row, int32_t position);
  void AddProjection(int n);
  void AppendRowToCache(int layer_index, int row, int32_t position, KVCache& cache);
  LayerHookContext HookContext(int layer_index, const RowGroup& group,
                               std::span<const int32_t> positions) const;
  void AppendGroup(int layer_index, const LayerWeights& layer, const RowGroup& group,
                   std::span<const int32_t> positions);
  void RunAfterAttentionHook(int layer_index, const RowGroup& group,
                             std::span<const int32_t> positions, const AttentionRequest& request);
  void AttentionLayer(int layer_index, const LayerWeights& layer,
                      std::span<const int32_t> positions, std::span<const RowGroup> groups,
                      bool concurrent);
  void AddAttentionOutput(const LayerWeights& layer, int n);
  void FeedForward(const LayerWeights& layer, int n);
  // Final norm + LM head of x_ rows [first, first + rows) into logits [rows, V] (`normed`:
  // scratch).
  void Head(int first, int rows, std::vector<float>& normed, float* logits);
  void Linear(const MatrixView& w, const float* x, int n, float* y);
  // Linear for several matrices of the same input x (one parallel region: MatMulMany).
  void LinearMany(std::span<const MatMulTarget> targets, const float* x, int n);
  // Attention of rows [row0, row0 + n) against `cache`; fills stats_ as `request` asks.
  void Attention(int layer, int row0, int n, std::span<const int32_t> positions,
                 const KVCache& cache, const AttentionRequest& request);

  const Model& model_;
  int threads_;
  KernelMode mode_;
  std::vector<float> inv_freq_;  // [hd/2]
  // Activations of the current chunk.
  std::vector<float> x_;          // [n, d] residual stream
  std::vector<float> normed_;     // [n, d] RmsNorm of x_: the attention or MLP input
  std::vector<float> q_;          // [n, H*hd]
  std::vector<float> k_;          // [n, KV*hd]
  std::vector<float> v_;          // [n, KV*hd]
  std::vector<float> att_;        // [n, H*hd] attention output
  std::vector<float> proj_;       // [n, d]
  std::vector<float> gate_;       // [n, F]
  std::vector<float> up_;         // [n, F]
  std::vector<float> key_norms_;  // [n, KV] pre-RoPE ‖k‖ of each row's KV heads (PrepareRow)
  AttentionStats stats_;          // [H][slots] per layer, reused
};

}  // namespace kvpress
