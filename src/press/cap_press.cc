// cap — CAPKV (arXiv:2604.25975): capacity-aware selection, as upstream kvpress 0.5.5 implements
// it.
//
// A query anchor per query head h: the mean of the context's pre-RoPE queries (positions ≥ n_sink),
// rotated by the RoPE averaged over the next n_future positions (R̄, as expected_attention):
//     a_h = R̄ μ_h
// For the slots j ≥ n_sink (post-RoPE key k_j, value v_j, head dim d):
//     s_hj = clamp(â_h · k̂_j, −1, 1)                 (unit vectors: cosine alignment)
//     w_hj = exp(τ (s_hj − max_j s_hj))
//     A_h  = I + Σ_j (w_hj + ε) v_j v_jᵀ              [d, d]
//     score_j = mean_{h ∈ group} w_hj · v_jᵀ A_h⁻¹ v_j  (weighted leverage of v_j)
// The first n_sink slots are always kept. A_h⁻¹ v_j by Cholesky in double (A_h is SPD).
// Query statistics accumulate over every query seen (chunked prefill = one forward; decoding steps
// keep the running mean), as in expected_attention.
#include <cmath>
#include <limits>

#include "press/catalog.h"
#include "press/query_stats.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class CapPress : public ScorerPress {
 public:
  struct Options {
    double tau = 5.0;
    int n_future = 512;
    int n_sink = 4;
    double epsilon = 1e-6;
  };
  explicit CapPress(Options o) : o_(o) {}
  std::string Name() const override { return "cap"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<CapPress>(*this); }

  Status Attach(const ModelConfig& config) override {
    RETURN_IF_ERROR(Press::Attach(config));
    inv_freq_ = config.RopeInvFreq();
    return Status::Ok();
  }
  void Reset() override {
    ScorerPress::Reset();
    count_.assign(static_cast<size_t>(config().n_layers), 0);
    sum_.assign(
        static_cast<size_t>(config().n_layers),
        std::vector<double>(static_cast<size_t>(config().n_heads) * config().head_dim, 0.0));
  }

 protected:
  void Observe(const LayerHookContext& ctx) override {
    const int hd = config().head_dim, H = config().n_heads;
    const size_t qd = static_cast<size_t>(H) * hd;
    std::vector<double>& s1 = sum_[static_cast<size_t>(ctx.layer)];
    std::vector<float> q(qd);  // [H, hd] one token's pre-RoPE queries
    for (int t = 0; t < ctx.n_tokens; ++t) {
      const int32_t pos = ctx.positions[static_cast<size_t>(t)];
      if (pos < o_.n_sink) continue;
      std::copy_n(ctx.queries + static_cast<size_t>(t) * qd, qd, q.begin());
      ApplyRope(q.data(), H, hd, -pos, inv_freq_.data(), config().rope_style);
      for (size_t i = 0; i < qd; ++i) s1[i] += q[i];
      ++count_[static_cast<size_t>(ctx.layer)];
    }
    if (ctx.n_tokens > 0) last_position_ = ctx.positions[static_cast<size_t>(ctx.n_tokens - 1)];
  }

  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size()), hd = config().head_dim;
    const int group = config().n_heads / config().n_kv_heads, sink = std::min(o_.n_sink, n);
    for (int j = 0; j < sink; ++j)
      scores[static_cast<size_t>(j)] = std::numeric_limits<float>::infinity();
    if (n <= sink) return;
    const int m = n - sink;
    const std::vector<double> rot =
        AverageRopeRotation(config(), inv_freq_, last_position_ + 1, o_.n_future);
    std::vector<double> khat(static_cast<size_t>(m) * hd),
        v(static_cast<size_t>(m) * hd);  // [m, hd]
    std::vector<float> row(static_cast<size_t>(hd));
    for (int j = 0; j < m; ++j) {
      ctx.cache->KeyAt(ctx.layer, kv_head, sink + j, row.data());
      double nn = 0;
      for (float x : row) nn += static_cast<double>(x) * x;
      const double inv = 1.0 / std::max(std::sqrt(nn), 1e-12);  // F.normalize
      for (int i = 0; i < hd; ++i)
        khat[static_cast<size_t>(j) * hd + i] = row[static_cast<size_t>(i)] * inv;
      ctx.cache->ValueAt(ctx.layer, kv_head, sink + j, row.data());
      for (int i = 0; i < hd; ++i) v[static_cast<size_t>(j) * hd + i] = row[static_cast<size_t>(i)];
    }
    const double count =
        static_cast<double>(std::max<int64_t>(1, count_[static_cast<size_t>(ctx.layer)]));
    std::vector<double> acc(static_cast<size_t>(m), 0.0), w(static_cast<size_t>(m)),
        a(static_cast<size_t>(hd));
    std::vector<double> chol(static_cast<size_t>(hd * hd)), x(static_cast<size_t>(hd));
    for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
      const double* s1 = sum_[static_cast<size_t>(ctx.layer)].data() + static_cast<size_t>(h) * hd;
      double an = 0;
      for (int i = 0; i < hd; ++i) {
        double y = 0;
        for (int k = 0; k < hd; ++k) y += rot[static_cast<size_t>(i * hd + k)] * s1[k] / count;
        a[static_cast<size_t>(i)] = y;
        an += y * y;
      }
      for (double& y : a) y /= std::max(std::sqrt(an), 1e-12);
      double smax = -2;
      for (int j = 0; j < m; ++j) {
        double s = 0;
        for (int i = 0; i < hd; ++i)
          s += a[static_cast<size_t>(i)] * khat[static_cast<size_t>(j) * hd + i];
        w[static_cast<size_t>(j)] = s = std::clamp(s, -1.0, 1.0);
        smax = std::max(smax, s);
      }
      for (double& wj : w) wj = std::exp(o_.tau * (wj - smax));
      // A = I + Σ (w + ε) v vᵀ, then its Cholesky factor (lower, in place).
      std::fill(chol.begin(), chol.end(), 0.0);
      for (int i = 0; i < hd; ++i) chol[static_cast<size_t>(i * hd + i)] = 1.0;
      for (int j = 0; j < m; ++j) {
        const double* vj = v.data() + static_cast<size_t>(j) * hd;
        const double c = w[static_cast<size_t>(j)] + o_.epsilon;
        for (int i = 0; i < hd; ++i) {
          for (int k = 0; k <= i; ++k) chol[static_cast<size_t>(i * hd + k)] += c * vj[i] * vj[k];
        }
      }
      for (int i = 0; i < hd; ++i) {
        for (int k = 0; k <= i; ++k) {
          double s = chol[static_cast<size_t>(i * hd + k)];
          for (int p = 0; p < k; ++p)
            s -= chol[static_cast<size_t>(i * hd + p)] * chol[static_cast<size_t>(k * hd + p)];
          chol[static_cast<size_t>(i * hd + k)] =
              i == k ? std::sqrt(s) : s / chol[static_cast<size_t>(k * hd + k)];
        }
      }
      for (int j = 0; j < m; ++j) {  // vᵀ A⁻¹ v = ‖L⁻¹ v‖²
        const double* vj = v.data() + static_cast<size_t>(j) * hd;
        double lev = 0;
        for (int i = 0; i < hd; ++i) {
          double s = vj[i];
          for (int p = 0; p < i; ++p)
            s -= chol[static_cast<size_t>(i * hd + p)] * x[static_cast<size_t>(p)];
          x[static_cast<size_t>(i)] = s / chol[static_cast<size_t>(i * hd + i)];
          lev += x[static_cast<size_t>(i)] * x[static_cast<size_t>(i)];
        }
        acc[static_cast<size_t>(j)] += w[static_cast<size_t>(j)] * lev / group;
      }
    }
    for (int j = 0; j < m; ++j)
      scores[static_cast<size_t>(sink + j)] = static_cast<float>(acc[static_cast<size_t>(j)]);
  }

 private:
  Options o_;
  std::vector<float> inv_freq_;           // [hd/2]
  std::vector<int64_t> count_;            // [L] queries accumulated
  std::vector<std::vector<double>> sum_;  // [L][H, hd] Σ pre-RoPE q
  int32_t last_position_ = -1;
};

}  // namespace

PressInfo CapPressInfo() {
  return {"cap",
          "CAPKV: weighted leverage w_j v_j^T (I + sum (w+eps) v v^T)^-1 v_j, w = exp(tau cos(mean "
          "future query, k)); "
          "first n_sink slots kept",
          "CAPKV, arXiv:2604.25975",
          "prefill, decode",
          "queries (running mean), keys, values",
          {{"tau", "5", "temperature of the query-key alignment weights"},
           {"n_future", "512", "future positions RoPE is averaged over for the query anchor"},
           {"n_sink", "4", "first slots always kept and first positions left out of the anchor"},
           {"epsilon", "1e-06", "added to the weights in the capacity matrix"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            CapPress::Options o;
            o.tau = p.GetDouble("tau", 5.0, -1e6, 1e6);
            o.n_future = p.GetInt("n_future", 512, 1, 1 << 20);
            o.n_sink = p.GetInt("n_sink", 4, 0, kMaxPressTokens);
            o.epsilon = p.GetDouble("epsilon", 1e-6, 0.0, 1e30);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new CapPress(o));
          }};
}

}  // namespace kvpress
