// WrapperPress: the plumbing every press that wraps other presses shares (composed, adakv,
// pyramidkv, per_layer, decoding, prefill_decoding): it attaches, resets and clones its inner
// presses, asks for the union of their attention statistics and hands them the eviction log.
// Also BudgetDriver: the BudgetPolicy rules of ScorerPress (scorer_press.h) for a wrapper that
// drives a LayerCompressor instead of pruning itself.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "press/layer_compressor.h"
#include "press/press.h"

namespace kvpress {

class WrapperPress : public Press {
 public:
  Status Attach(const ModelConfig& config) override;
  void Reset() override;
  AttentionRequest Request(const ForwardInfo& info) const override;
  void set_eviction_log(class EvictionLog* log) override;
  // True when any inner press re-numbers positions.
  bool RenumbersPositions() const override;
  bool NeedsQuestionTokens() const override;

 protected:
  WrapperPress() = default;
  // Deep copies of `children_` into `out`; false when one cannot be cloned.
  bool CloneChildren(std::vector<std::unique_ptr<Press>>& out) const;
  // The LayerCompressor inside child i (null when it is none).
  LayerCompressor* Compressor(size_t i) const { return dynamic_cast<LayerCompressor*>(children_[i].get()); }

  std::vector<std::unique_ptr<Press>> children_;
};

// Where a layer goes when a wrapper compresses it: n_kept slots per KV head on average, and the
// upstream compression ratio that gives it for this layer's length.
struct LayerTarget {
  int n_kept = 0;
  double ratio = 0;
};

class BudgetDriver {
 public:
  void Reset(int n_layers) { steps_.assign(static_cast<size_t>(n_layers), 0); }
  // What `policy` asks of ctx.layer in this forward chunk, whose heads hold `size` slots on average
  // (`n`: the longest head): prefill (last chunk): budget B → B when size > B; ratio r →
  // max(1, ⌊n(1−r)⌋). Decode: budget B → B when size > B + interval − 1. target_size T (question
  // and decode forwards, upstream DecodingPress counting): every `interval` steps (default
  // `default_interval`, else 512) or when the forward has ≥ T tokens, → T when n > T.
  std::optional<LayerTarget> Decide(const BudgetPolicy& policy, const LayerHookContext& ctx, double size, int n,
                                    int default_interval = 0);

 private:
  std::vector<int> steps_;  // [L] steps since the last prune (target_size policy)
};

}  // namespace kvpress
