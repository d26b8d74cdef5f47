// kvzap (src/press/kvzap_press.cc, kvzap_weights.cc) on a tiny random model driven by the real
// Transformer, with weights written here in the file format (linear and MLP, f32 and bf16). A
// recording hook keeps each token's normalised layer input; the oracle scores it in double
// (W h + b, or W2 GELU(W1 h + b1) + b2 with erf GELU) and predicts the cache:
//   kvzap with ratio r: each head keeps its top ⌊n(1−r)⌋ context slots by score;
//   dms(kvzap):threshold=τ,window=w,decoding=1: a token leaves once it is older than the last w
//   processed tokens and scored below τ.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "generate/session.h"
#include "model/model.h"
#include "model/transformer.h"
#include "model/writers.h"
#include "ops/dtype.h"
#include "press/kvzap_weights.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "test_util.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

std::unique_ptr<Model> TinyModel() { return testing_util::TinyLlama("kvzap-tiny", 44); }

// Random weights in double (the oracle's) and the file holding them (f32 or bf16-rounded).
struct Weights {
  int hidden = 0;                                   // 0 = linear
  std::vector<std::vector<double>> w1, b1, w2, b2;  // per layer, as in the file
  std::string path;
};

Weights WriteWeights(int L, int D, int H, int F, bool bf16, const std::string& tag) {
  std::mt19937 rng(7);
  std::normal_distribution<double> dist(0.0, 0.3);
  Weights w;
  w.hidden = F;
  std::vector<TensorToWrite> tensors;
  auto make = [&](const std::string& name, std::vector<int64_t> shape, std::vector<double>& v) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    v.resize(n);
    TensorToWrite t;
    t.name = name;
    t.shape = shape;
    t.dtype = bf16 ? DType::kBF16 : DType::kF32;
    t.bytes.resize(n * (bf16 ? 2 : 4));
    for (size_t i = 0; i < n; ++i) {
      float f = static_cast<float>(dist(rng));
      if (bf16) {
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        const uint16_t top = static_cast<uint16_t>(bits >> 16);  // truncation: exact in bf16
        std::memcpy(&t.bytes[2 * i], &top, 2);
        f = BF16ToF32(top);
      } else {
        std::memcpy(&t.bytes[4 * i], &f, 4);
      }
      v[i] = f;
    }
    tensors.push_back(std::move(t));
  };
  w.w1.resize(L);
  w.b1.resize(L);
  w.w2.resize(L);
  w.b2.resize(L);
  for (int l = 0; l < L; ++l) {
    if (F == 0) {
      make(fmt::format("layers.{}.weight", l), {H, D}, w.w1[l]);
      make(fmt::format("layers.{}.bias", l), {H}, w.b1[l]);
    } else {
      make(fmt::format("layers.{}.0.weight", l), {F, D}, w.w1[l]);
      make(fmt::format("layers.{}.0.bias", l), {F}, w.b1[l]);
      make(fmt::format("layers.{}.2.weight", l), {H, F}, w.w2[l]);
      make(fmt::format("layers.{}.2.bias", l), {H}, w.b2[l]);
    }
  }
  w.path = testing::TempDir("kvzap_" + tag) + "/kvzap.safetensors";
  EXPECT_TRUE(WriteSafetensors(w.path, tensors).ok());
  return w;
}

std::vector<double> OracleScore(const Weights& w, int l, const float* h, int D, int H) {
  auto affine = [](const std::vector<double>& W, const std::vector<double>& b,
                   const std::vector<double>& x) {
    std::vector<double> y(b.size());
    for (size_t r = 0; r < b.size(); ++r) {
      y[r] = b[r];
      for (size_t c = 0; c < x.size(); ++c) y[r] += W[r * x.size() + c] * x[c];
    }
    return y;
  };
  std::vector<double> x(h, h + D);
  if (w.hidden == 0) return affine(w.w1[l], w.b1[l], x);
  std::vector<double> z = affine(w.w1[l], w.b1[l], x);
  for (double& v : z) v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  return affine(w.w2[l], w.b2[l], z);
}

// Wraps the press; records each token's score per (layer, KV head) from its hidden state.
class Recorder : public LayerHook {
 public:
  Recorder(Press* p, const Weights& w, int D, int H) : press_(p), w_(w), D_(D), H_(H) {}
  AttentionRequest Request(const ForwardInfo& info) const override { return press_->Request(info); }
  void AfterAttention(const LayerHookContext& ctx) override {
    for (int t = 0; t < ctx.n_tokens; ++t) {
      const auto s = OracleScore(w_, ctx.layer, ctx.hidden + static_cast<size_t>(t) * D_, D_, H_);
      for (int g = 0; g < H_; ++g)
        score[{ctx.layer, g}][ctx.positions[static_cast<size_t>(t)]] = s[g];
    }
    press_->AfterAttention(ctx);
  }
  std::map<std::pair<int, int>, std::map<int32_t, double>> score;

 private:
  Press* press_;
  const Weights& w_;
  int D_, H_;
};

