// lagkv — Liang et al., "LagKV: Lag-Relative Information of the KV Cache Tells Which Tokens Are
// Important", 2025, arXiv:2504.04704; as in upstream kvpress LagKVPress (reference §2.A).
//
// Per KV head with n slots (indices j = 0..n−1 in cache order = ascending position):
//   n < n_sink + 2·lag:  s_j = 1 for j < n_sink, else (j − n_sink)/(n − n_sink)  (keeps the recent)
//   otherwise, E = n_sink + ⌊(n − n_sink)/lag⌋·lag; slots [n_sink, E) form partitions of `lag`
//   slots; for every partition p but the last, the reference is partition p+1: per channel c,
//   min_c / max_c over the reference's keys;  x̃_tc = (x_tc − min_c)/(max_c − min_c);
//   σ_t = std_c(x̃_t·) (unbiased, as torch.std);  a_t = softmax over the lag slots t of p of σ_t;
//   same for values; score_t = (a_t^K + a_t^V)/2.  Unless cross_scoring, score_t is replaced by
//   its rank inside the partition / lag (0 = lowest).  Sinks (j < n_sink) and the tail (the last
//   full partition and the remainder, j ≥ E − lag) get 1.
// Keys are the cached post-RoPE keys. In decoding the whole current cache is scored the same way
// (partitions by slot index of the current, already compressed cache, as a kvpress DecodingPress
// would see it).
//
// Deterministic choices where upstream is undefined: a channel whose reference range is 0 gives
// x̃ = 0 (upstream: 0/0 = NaN); equal scores inside a partition rank the older slot lower (upstream
// argsort is unstable); equal scores across partitions (every partition has the ranks 0..lag−1)
// keep the more recent slot (the framework's tie rule).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class LagKvPress : public ScorerPress {
 public:
  LagKvPress(int n_sink, int lag, bool cross_scoring)
      : n_sink_(n_sink), lag_(lag), cross_(cross_scoring) {}
  std::string Name() const override { return "lagkv"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<LagKvPress>(*this); }

 protected:
  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size()), d = ctx.cache->head_dim();
    std::fill(scores.begin(), scores.end(), 1.0f);
    if (n < n_sink_ + 2 * lag_) {
      for (int j = n_sink_; j < n; ++j) {
        scores[static_cast<size_t>(j)] =
            static_cast<float>(j - n_sink_) / static_cast<float>(n - n_sink_);
      }
      return;
    }
    const int n_parts = (n - n_sink_) / lag_;  // ≥ 2
    const int end = n_sink_ + n_parts * lag_;
    // Keys and values of [n_sink, end) as f32.
    const size_t m = static_cast<size_t>(end - n_sink_);
    std::vector<float> k(m * d), v(m * d);
    for (int j = n_sink_; j < end; ++j) {
      ctx.cache->KeyAt(ctx.layer, kv_head, j, k.data() + static_cast<size_t>(j - n_sink_) * d);
      ctx.cache->ValueAt(ctx.layer, kv_head, j, v.data() + static_cast<size_t>(j - n_sink_) * d);
    }
    std::vector<double> sk(static_cast<size_t>(lag_)), sv(static_cast<size_t>(lag_)),
        s(static_cast<size_t>(lag_));
    std::vector<int> order(static_cast<size_t>(lag_));
    for (int p = 0; p + 1 < n_parts; ++p) {
      PartitionScore(k.data(), d, p, sk);
      PartitionScore(v.data(), d, p, sv);
      for (int t = 0; t < lag_; ++t)
        s[static_cast<size_t>(t)] = (sk[static_cast<size_t>(t)] + sv[static_cast<size_t>(t)]) / 2;
      float* out = scores.data() + n_sink_ + static_cast<size_t>(p) * lag_;
      if (cross_) {
        for (int t = 0; t < lag_; ++t) out[t] = static_cast<float>(s[static_cast<size_t>(t)]);
        continue;
      }
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return s[static_cast<size_t>(a)] < s[static_cast<size_t>(b)];
      });
      for (int r = 0; r < lag_; ++r)
        out[order[static_cast<size_t>(r)]] = static_cast<float>(r) / static_cast<float>(lag_);
    }
  }

 private:
  // Softmax over the partition's slots of the std of their lag-relative normalised channels.
  // x: [m, d] rows of [n_sink, end); partition p = rows [p·lag, (p+1)·lag), reference p+1.
  void PartitionScore(const float* x, int d, int p, std::vector<double>& out) const {
    const float* part = x + static_cast<size_t>(p) * lag_ * d;
    const float* ref = part + static_cast<size_t>(lag_) * d;
    std::vector<float> lo(ref, ref + d), hi(ref, ref + d);
    for (int t = 1; t < lag_; ++t) {
      for (int c = 0; c < d; ++c) {
        lo[static_cast<size_t>(c)] =
            std::min(lo[static_cast<size_t>(c)], ref[static_cast<size_t>(t) * d + c]);
        hi[static_cast<size_t>(c)] =
            std::max(hi[static_cast<size_t>(c)], ref[static_cast<size_t>(t) * d + c]);
      }
    }
    std::vector<double> xn(static_cast<size_t>(d));
    double mx = -std::numeric_limits<double>::infinity();
    for (int t = 0; t < lag_; ++t) {
      const float* row = part + static_cast<size_t>(t) * d;
      double mean = 0.0;
      for (int c = 0; c < d; ++c) {
        const double range =
            static_cast<double>(hi[static_cast<size_t>(c)]) - lo[static_cast<size_t>(c)];
        xn[static_cast<size_t>(c)] =
            range != 0.0 ? (row[c] - static_cast<double>(lo[static_cast<size_t>(c)])) / range : 0.0;
        mean += xn[static_cast<size_t>(c)] / d;
      }
      double ss = 0.0;
      for (double x : xn) ss += (x - mean) * (x - mean);
      out[static_cast<size_t>(t)] = d > 1 ? std::sqrt(ss / (d - 1)) : 0.0;
      mx = std::max(mx, out[static_cast<size_t>(t)]);
    }
    double z = 0.0;
    for (double& o : out) z += (o = std::exp(o - mx));
    for (double& o : out) o /= z;
  }

  int n_sink_;
  int lag_;
  bool cross_;
};

}  // namespace

PressInfo LagKvPressInfo() {
  return {
      "lagkv",
      "lag-relative score: std of channels min-max normalised by the next partition, softmax per "
      "partition, key+value average (ranked inside the partition unless cross_scoring); sinks and "
      "the last partition kept",
      "Liang et al. 2025, arXiv:2504.04704",
      "prefill, decode",
      "keys, values",
      {{"n_sink", "4", "first slots always kept"},
       {"lag", "128", "partition size"},
       {"cross_scoring", "0",
        "1 = compare raw scores across partitions instead of in-partition ranks"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const int n_sink = p.GetInt("n_sink", 4, 0, kMaxPressTokens);
        const int lag = p.GetInt("lag", 128, 2, kMaxPressTokens);
        const int cross = p.GetInt("cross_scoring", 0, 0, 1);
        RETURN_IF_ERROR(p.Finish());
        if (n_sink < 0) return InvalidArgument("lagkv: n_sink must be >= 0");
        if (lag < 2) return InvalidArgument("lagkv: lag must be >= 2");
        if (cross != 0 && cross != 1) return InvalidArgument("lagkv: cross_scoring must be 0 or 1");
        return std::unique_ptr<Press>(new LagKvPress(n_sink, lag, cross == 1));
      }};
}

}  // namespace kvpress
