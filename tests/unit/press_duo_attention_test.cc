// duo_attention (src/press/duo_attention_press.cc, src/press/duo_patterns.{h,cc}) against double
// brute force on a tiny random llama driven by the real Transformer: the oracle computes each
// token's pre-RoPE query and key from the recorded normalised layer input and the model's own W_q /
// W_k (not by rotating back, as the press does), upstream's on-the-fly head score with its own RoPE
// in double, the streaming heads (round half to even, lowest first), and the slots every head must
// hold after a chunked prefill and after every decoding step (decoding=0 and =1).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "generate/session.h"
#include "model/model.h"
#include "model/transformer.h"
#include "press/duo_patterns.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "test_util.h"
#include "tiny_llama.h"

namespace kvpress {
namespace {

std::unique_ptr<Model> TinyModel() { return testing_util::TinyLlama("duo-tiny", 71); }

// Upstream's score of one layer in double: queries and keys rotated with exact cos/sin.
std::vector<double> OracleLayerScores(const ModelConfig& c, const std::vector<double>& mean_q,
                                      const std::vector<double>& mean_k, int q_len) {
  const int H = c.n_heads, KV = c.n_kv_heads, hd = c.head_dim, half = hd / 2;
  const auto rotate = [&](const double* x, int pos, double* out) {
    for (int i = 0; i < half; ++i) {
      const double inv = std::pow(static_cast<double>(c.rope_theta), -2.0 * i / hd);
      const double cs = std::cos(pos * inv), sn = std::sin(pos * inv);
      const int a = c.rope_style == RopeStyle::kRotateHalf ? i : 2 * i;
      const int b = c.rope_style == RopeStyle::kRotateHalf ? i + half : 2 * i + 1;
      out[a] = x[a] * cs - x[b] * sn;
      out[b] = x[b] * cs + x[a] * sn;
    }
  };
  std::vector<double> out(static_cast<size_t>(KV), 0.0), q(static_cast<size_t>(hd)),
      k(static_cast<size_t>(hd));
  for (int h = 0; h < H; ++h) {
    const int g = h / (H / KV);
    rotate(&mean_q[static_cast<size_t>(h) * hd], q_len - 1, q.data());
    std::vector<double> p(static_cast<size_t>(q_len));
    for (int j = 0; j < q_len; ++j) {
      rotate(&mean_k[static_cast<size_t>(g) * hd], j, k.data());
      p[static_cast<size_t>(j)] =
          std::inner_product(q.begin(), q.end(), k.begin(), 0.0) / std::sqrt(hd);
    }
    const double top = *std::max_element(p.begin(), p.end());
    double z = 0;
    for (double& x : p) z += (x = std::exp(x - top));
    double cum = 0, area = 0;
    for (double x : p) area += (cum += x / z);
    out[static_cast<size_t>(g)] += area / q_len / (H / KV);
  }
  return out;
}

// Records every prefill token's normalised layer input, then runs the press.
class Recorder : public LayerHook {
 public:
  explicit Recorder(LayerHook* p) : press_(p) {}
  void AfterAttention(const LayerHookContext& ctx) override {
    for (int t = 0; t < ctx.n_tokens; ++t) {
      const float* h = ctx.hidden + static_cast<size_t>(t) * dim;
      hidden[static_cast<size_t>(ctx.layer)].push_back(std::vector<double>(h, h + dim));
    }
    press_->AfterAttention(ctx);
  }
  int dim = 0;
  std::vector<std::vector<std::vector<double>>> hidden;  // [L][tokens][D]

 private:
  LayerHook* press_;
};

// Mean over the recorded tokens of W h (W [rows, D] f32 as the model stores it): [rows].
std::vector<double> MeanProjection(const MatrixView& w,
                                   const std::vector<std::vector<double>>& hs) {
  const float* W = reinterpret_cast<const float*>(w.data);
  std::vector<double> m(static_cast<size_t>(w.rows), 0.0);
  for (const auto& h : hs) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double acc = 0;
      for (int64_t j = 0; j < w.cols; ++j)
        acc += static_cast<double>(W[r * w.cols + j]) * h[static_cast<size_t>(j)];
      m[static_cast<size_t>(r)] += acc / static_cast<double>(hs.size());
    }
  }
  return m;
}

std::vector<int32_t> RandomIds(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(2, 63);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& t : ids) t = tok(rng);
  return ids;
}

