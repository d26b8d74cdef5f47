// fastkvzip (src/press/fastkvzip_press.cc) on a tiny random model driven by the real Transformer,
// with gates written here in the file format: a recording hook keeps each token's normalised layer
// input, the oracle scores it in double (RMSNorm'd gate queries and keys, learned sink keys, mean
// over the group of 1/(1 + Σ exp(ℓ_s − ℓ))), sets the first n_sink and last w slots to 1 and evicts
// the global (or per-layer) bottom fraction; the cache after the prefill must hold exactly the
// rest.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "generate/session.h"
#include "model/model.h"
#include "model/transformer.h"
#include "model/writers.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "test_util.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

std::unique_ptr<Model> TinyModel() { return testing_util::TinyLlama("fastkvzip-tiny", 66); }

struct GateFile {
  std::map<std::string, std::vector<float>> t;
  std::string path;
};

GateFile WriteGates(int L, int D, int KV, int G, int d, int S, const std::string& tag) {
  std::mt19937 rng(12);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  GateFile f;
  std::vector<TensorToWrite> out;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool ones_ish) {
    size_t n = 1;
    for (int64_t x : shape) n *= static_cast<size_t>(x);
    std::vector<float> v(n);
    for (float& x : v) x = ones_ish ? 1.0f + 0.3f * dist(rng) : dist(rng);
    TensorToWrite t;
    t.name = name;
    t.shape = shape;
    t.bytes.resize(n * 4);
    std::memcpy(t.bytes.data(), v.data(), n * 4);
    out.push_back(std::move(t));
    f.t[name] = std::move(v);
  };
  for (int l = 0; l < L; ++l) {
    const std::string p = fmt::format("layers.{}.", l);
    add(p + "q_proj.weight", {KV * G * d, D}, false);
    add(p + "q_proj.bias", {KV * G * d}, false);
    add(p + "k_proj.weight", {KV * d, D}, false);
    add(p + "q_norm.weight", {d}, true);
    add(p + "k_norm.weight", {d}, true);
    add(p + "k_base", {KV, 1, S, d}, false);
    add(p + "b", {KV, 1, G}, false);
  }
  f.path = testing::TempDir("fastkvzip_" + tag) + "/gates.safetensors";
  EXPECT_TRUE(WriteSafetensors(f.path, out).ok());
  return f;
}

// Double-precision gate score of one token: [KV].
std::vector<double> Oracle(const GateFile& f, int l, const float* h, int D, int KV, int G, int d,
                           int S) {
  const std::string p = fmt::format("layers.{}.", l);
  const auto& wq = f.t.at(p + "q_proj.weight");
  const auto& bq = f.t.at(p + "q_proj.bias");
  const auto& wk = f.t.at(p + "k_proj.weight");
  const auto& qn = f.t.at(p + "q_norm.weight");
  const auto& kn = f.t.at(p + "k_norm.weight");
  const auto& kb = f.t.at(p + "k_base");
  const auto& b = f.t.at(p + "b");
  auto vec = [&](const std::vector<float>& w, const float* bias, int row,
                 const std::vector<float>& norm) {
    std::vector<double> v(static_cast<size_t>(d));
    double ss = 0;
    for (int c = 0; c < d; ++c) {
      double acc = bias ? bias[row + c] : 0.0;
      for (int j = 0; j < D; ++j)
        acc += static_cast<double>(w[static_cast<size_t>(row + c) * D + j]) * h[j];
      v[c] = acc;
      ss += acc * acc;
    }
    const double inv = 1.0 / std::sqrt(ss / d + 1e-6);
    for (int c = 0; c < d; ++c) v[c] *= inv * norm[c];
    return v;
  };
  std::vector<double> out(static_cast<size_t>(KV));
  for (int g = 0; g < KV; ++g) {
    const auto k = vec(wk, nullptr, g * d, kn);
    double mean = 0;
    for (int i = 0; i < G; ++i) {
      const auto q = vec(wq, bq.data(), (g * G + i) * d, qn);
      double dot = 0;
      for (int c = 0; c < d; ++c) dot += k[c] * q[c];
      const double logit =
          dot / std::sqrt(static_cast<double>(d)) + b[static_cast<size_t>(g * G + i)];
      double sum = 0;
      for (int s = 0; s < S; ++s) {
        double db = 0;
        for (int c = 0; c < d; ++c) db += kb[static_cast<size_t>((g * S + s) * d + c)] * q[c];
        sum += std::exp(db / std::sqrt(static_cast<double>(d)) - logit);
      }
      mean += 1.0 / (1.0 + sum);
    }
    out[g] = mean / G;
  }
  return out;
}

