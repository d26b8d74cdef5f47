// think — Xu et al., "ThinK: Thinner Key Cache by Query-Driven Pruning", ICLR 2025,
// arXiv:2407.21018 (upstream kvpress ThinKPress). Per layer and KV head g, after the context
// prefill:
//   q̄_c = mean over the group's query heads h and the last `window` queries i of q_{h,i,c}²
//   k̄_c = mean over the head's slots j of k_{j,c}²            (post-RoPE, as cached)
//   score_c = q̄_c · k̄_c;   the ⌊hd · key_channel_ratio⌋ channels of lowest score are pruned
// (ties: the lower channel index is pruned). Slots are never evicted: ThinK thins keys, it does not
// shorten the cache; combine it with a press that does, e.g. composed(snapkv,think).
//
// Storage: the pruned channels are freed, not masked. The context's slots become the head's thin
// prefix (KVCache::ThinKeys): their keys are stored at width hd − ⌊hd·key_channel_ratio⌋ (the kept
// channels, the same count for every head of a layer) with the head's kept-channel list; the
// attention kernels score them with the query gathered to those channels (q·k over the kept
// channels = q·k_masked), and KeyAt widens them back with zeros, so attention and every later press
// see exactly upstream's masked keys. kv_bytes_live counts the thin rows at their real width
// (docs/press-catalogue.md measures the bytes freed against upstream's masked cache).
//
// Phases: prefill only, as upstream (its hook compresses the prefilling forward only): the
// question's and the generated tokens' keys keep every channel (ThinK's paper also keeps recent
// keys whole).
#include <algorithm>
#include <numeric>

#include "press/catalog.h"
#include "press/press.h"
#include "press/recent_queries.h"

namespace kvpress {
namespace {

class ThinkPress : public Press {
 public:
  ThinkPress(double key_channel_ratio, int window)
      : key_channel_ratio_(key_channel_ratio), window_(window) {}
  std::string Name() const override { return "think"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<ThinkPress>(*this); }
  void Reset() override {
    queries_.Reset(config().n_layers, config().n_heads, config().head_dim, window_);
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    queries_.Push(ctx);
    if (!ctx.info.last_chunk) return;
    const int hd = ctx.cache->head_dim(), n_pruned = static_cast<int>(hd * key_channel_ratio_);
    if (n_pruned == 0) return;
    const int group = config().n_heads / ctx.cache->n_kv_heads();
    const int n_q = queries_.Count(ctx.layer);
    std::vector<float> key(static_cast<size_t>(hd));
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      std::vector<double> q_mean(static_cast<size_t>(hd), 0.0),
          k_mean(static_cast<size_t>(hd), 0.0);  // [hd]
      for (int i = 0; i < n_q; ++i) {
        const float* q = queries_.Query(ctx.layer, i);  // [H*hd]
        for (int h = g * group; h < (g + 1) * group; ++h) {
          for (int c = 0; c < hd; ++c) {
            const double v = q[static_cast<size_t>(h) * hd + c];
            q_mean[static_cast<size_t>(c)] += v * v / (static_cast<double>(n_q) * group);
          }
        }
      }
      const int n = ctx.cache->Size(ctx.layer, g);
      for (int j = 0; j < n; ++j) {
        ctx.cache->KeyAt(ctx.layer, g, j, key.data());
        for (int c = 0; c < hd; ++c) {
          k_mean[static_cast<size_t>(c)] +=
              static_cast<double>(key[static_cast<size_t>(c)]) * key[static_cast<size_t>(c)] / n;
        }
      }
      std::vector<int> order(static_cast<size_t>(hd));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return q_mean[static_cast<size_t>(a)] * k_mean[static_cast<size_t>(a)] <
               q_mean[static_cast<size_t>(b)] * k_mean[static_cast<size_t>(b)];
      });
      std::vector<int> kept(order.begin() + n_pruned, order.end());
      std::sort(kept.begin(), kept.end());
      ctx.cache->ThinKeys(ctx.layer, g, kept, n);
    }
  }
  void OnDecode(const LayerHookContext&) override {}

 private:
  double key_channel_ratio_;
  int window_;
  RecentQueries queries_;  // the last `window` post-RoPE queries of each layer
};

}  // namespace

PressInfo ThinkPressInfo() {
  return {"think",
          "prune the key channels of lowest query-aware norm mean_q(q_c^2)*mean_k(k_c^2) per KV "
          "head after the prefill (memory freed; read as zeros; no slot evicted)",
          "Xu et al., ThinK, ICLR 2025, arXiv:2407.21018",
          "prefill (as upstream; decoded keys keep every channel)",
          "the last `window` queries, keys",
          {{"key_channel_ratio", "0.5", "fraction of key channels pruned per KV head"},
           {"window", "32", "recent queries that weigh the channels"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const double ratio = p.GetDouble("key_channel_ratio", 0.5, 0.0, 1.0);
            const int window = p.GetInt("window", 32, 1, kMaxPressTokens);
            RETURN_IF_ERROR(p.Finish());
            if (ratio >= 1.0) {
              return FailedPrecondition(
                  "think: key_channel_ratio must be < 1 (pruning every key channel leaves no key)");
            }
            return std::unique_ptr<Press>(new ThinkPress(ratio, window));
          }};
}

}  // namespace kvpress