// Positions a head must hold: 0..n-1, or for a streaming head its first `sink` and last `recent`.
std::set<int32_t> Expected(int n, bool streaming, int sink, int recent) {
  std::set<int32_t> s;
  for (int p = 0; p < n; ++p) {
    if (!streaming || n <= sink + recent || p < sink || p >= n - recent) s.insert(p);
  }
  return s;
}

TEST(DuoAttention, LayerScoresMatchDoubleOracle) {
  for (RopeStyle style : {RopeStyle::kRotateHalf, RopeStyle::kInterleaved}) {
    ModelConfig c = TinyModel()->config;
    c.rope_style = style;
    std::mt19937 rng(5);
    std::normal_distribution<float> dist(0.0f, 1.5f);
    std::vector<float> q(static_cast<size_t>(c.n_heads * c.head_dim)),
        k(static_cast<size_t>(c.n_kv_heads * c.head_dim));
    for (float& x : q) x = dist(rng);
    for (float& x : k) x = dist(rng);
    for (int q_len : {500, 37}) {
      const auto got = DuoLayerScores(c, q, k, q_len);
      const auto want = OracleLayerScores(c, std::vector<double>(q.begin(), q.end()),
                                          std::vector<double>(k.begin(), k.end()), q_len);
      ASSERT_EQ(got.size(), want.size());
      for (size_t g = 0; g < got.size(); ++g) {
        EXPECT_NEAR(got[g], want[g], 2e-6) << "head " << g << " q_len " << q_len;
        EXPECT_GT(got[g], 0.0);
        EXPECT_LE(got[g], 1.0 + 1e-12);
      }
    }
  }
}

TEST(DuoAttention, StreamingMaskRoundsHalfToEvenLowestFirst) {
  const auto count = [](const std::vector<uint8_t>& m) {
    return std::accumulate(m.begin(), m.end(), 0);
  };
  EXPECT_EQ(count(DuoStreamingMask(std::vector<double>(10, 0.0), 0.25)), 2);  // 2.5 -> 2
  EXPECT_EQ(count(DuoStreamingMask(std::vector<double>(6, 0.0), 0.25)), 2);   // 1.5 -> 2
  EXPECT_EQ(count(DuoStreamingMask(std::vector<double>(90, 0.0), 0.25)), 22);
  EXPECT_EQ(count(DuoStreamingMask(std::vector<double>(90, 0.0), 0.75)), 68);
  EXPECT_EQ(count(DuoStreamingMask(std::vector<double>(90, 0.0), 0.0)), 0);
  const auto m =
      DuoStreamingMask({0.5, 0.1, 0.5, 0.9, 0.5}, 0.6);  // 3 heads: 0.1, then ties by index
  EXPECT_EQ(m, (std::vector<uint8_t>{1, 1, 1, 0, 0}));
}

// On the fly over a prefill split into chunks of 9: the oracle's streaming heads keep sink +
// recent.
TEST(DuoAttention, OnTheFlyPrefillKeepsSinkAndRecentOnStreamingHeads) {
  const auto model = TinyModel();
  const ModelConfig& c = model->config;
  const int n = 61, sink = 4, recent = 16;
  for (double ratio : {0.25, 0.5, 0.75}) {
    SCOPED_TRACE(ratio);
    auto spec = ParsePressSpec(fmt::format("duo_attention:sink={},recent={}", sink, recent));
    ASSERT_TRUE(spec.ok());
    spec->budget.removed_fraction = ratio;
    auto press = CreatePress(*spec);
    ASSERT_TRUE(press.ok()) << press.status().ToString();
    ASSERT_TRUE((*press)->Attach(c).ok());
    Recorder rec(press->get());
    rec.dim = c.hidden_size;
    rec.hidden.resize(static_cast<size_t>(c.n_layers));
    Transformer tf(*model, 1);
    KVCache cache = tf.NewCache();
    const std::vector<int32_t> ids = RandomIds(n, 3);
    std::vector<int32_t> pos(static_cast<size_t>(n));
    std::iota(pos.begin(), pos.end(), 0);
    ForwardOptions opt;
    opt.hook = &rec;
    opt.max_chunk = 9;
    std::vector<float> logits;
    ASSERT_TRUE(tf.Forward(ids, pos, cache, opt, logits).ok());
    std::vector<double> scores;
    for (int l = 0; l < c.n_layers; ++l) {
      const auto& hs = rec.hidden[static_cast<size_t>(l)];
      ASSERT_EQ(hs.size(), static_cast<size_t>(n));
      const auto s = OracleLayerScores(
          c, MeanProjection(model->weights.layers[static_cast<size_t>(l)].wq, hs),
          MeanProjection(model->weights.layers[static_cast<size_t>(l)].wk, hs), 500);
      scores.insert(scores.end(), s.begin(), s.end());
    }
    std::vector<double> sorted = scores;
    std::sort(sorted.begin(), sorted.end());
    const int n_streaming =
        static_cast<int>(std::nearbyint(static_cast<double>(scores.size()) * ratio));
    ASSERT_GT(
        sorted[static_cast<size_t>(n_streaming)] - sorted[static_cast<size_t>(n_streaming - 1)],
        1e-5)
        << "oracle scores too close at the cut for this seed";
    int streaming_heads = 0;
    for (int l = 0; l < c.n_layers; ++l) {
      for (int g = 0; g < c.n_kv_heads; ++g) {
        const bool streaming = scores[static_cast<size_t>(l * c.n_kv_heads + g)] <
                               sorted[static_cast<size_t>(n_streaming)];
        streaming_heads += streaming;
        const auto got = cache.Positions(l, g);
        EXPECT_EQ(std::set<int32_t>(got.begin(), got.end()), Expected(n, streaming, sink, recent))
            << "layer " << l << " head " << g;
      }
    }
    EXPECT_EQ(streaming_heads, n_streaming);
    // The freed slots are real memory: every head holds only what it keeps.
    EXPECT_EQ(cache.LiveBytes(), (static_cast<size_t>(c.n_layers * c.n_kv_heads) * n -
                                  static_cast<size_t>(n_streaming) * (n - sink - recent)) *
                                     cache.SlotBytes());
  }
}

