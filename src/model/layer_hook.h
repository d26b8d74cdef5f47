// The seam between the model and KV-cache presses: after each layer's attention the forward pass
// calls an abstract hook with that layer's cache and inputs. The model never knows presses.
#pragma once

#include <cstdint>
#include <span>

#include "kv/kv_cache.h"

namespace kvpress {

// What the forward pass exposes to a hook for one layer of one forward call.
struct LayerHookContext {
  int layer = 0;
  KVCache* cache = nullptr;              // this layer's slots already include the new tokens
  std::span<const int32_t> positions;    // [n] absolute positions of the tokens of this forward
  const float* queries = nullptr;        // [n, H*hd] post-RoPE queries
  const float* hidden = nullptr;         // [n, d] normalised layer input
  int n_tokens = 0;
};

// Implemented by presses; the default is no hook (nullptr) and a full cache.
class LayerHook {
 public:
  virtual ~LayerHook() = default;
  // Called once per layer per forward, after attention and before the MLP.
  virtual void AfterAttention(const LayerHookContext& ctx) = 0;
};

}  // namespace kvpress
