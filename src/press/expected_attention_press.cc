// expected_attention — Devoto et al., "Expected Attention: KV Cache Compression by Estimating
// Attention from Future Queries Distribution", arXiv:2510.00636 (NVIDIA kvpress).
//
// Future queries are modelled as Gaussian. Over the pre-RoPE queries of the context (positions
// ≥ n_sink), per query head h: mean μ_h and covariance Σ_h (population, 1/m). RoPE over the next F
// positions q_len .. q_len+F−1 is averaged into one matrix R̄ (per rotary pair: [[c̄, −s̄], [s̄, c̄]]
// with c̄ = mean cos(p·θ_i), s̄ = mean sin(p·θ_i)); μ' = R̄μ, Σ' = R̄ Σ R̄ᵀ. For every slot j ≥ n_sink
// (post-RoPE key k_j, value v_j, head dim d):
//     z_hj = μ'_h·k_j / √d + k_jᵀ Σ'_h k_j / (2d)            (log E[exp(q·k/√d)] for q ~ N(μ', Σ'))
//     score_j = (mean_{h ∈ group} softmax_j(z_h)_j + ε) · ‖v_j‖₂
// The first n_sink slots are always kept (+∞). use_covariance=0 drops the Σ' term, use_vnorm=0 the
// value norm.
//
// Statistics: accumulated over every query this press sees (Σq, Σqqᵀ in double), so a chunked
// prefill gives exactly the statistics of the whole context, as upstream's single forward. Upstream
// recomputes them from the hidden states of the forward that compresses; here decoding steps (with
// cache_budget) reuse the running statistics of the context plus every token generated since —
// upstream's DecodingPress instead buffers the last 256 hidden states. q_len = last position + 1.
// stats=FILE (upstream's ExpectedAttentionStatsPress): μ and Σ come from a statistics file made by
// `kvpress stats` (press/query_stats.h) instead of the context; only q_len comes from the sequence.
// Pre-RoPE queries are recovered by rotating the post-RoPE queries back by their position (exact in
// real arithmetic; float rounding ~1e-7 relative).
#include <cmath>
#include <limits>

