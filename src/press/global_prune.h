// The pruning KVzip and FastKVzip share (upstream's compress_post): from one score per context slot
// of every layer and KV head, evict the bottom fraction over all of them (or per layer).
#pragma once

#include <vector>

#include "kv/kv_cache.h"

namespace kvpress {

// `scores` [L][KV][n]: slot p of (l, g) holds position p (the whole context, unpruned). Evicts the
// ⌊L·KV·n·ratio⌋ lowest scores over everything (layerwise: the ⌊KV·n·ratio⌋ lowest of each layer);
// ties evict the older slot first. Heads keep different counts.
void PruneBottomFraction(KVCache& cache, const std::vector<float>& scores, int n_layers,
                         int n_kv_heads, int n, double ratio, bool layerwise);

}  // namespace kvpress