// kvpress stats --duo-patterns: each text is one sample, the scores are the mean of the texts'.
TEST(DuoAttention, CollectorAveragesTextsAsUpstream) {
  const auto model = TinyModel();
  const ModelConfig& c = model->config;
  DuoPatternCollector collector(c);
  std::vector<double> want(static_cast<size_t>(c.n_layers * c.n_kv_heads), 0.0);
  const std::vector<int> lengths = {23, 41};
  for (size_t i = 0; i < lengths.size(); ++i) {
    Recorder rec(&collector);
    rec.dim = c.hidden_size;
    rec.hidden.resize(static_cast<size_t>(c.n_layers));
    Transformer tf(*model, 1);
    KVCache cache = tf.NewCache();
    const std::vector<int32_t> ids = RandomIds(lengths[i], 20 + static_cast<uint32_t>(i));
    std::vector<int32_t> pos(ids.size());
    std::iota(pos.begin(), pos.end(), 0);
    ForwardOptions opt;
    opt.hook = &rec;
    opt.max_chunk = 7;
    std::vector<float> logits;
    ASSERT_TRUE(tf.Forward(ids, pos, cache, opt, logits).ok());
    collector.EndSample();
    for (int l = 0; l < c.n_layers; ++l) {
      const auto& hs = rec.hidden[static_cast<size_t>(l)];
      const auto& w = model->weights.layers[static_cast<size_t>(l)];
      const auto s = OracleLayerScores(c, MeanProjection(w.wq, hs), MeanProjection(w.wk, hs), 500);
      for (int g = 0; g < c.n_kv_heads; ++g) {
        want[static_cast<size_t>(l * c.n_kv_heads + g)] += s[static_cast<size_t>(g)] / 2;
      }
    }
  }
  collector.EndSample();  // nothing seen since the last text: no sample added
  EXPECT_EQ(collector.samples(), 2);
  const DuoPatterns got = collector.Finish();
  ASSERT_EQ(got.head_scores.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got.head_scores[i], want[i], 2e-6) << i;
}

