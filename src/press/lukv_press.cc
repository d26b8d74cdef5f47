// lukv — "Predicting Future Utility: Global Combinatorial Optimization for Task-Agnostic KV Cache
// Eviction" (LU-KV), arXiv:2602.08585; the rule of upstream kvpress 0.5.5's LUKVPress.
//
// A precomputed budget curve C [99, L, H_kv] gives, for a global ratio r (row i = round(100r) − 1,
// clamped to 0..98), the fraction of slots each (layer, KV head) prunes. At the end of the prefill
// each layer of n slots:
//   s_{g,j} = the inner press's scores (default expected_attention:epsilon=0.02); the first `sink`
//             and last `window` slots get max_{g,j} s + 1;
//   e_g = clamp(1 − C[i, l, g], 0, 1) · n  (f32), T = clamp(round(Σ_g e_g), H_kv, H_kv·n),
//   k_g = ⌊e_g⌋, then the T − Σ k_g heads with the largest fractional parts get one more,
//   k_g = clamp(k_g, 1, n);
//   head g keeps its k_g best slots (ties: the older slot, as a stable descending sort).
// Heads keep different counts; evicted slots leave the cache (upstream masks them). Prefill only,
// ratio only (as upstream).
//
// Curve file (our format): safetensors with one f32 tensor `prune_ratios` [99, L, H_kv]. An
// upstream .npy curve converts with
//   python -c "import numpy as n; from safetensors.numpy import save_file as s;
//              s({'prune_ratios': n.load('curve.npy').astype('float32')}, 'curve.safetensors')"
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/mapped_file.h"
#include "model/safetensors.h"
#include "press/catalog.h"
#include "press/scorer_press.h"
#include "press/wrapper_press.h"

namespace kvpress {
namespace {

struct BudgetCurve {
  int n_layers = 0, n_kv_heads = 0;
  std::vector<float> prune;  // [99, L, H_kv]
};

StatusOr<BudgetCurve> LoadCurve(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  TensorSet set;
  RETURN_IF_ERROR(ReadSafetensors(*file, set));
  auto it = set.find("prune_ratios");
  if (it == set.end()) return FailedPrecondition(path + ": no tensor 'prune_ratios' [99, L, H_kv]");
  const TensorInfo& t = it->second;
  if (t.dtype != DType::kF32 || t.shape.size() != 3 || t.shape[0] != 99) {
    return FailedPrecondition(fmt::format("{}: 'prune_ratios' must be f32 [99, L, H_kv], is {}",
                                          path, ShapeString(t.shape)));
  }
  BudgetCurve c;
  c.n_layers = static_cast<int>(t.shape[1]);
  c.n_kv_heads = static_cast<int>(t.shape[2]);
  c.prune.resize(t.nbytes / sizeof(float));
  std::memcpy(c.prune.data(), t.data, t.nbytes);
  return c;
}

class LukvPress : public WrapperPress {
 public:
  LukvPress(std::unique_ptr<Press> inner, std::shared_ptr<const BudgetCurve> curve, int sink,
            int window)
      : curve_(std::move(curve)), sink_(sink), window_(window) {
    children_.push_back(std::move(inner));
  }
  std::string Name() const override { return "lukv"; }
  std::unique_ptr<Press> Clone() const override {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<LukvPress>(std::move(kids[0]), curve_, sink_, window_);
    copy->config_ = config_;
    copy->budget_ = budget_;
    return copy;
  }
  Status Attach(const ModelConfig& config) override {
    RETURN_IF_ERROR(WrapperPress::Attach(config));
    if (budget().cache_budget > 0 || budget().target_size > 0) {
      return FailedPrecondition(
          "lukv prunes the prefill by ratio: use --compression-ratio, not a budget");
    }
    if (curve_->n_layers != config.n_layers || curve_->n_kv_heads != config.n_kv_heads) {
      return FailedPrecondition(
          fmt::format("lukv curve is for {} layers x {} KV heads, the model has {} x {}",
                      curve_->n_layers, curve_->n_kv_heads, config.n_layers, config.n_kv_heads));
    }
    return Status::Ok();
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    LayerCompressor* inner = Compressor(0);
    inner->ObserveChunk(ctx);
    const double r = budget().removed_fraction;
    if (!ctx.info.last_chunk || r <= 0) return;
    const int KV = config().n_kv_heads;
    const int n = ctx.cache->Size(ctx.layer, 0);
    std::vector<std::vector<float>> scores(static_cast<size_t>(KV));
    float top = -INFINITY;
    for (int g = 0; g < KV; ++g) {
      CHECK(ctx.cache->Size(ctx.layer, g) == n);
      inner->ScoreHead(ctx, g, false, scores[static_cast<size_t>(g)]);
      for (float s : scores[static_cast<size_t>(g)]) top = std::max(top, s);
    }
    const float protect = top + 1.0f;
    for (auto& s : scores) {
      for (int j = 0; j < std::min(sink_, n); ++j) s[static_cast<size_t>(j)] = protect;
      for (int j = std::max(0, n - window_); j < n; ++j) s[static_cast<size_t>(j)] = protect;
    }
    const int row = std::clamp(static_cast<int>(std::nearbyint(r * 100)) - 1, 0, 98);
    const float* prune =
        &curve_->prune[(static_cast<size_t>(row) * config().n_layers + ctx.layer) * KV];
    std::vector<float> ideal(static_cast<size_t>(KV));
    float sum = 0;
    for (int g = 0; g < KV; ++g) {
      ideal[static_cast<size_t>(g)] =
          std::clamp(1.0f - prune[g], 0.0f, 1.0f) * static_cast<float>(n);
      sum += ideal[static_cast<size_t>(g)];
    }
    const int64_t total = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(sum)), KV,
                                              static_cast<int64_t>(KV) * n);
    std::vector<int> keep_n(static_cast<size_t>(KV));
    int64_t base = 0;
    for (int g = 0; g < KV; ++g) {
      keep_n[static_cast<size_t>(g)] = static_cast<int>(std::floor(ideal[static_cast<size_t>(g)]));
      base += keep_n[static_cast<size_t>(g)];
    }
    if (total > base) {
      std::vector<int> order(static_cast<size_t>(KV));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return ideal[static_cast<size_t>(a)] - static_cast<float>(keep_n[static_cast<size_t>(a)]) >
               ideal[static_cast<size_t>(b)] - static_cast<float>(keep_n[static_cast<size_t>(b)]);
      });
      for (int64_t i = 0; i < std::min<int64_t>(total - base, KV); ++i)
        ++keep_n[static_cast<size_t>(order[i])];
    }
    for (int g = 0; g < KV; ++g) {
      const int k = std::clamp(keep_n[static_cast<size_t>(g)], 1, n);
      if (k >= n) continue;
      const std::vector<float>& s = scores[static_cast<size_t>(g)];
      std::vector<int> order(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return s[static_cast<size_t>(a)] > s[static_cast<size_t>(b)];
      });
      std::vector<int> keep(order.begin(), order.begin() + k);
      std::sort(keep.begin(), keep.end());
      inner->RetainHead(ctx, g, keep);
    }
  }
  void OnQuestion(const LayerHookContext& ctx) override { Compressor(0)->ObserveChunk(ctx); }
  void OnDecode(const LayerHookContext& ctx) override { Compressor(0)->ObserveChunk(ctx); }

 private:
  std::shared_ptr<const BudgetCurve> curve_;
  int sink_;
  int window_;
};

}  // namespace