TEST(Kvzap, RatioKeepsTheTopScoresOfEachHead) {
  for (const bool bf16 : {false, true}) {
    for (const int F : {0, 6}) {
      SCOPED_TRACE(::testing::Message() << "hidden " << F << (bf16 ? " bf16" : " f32"));
      const auto model = TinyModel();
      const ModelConfig& c = model->config;
      const Weights w = WriteWeights(c.n_layers, c.hidden_size, c.n_kv_heads, F, bf16,
                                     fmt::format("r{}{}", F, bf16));
      auto spec = ParsePressSpec("kvzap:weights=" + w.path);
      ASSERT_TRUE(spec.ok());
      spec->budget.removed_fraction = 0.5;
      auto press = CreatePress(*spec);
      ASSERT_TRUE(press.ok()) << press.status().ToString();
      ASSERT_TRUE((*press)->Attach(c).ok());
      Recorder rec(press->get(), w, c.hidden_size, c.n_kv_heads);
      Transformer tf(*model, 1);
      KVCache cache = tf.NewCache();
      std::mt19937 rng(3);
      std::uniform_int_distribution<int32_t> tok(0, 63);
      std::vector<int32_t> ids(30), pos(30);
      for (int i = 0; i < 30; ++i) {
        ids[i] = tok(rng);
        pos[i] = i;
      }
      ForwardOptions opt;
      opt.hook = &rec;
      opt.max_chunk = 11;
      std::vector<float> logits;
      ASSERT_TRUE(tf.Forward(ids, pos, cache, opt, logits).ok());
      for (int l = 0; l < c.n_layers; ++l) {
        for (int g = 0; g < c.n_kv_heads; ++g) {
          std::vector<std::pair<double, int32_t>> s;
          for (const auto& [p, v] : rec.score[{l, g}]) s.push_back({v, p});
          std::sort(s.rbegin(), s.rend());
          // Repeated tokens tie exactly in layer 0 (same hidden state): the more recent is kept,
          // as the descending (score, position) order says. Rounding-level near ties must not
          // occur.
          const double gap = s[14].first - s[15].first;
          ASSERT_TRUE(gap == 0 || gap > 1e-5) << "near tie at the cut";
          std::set<int32_t> want;
          for (int i = 0; i < 15; ++i) want.insert(s[i].second);
          const auto got = cache.Positions(l, g);
          EXPECT_EQ(std::set<int32_t>(got.begin(), got.end()), want)
              << "layer " << l << " head " << g;
        }
      }
    }
  }
}

TEST(Kvzap, InsideDmsFollowsTheThresholdRule) {
  const auto model = TinyModel();
  const ModelConfig& c = model->config;
  const Weights w = WriteWeights(c.n_layers, c.hidden_size, c.n_kv_heads, 6, false, "dms");
  const double threshold = 0.0;
  const int window = 6;
  auto spec = ParsePressSpec(fmt::format("dms(kvzap:weights={}):threshold={},window={},decoding=1",
                                         w.path, threshold, window));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto press = CreatePress(*spec);
  ASSERT_TRUE(press.ok()) << press.status().ToString();
  ASSERT_TRUE((*press)->Attach(c).ok());
  Recorder rec(press->get(), w, c.hidden_size, c.n_kv_heads);
  Transformer tf(*model, 1);
  KVCache cache = tf.NewCache();
  std::mt19937 rng(9);
  std::uniform_int_distribution<int32_t> tok(0, 63);
  int32_t next = 0;
  std::vector<float> logits;
  auto forward = [&](int n, ForwardPhase phase) {
    std::vector<int32_t> ids, pos;
    for (int i = 0; i < n; ++i) {
      ids.push_back(tok(rng));
      pos.push_back(next++);
    }
    ForwardOptions opt;
    opt.hook = &rec;
    opt.phase = phase;
    opt.max_chunk = 8;
    ASSERT_TRUE(tf.Forward(ids, pos, cache, opt, logits).ok());
  };
  forward(25, ForwardPhase::kPrefill);
  forward(4, ForwardPhase::kQuestion);
  for (int s = 0; s < 10; ++s) forward(1, ForwardPhase::kDecode);
  int evicted = 0;
  for (int l = 0; l < c.n_layers; ++l) {
    for (int g = 0; g < c.n_kv_heads; ++g) {
      std::set<int32_t> want;
      for (const auto& [p, v] : rec.score[{l, g}]) {
        ASSERT_GT(std::abs(v - threshold), 1e-5) << "score on the threshold";
        if (p >= next - window || v >= threshold) want.insert(p);
      }
      const auto got = cache.Positions(l, g);
      EXPECT_EQ(std::set<int32_t>(got.begin(), got.end()), want) << "layer " << l << " head " << g;
      evicted += next - static_cast<int>(got.size());
    }
  }
  EXPECT_GT(evicted, 10);
}

TEST(Kvzap, RejectsMissingOrMismatchedWeights) {
  auto spec = ParsePressSpec("kvzap");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(CreatePress(*spec).status().code(), StatusCode::kFailedPrecondition);
  const Weights w = WriteWeights(3, 32, 2, 0, false, "mismatch");  // 3 layers, the model has 2
  auto spec2 = ParsePressSpec("kvzap:weights=" + w.path);
  ASSERT_TRUE(spec2.ok());
  auto press = CreatePress(*spec2);
  ASSERT_TRUE(press.ok());
  const auto model = TinyModel();
  EXPECT_EQ((*press)->Attach(model->config).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kvpress
