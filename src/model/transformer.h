// Forward pass of llama/mistral/qwen2/qwen3 decoders over a ragged KV cache.
#pragma once

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
  bool all_logits = false;   // logits for every token (else only the last one)
  int max_chunk = 256;       // tokens per internal prefill chunk (bounds activation memory)
  LayerHook* hook = nullptr;
  ForwardPhase phase = ForwardPhase::kPrefill;  // told to the hook
};

class Transformer {
 public:
  // `model` must outlive the Transformer. threads <= 0 means all cores.
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

 private:
  void ForwardChunk(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                    KVCache& cache, LayerHook* hook, const ForwardInfo& info);
  void Linear(const MatrixView& w, const float* x, int n, float* y);
  // Attention of the chunk's n queries; fills stats_ as `request` asks.
  void Attention(int layer, int n, std::span<const int32_t> positions, const KVCache& cache,
                 const AttentionRequest& request);

  const Model& model_;
  int threads_;
  KernelMode mode_;
  std::vector<float> inv_freq_;  // [hd/2]
  // Activations of the current chunk.
  std::vector<float> x_;     // [n, d] residual stream
  std::vector<float> xb_;    // [n, d] normalised input
  std::vector<float> q_;     // [n, H*hd]
  std::vector<float> k_;     // [n, KV*hd]
  std::vector<float> v_;     // [n, KV*hd]
  std::vector<float> att_;   // [n, H*hd] attention output
  std::vector<float> proj_;  // [n, d]
  std::vector<float> gate_;  // [n, F]
  std::vector<float> up_;    // [n, F]
  AttentionStats stats_;     // [H][slots] per layer, reused
};

}  // namespace kvpress
