// fastkvzip — Kim, Han, Yun, "Fast KVzip" (arXiv:2601.17668); the rule of upstream kvpress 0.5.5's
// FastKVzipPress: trained gates predict KVzip's scores from the hidden states, no replay.
//
// Per layer a gate maps each context token's normalised layer input h [D] to one score per KV head
// g (group of G query heads, d = 16, S learned sink keys):
//   q_{g,i} = RMSNorm(W_q h)_{g,i} [d] (i < G),  k_g = RMSNorm(W_k h)_g [d]   (RMSNorm eps 1e-6,
//   learned weights q_norm / k_norm),  ℓ_i = k_g·q_{g,i}/√d + b_{g,i},  ℓ_{s,i} =
//   kb_{g,s}·q_{g,i}/√d s_g = mean_i 1 / (1 + Σ_s exp(ℓ_{s,i} − ℓ_i))
// The first n_sink slots and the last w get 1, w = max(1, ⌊window_ratio·n⌋) if n < 32000 else
// window. When the whole prefill has been scored the bottom --compression-ratio of all layers ×
// heads × slots is evicted (layerwise=1: per layer), as kvzip (src/press/global_prune.h).
//
// Gate file (our format, safetensors f32, names of upstream's FastKVzipGate state dict under
// layers.{l}.): q_proj.weight [H_kv·G·d, D], q_proj.bias [H_kv·G·d], k_proj.weight [H_kv·d, D],
// q_norm.weight [d], k_norm.weight [d], k_base [H_kv, 1, S, d], b [H_kv, 1, G]. Upstream's .pt
// (Jang-Hyun/Fast-KVzip, a list of per-layer state dicts under "module") converts with
//   sd = torch.load(f)["module"]; save_file({f"layers.{l}.{k}": v.float().contiguous()
//        for l, m in enumerate(sd) for k, v in m.items()}, "gates.safetensors")
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/mapped_file.h"
#include "model/safetensors.h"
#include "press/catalog.h"
#include "press/global_prune.h"

namespace kvpress {
namespace {

struct Gates {
  int n_layers = 0, n_kv = 0, group = 0, dim = 0, n_sink_keys = 0, input_dim = 0;
  // Per layer: wq [KV*G*d, D], bq [KV*G*d], wk [KV*d, D], qn [d], kn [d], kb [KV, S, d], b [KV, G].
  std::vector<std::vector<float>> wq, bq, wk, qn, kn, kb, b;

  // Scores of one token: h [D] -> out [KV].
  void Score(int l, const float* h, float* out) const {
    const size_t L = static_cast<size_t>(l), D = static_cast<size_t>(input_dim),
                 d = static_cast<size_t>(dim);
    const auto rms = [&](std::vector<float>& v, const std::vector<float>& w) {
      double ss = 0;
      for (float x : v) ss += static_cast<double>(x) * x;
      const float inv =
          static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(v.size()) + 1e-6));
      for (size_t i = 0; i < v.size(); ++i) v[i] = w[i] * (v[i] * inv);
    };
    const auto proj = [&](const std::vector<float>& w, const float* bias, size_t row,
                          std::vector<float>& v) {
      for (size_t c = 0; c < d; ++c) {
        double acc = bias != nullptr ? bias[row + c] : 0.0;
        for (size_t j = 0; j < D; ++j) acc += static_cast<double>(w[(row + c) * D + j]) * h[j];
        v[c] = static_cast<float>(acc);
      }
    };
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
    std::vector<float> k(d), q(d);
    for (int g = 0; g < n_kv; ++g) {
      proj(wk[L], nullptr, static_cast<size_t>(g) * d, k);
      rms(k, kn[L]);
      double mean = 0;
      for (int i = 0; i < group; ++i) {
        proj(wq[L], bq[L].data(), (static_cast<size_t>(g) * group + i) * d, q);
        rms(q, qn[L]);
        double dot = 0;
        for (size_t c = 0; c < d; ++c) dot += static_cast<double>(k[c]) * q[c];
        const double logit = dot * scale + b[L][static_cast<size_t>(g) * group + i];
        double sum = 0;
        for (int s = 0; s < n_sink_keys; ++s) {
          const float* kbs = &kb[L][(static_cast<size_t>(g) * n_sink_keys + s) * d];
          double db = 0;
          for (size_t c = 0; c < d; ++c) db += static_cast<double>(kbs[c]) * q[c];
          sum += std::exp(db * scale - logit);
        }
        mean += 1.0 / (1.0 + sum);
      }
      out[g] = static_cast<float>(mean / group);
    }
  }
};

