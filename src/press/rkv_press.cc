// rkv — R-KV: Cai et al., "R-KV: Redundancy-aware KV Cache Compression for Reasoning Models",
// arXiv:2505.24133; official code Zefan-Cai/R-KV (rkv/compression/r1_kv.py, rkv/utils.py).
//
// Per KV head with n slots, w = min(window, n): the last w slots (the observation window) are
// always kept; the budget covers the whole cache (window included). For the n_old = n − w older
// slots j:
//   importance  m_ij = max_{g ∈ group} q_gi·k_j/√hd for the last `window` queries i of the layer
//               (max over the group of the logits: official compute_attention_scores, "max");
//               a_j = mean_i softmax_{j' < n_old}(m_ij')   (softmax over the older slots only);
//               I_j = MaxPool1d(a, kernel)                 (stride 1, padding kernel/2)
//   redundancy  k̂_j = k_j/(‖k_j‖+1e-8) over ALL n slots; C = k̂ k̂ᵀ with a zero diagonal;
//               "retain" rule (retain_direction="last", threshold 0.5): for every row i let
//               t_i = the largest slot index j with C_ij > 0.5 (its most recent near-duplicate),
//               or 0 when there is none (the official torch.max over a zero-filled index row);
//               set C_{i,t_i} = 0;  R_j = softmax_{j < n}( (1/n) Σ_i C_ij ),  taken for j < n_old
//   score       s_j = λ·I_j − (1−λ)·R_j         λ = 0.07, kernel 7, window 8
// so a slot whose near-duplicates are many loses score, and the most recent copy of a repeated
// key keeps its score. Defaults: decoding prunes back to the budget once the cache holds
// budget + 64 slots (compression interval 64, overridable with --compression-interval).
//
// Queries: the post-RoPE queries of the last `window` tokens the layer processed (prefill: the
// prompt's last queries; decoding: the last `window` decode steps), each rotated with its own
// position (RecentQueries); attention is recomputed over the current cache with the causal and
// sliding-window mask by position. Official R-KV needs no mask: the older slots precede every
// window query. Both phases use these stored queries, so the press requests no AttentionStats:
// the per-query-head probabilities they carry cannot give the official max over the group of the
// *logits* nor a softmax restricted to the older slots.
//
// Differences from the official code (documented): slots stay in position order, so "most recent
// near-duplicate" means highest position (the official cache is in top-k order after the first
// compression); importance is computed in f32 (official casts attention to the model dtype).
//
// `compat=fork` reproduces the reasoning fork's RKVPress (reference §2.D) with its defaults
// λ = 0.1, kernel 5:  importance_j = max_g mean_i softmax_{all visible slots}(q_gi·k_j/√hd)
// (softmax over every slot, window columns dropped afterwards; max over the group of the
// probabilities), max-pooled; redundancy over the older slots only: C = k̂ k̂ᵀ (n_old × n_old, zero
// diagonal), R_j = softmax_j(mean_i C_ji); s_j = λ·I_j + (1−λ)·R_j (the fork *adds* redundancy).
// Its bugs are not reproduced: state (the query buffer) is per layer, not shared by all layers,
// queries keep their own RoPE positions, and the causal mask is by position. The window gets +inf
// (the fork pads it with max(s), which can tie with an older slot).
#include <algorithm>
#include <memory>

#include "ops/matmul.h"
#include "press/catalog.h"
#include "press/rkv_common.h"

