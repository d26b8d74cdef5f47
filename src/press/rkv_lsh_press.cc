// rkv_lsh — the reasoning fork's RKVLSHPress ("Hold Onto That Thought: Assessing KV Cache
// Compression on Reasoning", Liu et al., arXiv:2512.12008; reference §2.D): R-KV (Cai et al.,
// arXiv:2505.24133) in the fork's additive form with the pairwise key similarity replaced by
// SimHash buckets.
//
// Per KV head with n slots, w = min(window, n): the last w slots are always kept. For the
// n_old = n − w older slots j:
//   importance  I_j = MaxPool1d( max_{g ∈ group} mean_i softmax_{visible slots}(q_gi·k_j/√hd) )
//               over the last `window` queries i of the layer (softmax over every visible slot,
//               window columns dropped afterwards; kernel 5)        — as rkv:compat=fork
//   redundancy  k̂_j = k_j/(‖k_j‖+1e-8);  code c_j = Σ_b 2^b [k̂_j·P_b > 0]  (b < bits) with a
//               Gaussian projection P ∈ R^{hd×bits};  N_c = number of older slots in bucket c;
//               ā_c = Σ_{c'} N_{c'} cos(popcount(c ⊕ c')/bits) / n_old;  R_j = softmax_j(ā_{c_j})
//   score       s_j = λ·I_j + (1−λ)·R_j        λ = 0.1, bits = 6
// (ā_c includes the slot's own bucket, as the fork's `main`; its later `dixi/rkv_lsh` version
// subtracts N_c.)
// Decoding prunes back to the budget once the cache holds budget + 64 slots (interval 64 unless
// --compression-interval is given).
//
// P: entries drawn in row-major order [hd][bits] from std::normal_distribution<float>(0, 1) over
// std::mt19937_64(seed), once per Attach/Reset, shared by all layers, heads and prunes (the fork's
// later `dixi/rkv_lsh` branch caches one matrix; its `main` draws a fresh unseeded one per call —
// not reproducible, so not copied). Softmaxes are computed in f32/f64 (the fork uses bf16).
// Like rkv, the window queries are the post-RoPE queries of the layer's last `window` tokens with
// their own positions, and all state is per layer (the fork shares one buffer across layers).
#include <algorithm>
#include <bit>
#include <cmath>
#include <memory>
#include <random>

#include "press/catalog.h"
#include "press/rkv_common.h"

namespace kvpress {
namespace {

class RkvLshPress : public RkvScorerPress {
 public:
  RkvLshPress(double lambda, int kernel, int window, int bits, uint64_t seed)
      : RkvScorerPress(lambda, kernel, window, WindowAttention::kForkMaxProbs,
                       /*subtract_redundancy=*/false),
        bits_(bits),
        seed_(seed) {}
  std::string Name() const override { return "rkv_lsh"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<RkvLshPress>(*this); }

  void Reset() override {
    RkvScorerPress::Reset();
    std::mt19937_64 rng(seed_);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    projection_.resize(static_cast<size_t>(std::max(config().head_dim, 0)) * bits_);
    for (float& v : projection_) v = normal(rng);
    cos_table_.resize(static_cast<size_t>(bits_) + 1);
    for (int h = 0; h <= bits_; ++h)
      cos_table_[static_cast<size_t>(h)] = std::cos(static_cast<double>(h) / bits_);
  }

 protected:
  // Softmax over the older slots of their bucket's average-cosine proxy (the keys' SimHash codes).
  std::vector<double> Redundancy(const std::vector<float>& keys, int, int d,
                                 int n_old) const override {
    std::vector<uint32_t> codes(static_cast<size_t>(n_old));
    std::vector<int> count(size_t{1} << bits_, 0);
    for (int j = 0; j < n_old; ++j) {
      const float* k = keys.data() + static_cast<size_t>(j) * d;
      const double inv = InverseKeyNorm(k, d);
      uint32_t code = 0;
      for (int b = 0; b < bits_; ++b) {
        double dot = 0.0;
        for (int c = 0; c < d; ++c)
          dot += k[c] * inv * projection_[static_cast<size_t>(c) * bits_ + b];
        if (dot > 0) code |= 1u << b;
      }
      codes[static_cast<size_t>(j)] = code;
      ++count[code];
    }
    // Average-cosine proxy of each occupied bucket: O(occupied²) ≤ O(min(n_old, 2^bits)²).
    std::vector<uint32_t> occupied;
    for (uint32_t c = 0; c < count.size(); ++c) {
      if (count[c] > 0) occupied.push_back(c);
    }
    std::vector<double> avg(count.size(), 0.0);
    for (uint32_t c : occupied) {
      double s = 0.0;
      for (uint32_t c2 : occupied)
        s += count[c2] * cos_table_[static_cast<size_t>(std::popcount(c ^ c2))];
      avg[c] = s / n_old;
    }
    std::vector<double> r(static_cast<size_t>(n_old));
    for (int j = 0; j < n_old; ++j) r[static_cast<size_t>(j)] = avg[codes[static_cast<size_t>(j)]];
    SoftmaxInPlace(r);
    return r;
  }

 private:
  int bits_;
  uint64_t seed_;
  std::vector<float> projection_;  // [hd][bits]
  std::vector<double> cos_table_;  // cos(h / bits), h = Hamming distance 0..bits
};

}  // namespace

PressInfo RkvLshPressInfo() {
  return {"rkv_lsh",
          "R-KV (fork form) with SimHash redundancy: lambda * max-pooled window attention + (1 - "
          "lambda) * "
          "softmax of the bucket average-cosine proxy; the last `window` slots are kept; decoding "
          "prunes "
          "to the budget every 64 steps unless --compression-interval is given",
          "Hold Onto That Thought (reasoning fork of kvpress, RKVLSHPress); R-KV arXiv:2505.24133",
          "prefill, decode",
          "keys, post-RoPE queries of the last `window` tokens",
          {{"lambda", "0.1", "weight of importance against redundancy"},
           {"kernel", "5", "max-pooling width of the importance"},
           {"window", "8", "recent slots always kept and queries observed"},
           {"bits", "6", "SimHash bits (2^bits buckets)"},
           {"seed", "run seed", "seed of the Gaussian projection"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const double lambda = p.GetDouble("lambda", 0.1, 0, 1);
            const int kernel = p.GetInt("kernel", 5, 1, kMaxPressTokens);
            const int window = p.GetInt("window", 8, 1, kMaxPressTokens);
            const int bits = p.GetInt("bits", 6, 1, 16);
            const double seed = p.GetDouble("seed", static_cast<double>(spec.seed), 0, 9007199254740992.0);
            RETURN_IF_ERROR(p.Finish());
            RETURN_IF_ERROR(CheckRkvParams("rkv_lsh", lambda, kernel, window));
            if (bits < 1 || bits > 16) return InvalidArgument("rkv_lsh: bits must be in [1, 16]");
            if (seed < 0) return InvalidArgument("rkv_lsh: seed must be >= 0");
            return std::unique_ptr<Press>(
                new RkvLshPress(lambda, kernel, window, bits, static_cast<uint64_t>(seed)));
          }};
}

}  // namespace kvpress