class Recorder : public LayerHook {
 public:
  explicit Recorder(Press* p, int D) : press_(p), D_(D) {}
  void AfterAttention(const LayerHookContext& ctx) override {
    for (int t = 0; t < ctx.n_tokens; ++t) {
      const float* h = ctx.hidden + static_cast<size_t>(t) * D_;
      hidden[{ctx.layer, ctx.positions[static_cast<size_t>(t)]}].assign(h, h + D_);
    }
    press_->AfterAttention(ctx);
  }
  std::map<std::pair<int, int32_t>, std::vector<float>> hidden;

 private:
  Press* press_;
  int D_;
};

void RunCase(double ratio, bool layerwise) {
  const auto model = TinyModel();
  const ModelConfig& c = model->config;
  const int L = c.n_layers, KV = c.n_kv_heads, G = c.n_heads / KV, D = c.hidden_size, d = 4, S = 3,
            n = 41;
  const GateFile f = WriteGates(L, D, KV, G, d, S, layerwise ? "lw" : "global");
  auto spec = ParsePressSpec(
      fmt::format("fastkvzip:gates={},window_ratio=0.1,layerwise={}", f.path, layerwise ? 1 : 0));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  spec->budget.removed_fraction = ratio;
  auto press = CreatePress(*spec);
  ASSERT_TRUE(press.ok()) << press.status().ToString();
  ASSERT_TRUE((*press)->Attach(c).ok());
  Recorder rec(press->get(), D);
  Transformer tf(*model, 1);
  KVCache cache = tf.NewCache();
  std::mt19937 rng(2);
  std::uniform_int_distribution<int32_t> tok(0, 63);
  std::vector<int32_t> ids(static_cast<size_t>(n)), pos(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ids[static_cast<size_t>(i)] = tok(rng);
    pos[static_cast<size_t>(i)] = i;
  }
  ForwardOptions opt;
  opt.hook = &rec;
  opt.max_chunk = 9;
  std::vector<float> logits;
  ASSERT_TRUE(tf.Forward(ids, pos, cache, opt, logits).ok());
  const int w = std::max(1, static_cast<int>(n * 0.1));
  std::vector<std::pair<double, std::tuple<int, int, int>>>
      all;  // (score, (position, layer, head))
  for (int l = 0; l < L; ++l) {
    for (int p = 0; p < n; ++p) {
      const auto s = Oracle(f, l, rec.hidden.at({l, p}).data(), D, KV, G, d, S);
      for (int g = 0; g < KV; ++g) all.push_back({p < 4 || p >= n - w ? 1.0 : s[g], {p, l, g}});
    }
  }
  std::set<std::tuple<int, int, int>> evicted;
  auto bottom = [&](std::vector<std::pair<double, std::tuple<int, int, int>>> v, size_t k) {
    std::sort(v.begin(), v.end());  // ascending score, then older position
    for (size_t i = 0; i < k; ++i) evicted.insert(v[i].second);
  };
  if (layerwise) {
    for (int l = 0; l < L; ++l) {
      std::vector<std::pair<double, std::tuple<int, int, int>>> v;
      for (const auto& e : all) {
        if (std::get<1>(e.second) == l) v.push_back(e);
      }
      bottom(v, static_cast<size_t>(static_cast<double>(KV * n) * ratio));
    }
  } else {
    bottom(all, static_cast<size_t>(static_cast<double>(all.size()) * ratio));
  }
  std::set<int> sizes;
  for (int l = 0; l < L; ++l) {
    for (int g = 0; g < KV; ++g) {
      std::set<int32_t> want;
      for (int p = 0; p < n; ++p) {
        if (!evicted.count({p, l, g})) want.insert(p);
      }
      const auto got = cache.Positions(l, g);
      EXPECT_EQ(std::set<int32_t>(got.begin(), got.end()), want) << "layer " << l << " head " << g;
      sizes.insert(static_cast<int>(got.size()));
    }
  }
  EXPECT_GT(sizes.size(), 1u) << "heads keep different counts";
}

TEST(FastKvzip, GlobalPruningMatchesBruteForce) { RunCase(0.5, false); }
TEST(FastKvzip, LayerwisePruningMatchesBruteForce) { RunCase(0.3, true); }

TEST(FastKvzip, NeedsGatesThatFitTheModel) {
  auto spec = ParsePressSpec("fastkvzip");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(CreatePress(*spec).status().code(), StatusCode::kFailedPrecondition);
  const GateFile f = WriteGates(3, 32, 2, 2, 4, 3, "bad");  // 3 layers; the model has 2
  auto spec2 = ParsePressSpec("fastkvzip:gates=" + f.path);
  ASSERT_TRUE(spec2.ok());
  auto press = CreatePress(*spec2);
  ASSERT_TRUE(press.ok()) << press.status().ToString();
  const auto model = TinyModel();
  EXPECT_EQ((*press)->Attach(model->config).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kvpress