PressInfo LukvPressInfo() {
  PressInfo info{
      "lukv",
      "per-head prune ratios from a precomputed budget curve [99, L, H_kv]; each head keeps its "
      "best "
      "slots by the inner press (default expected_attention:epsilon=0.02)",
      "LU-KV, arXiv:2602.08585 (rule of kvpress LUKVPress)",
      "prefill (ratio)",
      "the inner press's scores; a budget-curve file",
      {{"curve", "(required)", "safetensors with f32 prune_ratios [99, L, H_kv]"},
       {"sink", "4", "first slots always kept"},
       {"window", "1", "last slots always kept"}},
      [](const PressSpec& spec_in) -> StatusOr<std::unique_ptr<Press>> {
        PressSpec spec = spec_in;
        PressParams p(spec);
        const std::string path = p.GetString("curve", "");
        const int sink = p.GetInt("sink", 4, 0, kMaxPressTokens);
        const int window = p.GetInt("window", 1, 0, kMaxPressTokens);
        RETURN_IF_ERROR(p.Finish());
        if (path.empty()) {
          return FailedPrecondition(
              "press 'lukv' needs curve=FILE (safetensors, f32 prune_ratios [99, L, H_kv])");
        }
        ASSIGN_OR_RETURN(BudgetCurve curve, LoadCurve(path));
        if (spec.children.empty()) {  // upstream's default scorer
          ASSIGN_OR_RETURN(PressSpec child, ParsePressSpec("expected_attention:epsilon=0.02"));
          child.budget = spec.budget;
          spec.children.push_back(std::move(child));
        }
        LayerCompressor* inner = nullptr;
        ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
        if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
          return FailedPrecondition(
              "lukv needs a scoring press inside (expected_attention, knorm, ...), not '" +
              spec.children[0].name + "'");
        }
        return std::unique_ptr<Press>(new LukvPress(
            std::move(child), std::make_shared<const BudgetCurve>(std::move(curve)), sink, window));
      }};
  info.min_children = 0;
  info.max_children = 1;
  info.children_help = "a scoring press (default expected_attention:epsilon=0.02)";
  return info;
}

}  // namespace kvpress
