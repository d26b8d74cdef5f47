// cur — Sengupta et al., "Value-Guided KV Compression for LLMs via Approximated CUR Decomposition"
// (CurDKV), arXiv:2509.15038.
//
// Approximate leverage scores from the squared row norms of the (post-RoPE) keys and of the values:
//     k2_j = ‖k_j‖²,  v2_j = ‖v_j‖²
// local approximation (default, window w = 16): slots are cut into blocks of w consecutive slots
// (from slot 0; the last block shorter) and each block normalised to sum 1: k2_j ← k2_j / Σ_{block}
// k2. Combined by `type`: key → k2, value → v2, kv_avg → (k2 + v2)/2, kv_product (default) → k2·v2,
// then normalised over the head (Σ_j score_j = 1). The first n_sink slots are always kept (+∞;
// upstream sets them to 1.0, the maximum of a distribution, which keeps them too). random=1 first
// projects keys and values onto 20 Gaussian directions (N(0, 1/20), our own std::mt19937_64 stream
// seeded by the spec's seed, drawn once per Attach/Reset; upstream draws torch.randn at every call,
// so this variant is not golden-comparable). Phases: prefill and decode (scores read the cache
// only).
#include <cmath>
#include <limits>
#include <random>

#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

enum class CurType { kKey, kValue, kKvAvg, kKvProduct };

class CurPress : public ScorerPress {
 public:
  struct Options {
    int n_sink = 4;
    CurType type = CurType::kKvProduct;
    bool random = false;
    bool local = true;
    int window = 16;
    uint64_t seed = 0;
  };
  explicit CurPress(Options o) : o_(o) {}
  std::string Name() const override { return "cur"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<CurPress>(*this); }

  void Reset() override {
    ScorerPress::Reset();
    projection_.clear();
    if (!o_.random || config().head_dim == 0) return;
    std::mt19937_64 rng(o_.seed);
    std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(static_cast<double>(kRandomDims)));
    projection_.resize(static_cast<size_t>(config().head_dim) * kRandomDims);
    for (double& g : projection_) g = normal(rng);
  }

 protected:
  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const int n = static_cast<int>(scores.size());
    const int hd = config().head_dim;
    std::vector<double> k2(static_cast<size_t>(n)), v2(static_cast<size_t>(n));  // [n]
    std::vector<float> row(static_cast<size_t>(hd));
    for (int j = 0; j < n; ++j) {
      ctx.cache->KeyAt(ctx.layer, kv_head, j, row.data());
      k2[static_cast<size_t>(j)] = SquaredNorm(row);
      ctx.cache->ValueAt(ctx.layer, kv_head, j, row.data());
      v2[static_cast<size_t>(j)] = SquaredNorm(row);
    }
    if (o_.local) {
      NormaliseBlocks(k2);
      NormaliseBlocks(v2);
    }
    std::vector<double> s(static_cast<size_t>(n));
    double total = 0;
    for (int j = 0; j < n; ++j) {
      const double k = k2[static_cast<size_t>(j)], v = v2[static_cast<size_t>(j)];
      double x = 0;
      switch (o_.type) {
        case CurType::kKey:
          x = k;
          break;
        case CurType::kValue:
          x = v;
          break;
        case CurType::kKvAvg:
          x = (k + v) / 2;
          break;
        case CurType::kKvProduct:
          x = k * v;
          break;
      }
      s[static_cast<size_t>(j)] = x;
      total += x;
    }
    for (int j = 0; j < n; ++j) {
      scores[static_cast<size_t>(j)] = j < o_.n_sink
                                           ? std::numeric_limits<float>::infinity()
                                           : static_cast<float>(s[static_cast<size_t>(j)] / total);
    }
  }

 private:
  static constexpr int kRandomDims = 20;

  // ‖x‖² of a head row, or of its Gaussian projection when random=1.
  double SquaredNorm(const std::vector<float>& x) const {
    double ss = 0;
    if (projection_.empty()) {
      for (float v : x) ss += static_cast<double>(v) * v;
      return ss;
    }
    for (int c = 0; c < kRandomDims; ++c) {
      double y = 0;
      for (size_t i = 0; i < x.size(); ++i)
        y += x[i] * projection_[i * kRandomDims + static_cast<size_t>(c)];
      ss += y * y;
    }
    return ss;
  }

  // Each block of `window` consecutive slots divided by its sum.
  void NormaliseBlocks(std::vector<double>& x) const {
    for (size_t b = 0; b < x.size(); b += static_cast<size_t>(o_.window)) {
      const size_t e = std::min(x.size(), b + static_cast<size_t>(o_.window));
      double sum = 0;
      for (size_t j = b; j < e; ++j) sum += x[j];
      for (size_t j = b; j < e; ++j) x[j] /= sum;
    }
  }

  Options o_;
  std::vector<double> projection_;  // [hd, 20] Gaussian sketch (random=1 only)
};

}  // namespace

PressInfo CurPressInfo() {
  return {"cur",
          "CurDKV approximate leverage: block-normalised ||k||^2 x ||v||^2 (or key / value / "
          "kv_avg); first n_sink "
          "slots kept",
          "Sengupta et al. 2025, arXiv:2509.15038",
          "prefill, decode",
          "keys, values",
          {{"n_sink", "4", "first slots always kept"},
           {"type", "kv_product", "key | value | kv_avg | kv_product"},
           {"local", "1", "normalise the squared norms within blocks of `window` slots"},
           {"window", "16", "block length of the local approximation"},
           {"random", "0", "project keys and values on 20 Gaussian directions first (seeded)"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            CurPress::Options o;
            o.n_sink = p.GetInt("n_sink", 4, 0, kMaxPressTokens);
            const std::string type = p.GetString("type", "kv_product");
            o.local = p.GetInt("local", 1, 0, 1) != 0;
            o.window = p.GetInt("window", 16, 1, kMaxPressTokens);
            o.random = p.GetInt("random", 0, 0, 1) != 0;
            o.seed = spec.seed;
            RETURN_IF_ERROR(p.Finish());
            if (type == "key") {
              o.type = CurType::kKey;
            } else if (type == "value") {
              o.type = CurType::kValue;
            } else if (type == "kv_avg") {
              o.type = CurType::kKvAvg;
            } else if (type == "kv_product") {
              o.type = CurType::kKvProduct;
            } else {
              return InvalidArgument("cur: type must be key, value, kv_avg or kv_product, not '" +
                                     type + "'");
            }
            return std::unique_ptr<Press>(new CurPress(o));
          }};
}

}  // namespace kvpress
