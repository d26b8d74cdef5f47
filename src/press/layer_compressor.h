// LayerCompressor: the part of a press that wrappers drive. A wrapper (adakv, pyramidkv, per_layer,
// decoding, ...) decides *when* a layer is compressed and to *what size*; the wrapped press decides
// *which* slots stay. ScorerPress and AdaKV implement it.
#pragma once

#include <span>
#include <vector>

#include "model/layer_hook.h"

namespace kvpress {

class LayerCompressor {
 public:
  virtual ~LayerCompressor() = default;
  // Feeds every forward chunk of every phase to the press's accumulators (no pruning).
  virtual void ObserveChunk(const LayerHookContext& ctx) = 0;
  // Compresses ctx.layer so that each KV head keeps `n_kept` slots on average (exactly n_kept per
  // head for a scorer; a head-adaptive press spreads H_kv·n_kept over the heads). `ratio` is the
  // upstream compression ratio that gives n_kept = max(1, ⌊n(1−ratio)⌋) for this layer's n (presses
  // that shape budgets from the ratio, e.g. PyramidKV, read it). Heads at or below the size are
  // left alone. `decoding` tells the phase to the scorer.
  virtual void CompressLayer(const LayerHookContext& ctx, int n_kept, double ratio, bool decoding) = 0;
  // Scores [Size(layer, kv_head)] of one head (higher = keep; +inf = protected). Head-adaptive
  // presses that are not scorers return false.
  virtual bool ScoreHead(const LayerHookContext& ctx, int kv_head, bool decoding, std::vector<float>& scores) {
    return false;
  }
  // Keeps `keep` (ascending slot indices) of (ctx.layer, kv_head): logs, prunes the cache and
  // gathers the press's per-slot state.
  virtual void RetainHead(const LayerHookContext& ctx, int kv_head, std::span<const int> keep) = 0;
};

// n_kept for a ratio as upstream computes it (kvpress.utils.compute_n_kept): max(1, ⌊n(1−r)⌋),
// 0 for r ≥ 1.
int UpstreamKept(int n, double ratio);

}  // namespace kvpress
