// ProjectedValueNorms: CriticalKV's per-slot weight N_j = mean over the query heads h of KV head g
// of ‖W_o^(h) v_j‖₁, where W_o^(h) is query head h's d×hd slice of the layer's output projection
// (columns [h·hd, (h+1)·hd) of W_o [d, H·hd]) and v_j the slot's value. A value never changes
// while its slot lives, so N_j is computed once per slot and kept per (layer, KV head) with the
// slot's position; each call re-syncs with the cache by position (slots pruned by any press drop
// out, new slots are computed), so it stays right under any wrapper or composition.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/layer_hook.h"

namespace kvpress {

class ProjectedValueNorms {
 public:
  // Forgets every stored norm (a new, empty cache follows).
  void Reset() { heads_.clear(); }

  // N_j for every slot of (ctx.layer, kv_head): [Size(layer, kv_head)]. `n_heads` query heads
  // share the cache's KV heads evenly. CHECK-fails when ctx.wo is null (the forward pass always
  // sets it).
  std::span<const float> For(const LayerHookContext& ctx, int kv_head, int n_heads);

 private:
  struct Head {
    std::vector<int32_t> positions;  // [n] ascending, as the cache held them at the last call
    std::vector<float> norms;        // [n]
  };
  // Widened W_o of the current call when the model's W_o is not f32: [d, H·hd].
  std::vector<float> wo_f32_;
  std::vector<Head> heads_;  // [n_layers · n_kv_heads], grown on demand
};

}  // namespace kvpress

namespace kvpress {

// CriticalKV's stage 2 in place: s_j ← (s_j + ε)·N_j, then the slots in `forced` (stage 1) ← +∞.
// A slot the inner press protected (+∞) stays protected.
void CriticalRescale(std::vector<float>& scores, std::span<const float> norms,
                     std::span<const int> forced, double epsilon);

}  // namespace kvpress