namespace kvpress {
namespace {

constexpr float kRetainThreshold = 0.5f;

// Normalises rows of keys [m, d]: k / (‖k‖ + 1e-8).
std::vector<float> UnitRows(const float* keys, int m, int d) {
  std::vector<float> out(static_cast<size_t>(m) * d);
  for (int j = 0; j < m; ++j) {
    const float* k = keys + static_cast<size_t>(j) * d;
    const double inv = InverseKeyNorm(k, d);
    for (int c = 0; c < d; ++c)
      out[static_cast<size_t>(j) * d + c] = static_cast<float>(k[c] * inv);
  }
  return out;
}

// Calls row_fn(i, row) for every row i of C = U Uᵀ (U: unit keys [m, d]; diagonal set to 0),
// computing C in blocks of rows so memory stays O(block · m).
template <typename RowFn>
void ForEachSimilarityRow(const std::vector<float>& unit, int m, int d, RowFn row_fn) {
  constexpr int kBlock = 64;
  const MatrixView u{DType::kF32, m, d, unit.data(), static_cast<size_t>(d) * sizeof(float)};
  std::vector<float> block(static_cast<size_t>(kBlock) * m);
  for (int i0 = 0; i0 < m; i0 += kBlock) {
    const int rows = std::min(kBlock, m - i0);
    MatMul(u, unit.data() + static_cast<size_t>(i0) * d, rows, block.data(), 1,
           /*exact_float=*/true);
    for (int r = 0; r < rows; ++r) {
      float* row = block.data() + static_cast<size_t>(r) * m;
      row[i0 + r] = 0.0f;
      row_fn(i0 + r, row);
    }
  }
}

// Official redundancy over all n slots (retain rule), returned for the first n_old slots.
std::vector<double> OfficialRedundancy(const std::vector<float>& keys, int n, int d, int n_old) {
  const std::vector<float> unit = UnitRows(keys.data(), n, d);
  std::vector<double> col(static_cast<size_t>(n), 0.0);      // Σ_i C_ij (= Σ_i C_ji: C symmetric)
  std::vector<double> removed(static_cast<size_t>(n), 0.0);  // Σ_{i: t_i = j} C_ij
  ForEachSimilarityRow(unit, n, d, [&](int i, const float* row) {
    double sum = 0.0;
    int last = 0;
    for (int j = 0; j < n; ++j) {
      sum += row[j];
      if (row[j] > kRetainThreshold) last = j;
    }
    col[static_cast<size_t>(i)] = sum;
    removed[static_cast<size_t>(last)] += row[last];
  });
  std::vector<double> mean(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j)
    mean[static_cast<size_t>(j)] =
        (col[static_cast<size_t>(j)] - removed[static_cast<size_t>(j)]) / n;
  SoftmaxInPlace(mean);
  mean.resize(static_cast<size_t>(n_old));
  return mean;
}

// The fork's redundancy over the n_old older slots only.
std::vector<double> ForkRedundancy(const std::vector<float>& keys, int d, int n_old) {
  const std::vector<float> unit = UnitRows(keys.data(), n_old, d);
  std::vector<double> mean(static_cast<size_t>(n_old), 0.0);
  ForEachSimilarityRow(unit, n_old, d, [&](int i, const float* row) {
    double sum = 0.0;
    for (int j = 0; j < n_old; ++j) sum += row[j];
    mean[static_cast<size_t>(i)] = sum / n_old;
  });
  SoftmaxInPlace(mean);
  return mean;
}

class RkvPress : public RkvScorerPress {
 public:
  RkvPress(double lambda, int kernel, int window, bool fork)
      : RkvScorerPress(lambda, kernel, window,
                       fork ? WindowAttention::kForkMaxProbs : WindowAttention::kOfficialMaxLogits,
                       /*subtract_redundancy=*/!fork),
        fork_(fork) {}
  std::string Name() const override { return "rkv"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<RkvPress>(*this); }

 protected:
  std::vector<double> Redundancy(const std::vector<float>& keys, int n, int d,
                                 int n_old) const override {
    return fork_ ? ForkRedundancy(keys, d, n_old) : OfficialRedundancy(keys, n, d, n_old);
  }

 private:
  bool fork_;
};

}  // namespace

PressInfo RkvPressInfo() {
  return {
      "rkv",
      "R-KV: lambda * max-pooled window attention (last `window` queries, max over the group) - "
      "(1 - lambda) * key redundancy (cosine, official retain rule); the last `window` slots are "
      "kept; "
      "decoding prunes to the budget every 64 steps unless --compression-interval is given",
      "Cai et al. 2025, arXiv:2505.24133 (compat=fork: Hold Onto That Thought's RKVPress)",
      "prefill, decode",
      "keys, post-RoPE queries of the last `window` tokens",
      {{"lambda", "0.07 (fork: 0.1)", "weight of importance against redundancy"},
       {"kernel", "7 (fork: 5)", "max-pooling width of the importance"},
       {"window", "8", "recent slots always kept and queries observed"},
       {"compat", "official", "official | fork (additive redundancy, fork defaults)"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const std::string compat = p.GetString("compat", "official");
        const bool fork = compat == "fork";
        const double lambda = p.GetDouble("lambda", fork ? 0.1 : 0.07, 0, 1);
        const int kernel = p.GetInt("kernel", fork ? 5 : 7, 1, kMaxPressTokens);
        const int window = p.GetInt("window", 8, 1, kMaxPressTokens);
        RETURN_IF_ERROR(p.Finish());
        if (compat != "official" && compat != "fork") {
          return InvalidArgument("rkv: compat must be 'official' or 'fork', got '" + compat + "'");
        }
        RETURN_IF_ERROR(CheckRkvParams("rkv", lambda, kernel, window));
        return std::unique_ptr<Press>(new RkvPress(lambda, kernel, window, fork));
      }};
}

}  // namespace kvpress