#include "press/catalog.h"
#include "press/query_stats.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class ExpectedAttentionPress : public ScorerPress {
 public:
  struct Options {
    int n_future = 512;
    int n_sink = 4;
    bool use_covariance = true;
    bool use_vnorm = true;
    double epsilon = 0.0;
  };
  ExpectedAttentionPress(Options o, std::shared_ptr<const QueryStats> file_stats)
      : o_(o), file_stats_(std::move(file_stats)) {}
  std::string Name() const override { return "expected_attention"; }
  std::unique_ptr<Press> Clone() const override {
    return std::make_unique<ExpectedAttentionPress>(*this);
  }

  Status Attach(const ModelConfig& config) override {
    if (file_stats_ != nullptr)
      RETURN_IF_ERROR(file_stats_->CheckShape(config, false, o_.use_covariance));
    RETURN_IF_ERROR(Press::Attach(config));
    inv_freq_ = config.RopeInvFreq();
    Reset();
    return Status::Ok();
  }
  void Reset() override {
    ScorerPress::Reset();
    const size_t hd = static_cast<size_t>(config().head_dim),
                 h = static_cast<size_t>(config().n_heads);
    count_.assign(static_cast<size_t>(config().n_layers), 0);
    sum_.assign(static_cast<size_t>(config().n_layers), std::vector<double>(h * hd, 0.0));
    sum_sq_.assign(static_cast<size_t>(config().n_layers),
                   std::vector<double>(o_.use_covariance ? h * hd * hd : 0, 0.0));
  }

 protected:
  void Observe(const LayerHookContext& ctx) override {
    if (ctx.n_tokens > 0) last_position_ = ctx.positions[static_cast<size_t>(ctx.n_tokens - 1)];
    if (file_stats_ != nullptr) return;
    const int hd = config().head_dim, n_heads = config().n_heads;
    const size_t qd = static_cast<size_t>(n_heads) * static_cast<size_t>(hd);
    std::vector<double>& s1 = sum_[static_cast<size_t>(ctx.layer)];
    std::vector<double>& s2 = sum_sq_[static_cast<size_t>(ctx.layer)];
    std::vector<float> q(qd);  // [H, hd] one token's pre-RoPE queries
    for (int t = 0; t < ctx.n_tokens; ++t) {
      const int32_t pos = ctx.positions[static_cast<size_t>(t)];
      if (pos < o_.n_sink) continue;
      std::copy_n(ctx.queries + static_cast<size_t>(t) * qd, qd, q.begin());
      ApplyRope(q.data(), n_heads, hd, -pos, inv_freq_.data(), config().rope_style);
      for (int h = 0; h < n_heads; ++h) {
        const float* qh = q.data() + static_cast<size_t>(h) * hd;
        double* m1 = s1.data() + static_cast<size_t>(h) * hd;
        for (int i = 0; i < hd; ++i) m1[i] += qh[i];
        if (!o_.use_covariance) continue;
        double* m2 = s2.data() + static_cast<size_t>(h) * hd * hd;
        for (int i = 0; i < hd; ++i) {
          const double qi = qh[i];
          for (int k = 0; k < hd; ++k) m2[i * hd + k] += qi * qh[k];
        }
      }
      ++count_[static_cast<size_t>(ctx.layer)];
    }
  }

  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size());
    const int hd = config().head_dim, group = config().n_heads / config().n_kv_heads;
    const int sink = std::min(o_.n_sink, n);
    for (int j = 0; j < sink; ++j)
      scores[static_cast<size_t>(j)] = std::numeric_limits<float>::infinity();
    if (n <= sink) return;
    const int64_t m = count_[static_cast<size_t>(ctx.layer)];
    // R̄ [hd, hd]
    const std::vector<double> rot =
        AverageRopeRotation(config(), inv_freq_, last_position_ + 1, o_.n_future);
    // Keys and value norms of the scored slots: [n − sink, hd], [n − sink].
    std::vector<double> keys(static_cast<size_t>(n - sink) * hd);
    std::vector<double> vnorm(static_cast<size_t>(n - sink));
    std::vector<float> row(static_cast<size_t>(hd));
    for (int j = sink; j < n; ++j) {
      ctx.cache->KeyAt(ctx.layer, kv_head, j, row.data());
      for (int i = 0; i < hd; ++i)
        keys[static_cast<size_t>(j - sink) * hd + i] = row[static_cast<size_t>(i)];
      ctx.cache->ValueAt(ctx.layer, kv_head, j, row.data());
      double ss = 0;
      for (float v : row) ss += static_cast<double>(v) * v;
      vnorm[static_cast<size_t>(j - sink)] = std::sqrt(ss);
    }
    std::vector<double> acc(static_cast<size_t>(n - sink), 0.0);  // Σ_h softmax(z_h)
    std::vector<double> mu(static_cast<size_t>(hd)), mu_r(static_cast<size_t>(hd)),
        z(static_cast<size_t>(n - sink));
    std::vector<double> cov, tmp, cov_r;  // [hd, hd]
    for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
      const double* s1 = sum_[static_cast<size_t>(ctx.layer)].data() + static_cast<size_t>(h) * hd;
      const size_t at = static_cast<size_t>(ctx.layer * config().n_heads + h);  // file: [L, H] row
      for (int i = 0; i < hd; ++i) {
        mu[static_cast<size_t>(i)] = file_stats_ != nullptr ? file_stats_->mean[at * hd + i]
                                     : m > 0                ? s1[i] / static_cast<double>(m)
                                                            : 0.0;
      }
      for (int i = 0; i < hd; ++i) {
        double v = 0;
        for (int k = 0; k < hd; ++k)
          v += rot[static_cast<size_t>(i * hd + k)] * mu[static_cast<size_t>(k)];
        mu_r[static_cast<size_t>(i)] = v;
      }
      if (o_.use_covariance) {
        const double* s2 =
            sum_sq_[static_cast<size_t>(ctx.layer)].data() + static_cast<size_t>(h) * hd * hd;
        cov.assign(static_cast<size_t>(hd * hd), 0.0);
        for (int i = 0; i < hd * hd; ++i) {
          if (file_stats_ != nullptr) {
            cov[static_cast<size_t>(i)] = file_stats_->cov[at * hd * hd + static_cast<size_t>(i)];
            continue;
          }
          cov[static_cast<size_t>(i)] =
              m > 0 ? s2[i] / static_cast<double>(m) -
                          mu[static_cast<size_t>(i / hd)] * mu[static_cast<size_t>(i % hd)]
                    : 0.0;
        }
        // cov_r = R̄ Σ R̄ᵀ
        tmp.assign(static_cast<size_t>(hd * hd), 0.0);
        cov_r.assign(static_cast<size_t>(hd * hd), 0.0);
        for (int i = 0; i < hd; ++i) {
          for (int k = 0; k < hd; ++k) {
            const double r = rot[static_cast<size_t>(i * hd + k)];
            if (r == 0) continue;
            for (int c = 0; c < hd; ++c)
              tmp[static_cast<size_t>(i * hd + c)] += r * cov[static_cast<size_t>(k * hd + c)];
          }
        }
        for (int i = 0; i < hd; ++i) {
          for (int c = 0; c < hd; ++c) {
            double v = 0;
            for (int k = 0; k < hd; ++k)
              v += tmp[static_cast<size_t>(i * hd + k)] * rot[static_cast<size_t>(c * hd + k)];
            cov_r[static_cast<size_t>(i * hd + c)] = v;
          }
        }
      }
      double zmax = -std::numeric_limits<double>::infinity();
      for (int j = 0; j < n - sink; ++j) {
        const double* k = keys.data() + static_cast<size_t>(j) * hd;
        double lin = 0;
        for (int i = 0; i < hd; ++i) lin += mu_r[static_cast<size_t>(i)] * k[i];
        double v = lin / std::sqrt(static_cast<double>(hd));
        if (o_.use_covariance) {
          double quad = 0;
          for (int i = 0; i < hd; ++i) {
            double ci = 0;
            for (int c = 0; c < hd; ++c) ci += cov_r[static_cast<size_t>(i * hd + c)] * k[c];
            quad += k[i] * ci;
          }
          v += quad / hd / 2;
        }
        z[static_cast<size_t>(j)] = v;
        zmax = std::max(zmax, v);
      }
      double total = 0;
      for (double& v : z) total += (v = std::exp(v - zmax));
      for (int j = 0; j < n - sink; ++j)
        acc[static_cast<size_t>(j)] += z[static_cast<size_t>(j)] / total;
    }
    for (int j = sink; j < n; ++j) {
      double s = acc[static_cast<size_t>(j - sink)] / group;
      if (o_.use_vnorm) s = (s + o_.epsilon) * vnorm[static_cast<size_t>(j - sink)];
      scores[static_cast<size_t>(j)] = static_cast<float>(s);
    }
  }

 private:
  Options o_;
  std::vector<float> inv_freq_;              // [hd/2]
  std::vector<int64_t> count_;               // [L] queries accumulated
  std::vector<std::vector<double>> sum_;     // [L][H, hd] Σ q (pre-RoPE)
  std::vector<std::vector<double>> sum_sq_;  // [L][H, hd, hd] Σ q qᵀ (empty without covariance)
  int32_t last_position_ = -1;
  std::shared_ptr<const QueryStats> file_stats_;  // stats=FILE, else null (running statistics)
};

}  // namespace