StatusOr<std::vector<float>> ReadF32(const TensorSet& set, const std::string& name,
                                     const std::vector<int64_t>& shape) {
  auto it = set.find(name);
  if (it == set.end()) return FailedPrecondition("fastkvzip gates: no tensor '" + name + "'");
  const TensorInfo& t = it->second;
  if (t.dtype != DType::kF32 || t.shape != shape) {
    return FailedPrecondition(fmt::format("fastkvzip gates: '{}' must be f32 {}, is {}", name,
                                          ShapeString(shape), ShapeString(t.shape)));
  }
  std::vector<float> out(t.nbytes / sizeof(float));
  std::memcpy(out.data(), t.data, t.nbytes);
  return out;
}

StatusOr<Gates> LoadGates(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  TensorSet set;
  RETURN_IF_ERROR(ReadSafetensors(*file, set));
  const auto shape = [&](const std::string& name) -> std::vector<int64_t> {
    auto it = set.find(name);
    return it == set.end() ? std::vector<int64_t>{} : it->second.shape;
  };
  const auto kb = shape("layers.0.k_base"), bb = shape("layers.0.b"),
             wq = shape("layers.0.q_proj.weight");
  if (kb.size() != 4 || bb.size() != 3 || wq.size() != 2) {
    return FailedPrecondition(
        path + ": no fastkvzip gate for layer 0 (layers.0.k_base, .b, .q_proj.weight)");
  }
  Gates g;
  g.n_kv = static_cast<int>(kb[0]);
  g.n_sink_keys = static_cast<int>(kb[2]);
  g.dim = static_cast<int>(kb[3]);
  g.group = static_cast<int>(bb[2]);
  g.input_dim = static_cast<int>(wq[1]);
  while (set.count(fmt::format("layers.{}.k_base", g.n_layers))) ++g.n_layers;
  const int64_t KV = g.n_kv, G = g.group, d = g.dim, S = g.n_sink_keys, D = g.input_dim;
  for (int l = 0; l < g.n_layers; ++l) {
    const std::string p = fmt::format("layers.{}.", l);
    ASSIGN_OR_RETURN(auto a, ReadF32(set, p + "q_proj.weight", {KV * G * d, D}));
    ASSIGN_OR_RETURN(auto b, ReadF32(set, p + "q_proj.bias", {KV * G * d}));
    ASSIGN_OR_RETURN(auto c, ReadF32(set, p + "k_proj.weight", {KV * d, D}));
    ASSIGN_OR_RETURN(auto e, ReadF32(set, p + "q_norm.weight", {d}));
    ASSIGN_OR_RETURN(auto f, ReadF32(set, p + "k_norm.weight", {d}));
    ASSIGN_OR_RETURN(auto h, ReadF32(set, p + "k_base", {KV, 1, S, d}));
    ASSIGN_OR_RETURN(auto i, ReadF32(set, p + "b", {KV, 1, G}));
    g.wq.push_back(std::move(a));
    g.bq.push_back(std::move(b));
    g.wk.push_back(std::move(c));
    g.qn.push_back(std::move(e));
    g.kn.push_back(std::move(f));
    g.kb.push_back(std::move(h));
    g.b.push_back(std::move(i));
  }
  return g;
}