// A patterns file (safetensors) fixes the heads; the Session checks the slots after the prefill,
// after the question and after every decoding step, with decoding=0 (upstream: new tokens stay)
// and decoding=1 (streaming heads stay at sink + recent).
TEST(DuoAttention, DecodingFollowsTheRuleAtEveryStep) {
  const auto model = TinyModel();
  const ModelConfig& c = model->config;
  const std::string path = testing::TempDir("duo_decoding") + "/patterns.safetensors";
  DuoPatterns pat;
  pat.n_layers = c.n_layers;
  pat.n_kv_heads = c.n_kv_heads;
  pat.head_scores = {0.7, 0.2, 0.1, 0.9};  // ratio 0.5: (0, 1) and (1, 0) stream
  ASSERT_TRUE(SaveDuoPatterns(path, pat).ok());
  const std::vector<bool> streaming = {false, true, true, false};
  const int n = 40, n_question = 5, sink = 4, recent = 8;
  for (int decoding : {0, 1}) {
    SCOPED_TRACE(decoding);
    auto spec = ParsePressSpec(fmt::format(
        "duo_attention:patterns={},sink={},recent={},decoding={}", path, sink, recent, decoding));
    ASSERT_TRUE(spec.ok());
    spec->budget.removed_fraction = 0.5;
    auto press = CreatePress(*spec);
    ASSERT_TRUE(press.ok()) << press.status().ToString();
    Transformer tf(*model, 1);
    Session session(tf, press->get(), DType::kF32, 16);
    std::vector<float> logits;
    ASSERT_TRUE(session.Prefill(RandomIds(n, 8), ForwardPhase::kPrefill, logits).ok());
    const auto check = [&](const KVCache& cache, int total, bool trimmed_after_context) {
      for (int l = 0; l < c.n_layers; ++l) {
        for (int g = 0; g < c.n_kv_heads; ++g) {
          const bool s = streaming[static_cast<size_t>(l * c.n_kv_heads + g)];
          std::set<int32_t> want;
          if (trimmed_after_context) {
            want = Expected(total, s, sink, recent);
          } else {  // the context's window, then every later token
            want = Expected(n, s, sink, recent);
            for (int p = n; p < total; ++p) want.insert(p);
          }
          const auto got = cache.Positions(l, g);
          EXPECT_EQ(std::set<int32_t>(got.begin(), got.end()), want)
              << "layer " << l << " head " << g << " after " << total << " tokens";
        }
      }
    };
    check(session.cache(), n, true);
    ASSERT_TRUE(session.Prefill(RandomIds(n_question, 9), ForwardPhase::kQuestion, logits).ok());
    check(session.cache(), n + n_question, false);  // the question is never compressed
    DecodeLoopOptions opt;
    opt.max_new_tokens = 12;
    int steps = 0;
    opt.on_cache = [&](const KVCache& cache) {
      ++steps;
      // The step's token is at position n + n_question + steps − 1.
      check(cache, n + n_question + steps, decoding == 1);
    };
    auto r = session.Decode(std::move(logits), opt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_GT(steps, 0);
  }
}

TEST(DuoAttention, PatternFilesAndBadInput) {
  const std::string dir = testing::TempDir("duo_files");
  {
    std::ofstream f(dir + "/heads.tsv");
    f << "0.5\t-0.25\n1.75\t0.125\n";
  }
  auto tsv = LoadDuoPatterns(dir + "/heads.tsv");
  ASSERT_TRUE(tsv.ok()) << tsv.status().ToString();
  EXPECT_EQ(tsv->n_layers, 2);
  EXPECT_EQ(tsv->n_kv_heads, 2);
  EXPECT_EQ(tsv->head_scores, (std::vector<double>{0.5, 0.0, 1.0, 0.125}));  // clipped to [0, 1]
  ASSERT_TRUE(SaveDuoPatterns(dir + "/heads.safetensors", *tsv).ok());
  auto st = LoadDuoPatterns(dir + "/heads.safetensors");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->head_scores, tsv->head_scores);
  {
    std::ofstream f(dir + "/ragged.tsv");
    f << "0.5\t0.25\n0.75\n";
  }
  EXPECT_EQ(LoadDuoPatterns(dir + "/ragged.tsv").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(LoadDuoPatterns(dir + "/missing.tsv").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(LoadDuoPatterns(dir + "/heads.txt").status().code(), StatusCode::kFailedPrecondition);

  const auto model = TinyModel();
  DuoPatterns three;
  three.n_layers = 3;
  three.n_kv_heads = 2;
  three.head_scores.assign(6, 0.5);
  ASSERT_TRUE(SaveDuoPatterns(dir + "/three.safetensors", three).ok());
  auto spec = ParsePressSpec("duo_attention:patterns=" + dir + "/three.safetensors");
  ASSERT_TRUE(spec.ok());
  auto press = CreatePress(*spec);
  ASSERT_TRUE(press.ok());
  EXPECT_EQ((*press)->Attach(model->config).code(),
            StatusCode::kFailedPrecondition);  // 3 layers, model 2

  auto budget = ParsePressSpec("duo_attention");
  ASSERT_TRUE(budget.ok());
  budget->budget.cache_budget = 16;
  auto p2 = CreatePress(*budget);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ((*p2)->Attach(model->config).code(), StatusCode::kFailedPrecondition);
  auto missing = ParsePressSpec("duo_attention:patterns=" + dir + "/nope.safetensors");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(CreatePress(*missing).ok());
}

}  // namespace
}  // namespace kvpress