PressInfo ExpectedAttentionPressInfo() {
  return {
      "expected_attention",
      "expected attention of future queries ~ N(mean, cov) of the context's pre-RoPE queries, RoPE "
      "averaged "
      "over the next n_future positions, times ||v||; first n_sink slots kept",
      "Devoto et al. 2025, arXiv:2510.00636",
      "prefill, decode",
      "queries (running mean/covariance), keys, values",
      {{"n_future", "512", "future positions RoPE is averaged over"},
       {"n_sink", "4", "first slots always kept and first positions left out of the statistics"},
       {"use_covariance", "1", "include the k^T cov k / 2d term"},
       {"use_vnorm", "1", "multiply by the value norm"},
       {"epsilon", "0", "added to the attention before the value-norm rescaling"},
       {"stats", "",
        "query statistics file from `kvpress stats` (mean/cov from calibration text, not the "
        "context)"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        ExpectedAttentionPress::Options o;
        o.n_future = p.GetInt("n_future", 512, 1, 1 << 20);
        o.n_sink = p.GetInt("n_sink", 4, 0, kMaxPressTokens);
        o.use_covariance = p.GetInt("use_covariance", 1, 0, 1) != 0;
        o.use_vnorm = p.GetInt("use_vnorm", 1, 0, 1) != 0;
        o.epsilon = p.GetDouble("epsilon", 0.0, 0.0, 1e30);
        const std::string stats_path = p.GetString("stats", "");
        RETURN_IF_ERROR(p.Finish());
        std::shared_ptr<const QueryStats> stats;
        if (!stats_path.empty()) {
          auto loaded = LoadQueryStats(stats_path);
          if (!loaded.ok()) return loaded.status();
          stats = std::make_shared<const QueryStats>(std::move(loaded).value());
        }
        return std::unique_ptr<Press>(new ExpectedAttentionPress(o, std::move(stats)));
      }};
}

}  // namespace kvpress