class FastKvzipPress : public Press {
 public:
  FastKvzipPress(std::shared_ptr<const Gates> gates, bool layerwise, int n_sink, int window,
                 double window_ratio)
      : gates_(std::move(gates)),
        layerwise_(layerwise),
        n_sink_(n_sink),
        window_(window),
        window_ratio_(window_ratio) {}
  std::string Name() const override { return "fastkvzip"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<FastKvzipPress>(*this); }
  Status Attach(const ModelConfig& c) override {
    RETURN_IF_ERROR(Press::Attach(c));
    if (budget().cache_budget > 0 || budget().target_size > 0) {
      return FailedPrecondition(
          "fastkvzip prunes a fraction of the context: use --compression-ratio, not a budget");
    }
    if (gates_->n_layers != c.n_layers || gates_->n_kv != c.n_kv_heads ||
        gates_->input_dim != c.hidden_size || gates_->n_kv * gates_->group != c.n_heads) {
      return FailedPrecondition(
          fmt::format("fastkvzip gates are for {} layers, {} KV heads x group {}, hidden size {}; "
                      "the model has {}, {} x {}, {}",
                      gates_->n_layers, gates_->n_kv, gates_->group, gates_->input_dim, c.n_layers,
                      c.n_kv_heads, c.n_heads / std::max(1, c.n_kv_heads), c.hidden_size));
    }
    return Status::Ok();
  }
  void Reset() override { scores_.assign(static_cast<size_t>(config().n_layers), {}); }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    const int KV = config().n_kv_heads;
    std::vector<std::vector<float>>& rows =
        scores_[static_cast<size_t>(ctx.layer)];  // [KV][positions]
    rows.resize(static_cast<size_t>(KV));
    std::vector<float> s(static_cast<size_t>(KV));
    for (int t = 0; t < ctx.n_tokens; ++t) {
      gates_->Score(ctx.layer, ctx.hidden + static_cast<size_t>(t) * gates_->input_dim, s.data());
      const size_t p = static_cast<size_t>(ctx.positions[static_cast<size_t>(t)]);
      for (int g = 0; g < KV; ++g) {
        auto& row = rows[static_cast<size_t>(g)];
        if (row.size() <= p) row.resize(p + 1, 1.0f);
        row[p] = s[static_cast<size_t>(g)];
      }
    }
    // Prune once every layer has seen the whole prefill (upstream: when the context exits).
    if (ctx.info.last_chunk && ctx.layer == config().n_layers - 1) PruneAll(*ctx.cache);
  }
  void OnDecode(const LayerHookContext&) override {}

 private:
  void PruneAll(KVCache& cache) {
    const double r = budget().removed_fraction;
    const int L = config().n_layers, KV = config().n_kv_heads;
    const int n = cache.Size(0, 0);
    if (r > 0) {
      const int w = n < 32000 ? std::max(1, static_cast<int>(n * window_ratio_)) : window_;
      std::vector<float> all(static_cast<size_t>(L) * KV * n, 1.0f);  // [L][KV][n]
      for (int l = 0; l < L; ++l) {
        for (int g = 0; g < KV; ++g) {
          const auto& row = scores_[static_cast<size_t>(l)][static_cast<size_t>(g)];
          float* out = &all[(static_cast<size_t>(l) * KV + g) * n];
          for (int p = 0; p < n && p < static_cast<int>(row.size()); ++p)
            out[p] = row[static_cast<size_t>(p)];
          for (int p = 0; p < std::min(n_sink_, n); ++p) out[p] = 1.0f;
          for (int p = std::max(0, n - w); p < n; ++p) out[p] = 1.0f;
        }
      }
      PruneBottomFraction(cache, all, L, KV, n, r, layerwise_);
    }
    scores_.assign(static_cast<size_t>(L), {});
  }

  std::shared_ptr<const Gates> gates_;
  bool layerwise_;
  int n_sink_;
  int window_;
  double window_ratio_;
  std::vector<std::vector<std::vector<float>>> scores_;  // [L][KV][position] gate score
};

}  // namespace

PressInfo FastKvzipPressInfo() {
  return {
      "fastkvzip",
      "trained gates on hidden states predict KVzip's scores (no replay); global bottom fraction "
      "evicted "
      "when the prefill ends",
      "Kim, Han, Yun 2026, arXiv:2601.17668 (rule of kvpress FastKVzipPress)",
      "prefill (ratio)",
      "hidden states; a gate-weights file",
      {{"gates", "(required)", "safetensors with layers.{l}.q_proj/k_proj/q_norm/k_norm/k_base/b"},
       {"layerwise", "0", "1 = every layer prunes the same fraction"},
       {"n_sink", "4", "first slots never evicted"},
       {"window", "4096", "last slots never evicted when n >= 32000"},
       {"window_ratio", "0.02", "else the last max(1, floor(ratio*n)) slots"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const std::string path = p.GetString("gates", "");
        const int layerwise = p.GetInt("layerwise", 0, 0, 1);
        const int n_sink = p.GetInt("n_sink", 4, 0, kMaxPressTokens);
        const int window = p.GetInt("window", 4096, 1, kMaxPressTokens);
        const double window_ratio = p.GetDouble("window_ratio", 0.02, 0, 1);
        RETURN_IF_ERROR(p.Finish());
        if (path.empty()) {
          return FailedPrecondition(
              "press 'fastkvzip' needs gates=FILE (trained gates as safetensors)");
        }
        ASSIGN_OR_RETURN(Gates g, LoadGates(path));
        return std::unique_ptr<Press>(
            new FastKvzipPress(std::make_shared<const Gates>(std::move(g)), layerwise != 0, n_sink,
                               window, window_ratio));
      }};
}

}  // namespace kvpress
