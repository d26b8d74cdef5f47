// kvzip (src/press/kvzip_press.cc) against a brute force on a tiny random model driven by the real
// Transformer: for every replay chunk the oracle prefills the context into a fresh cache, forwards
// the replay prompt it builds itself (instruction [+ tail of the previous chunk] + suffix + chunk)
// with a recording hook, and scores every context slot in double precision from the recorded
// post-RoPE queries and cached keys (softmax over sinks ∪ chunk ∪ causal replay keys, max over the
// group's query heads and the replay queries). The first n_sink slots get max+1, the prefix's 0;
// the bottom ⌊L·H_kv·n·r⌋ (or ⌊H_kv·n·r⌋ per layer) are evicted. The session's cache after
// Prefill must hold exactly the others, and no replay slot or position may remain.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "generate/session.h"
#include "model/model.h"
#include "model/transformer.h"
#include "press/press_spec.h"
#include "press/registry.h"

namespace kvpress {
namespace {

MatrixView RandomMatrix(ModelWeights& w, int64_t rows, int64_t cols, float stddev,
                        std::mt19937_64& rng) {
  std::normal_distribution<float> dist(0.0f, stddev);
  auto buf =
      std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(rows * cols) * sizeof(float));
  float* x = reinterpret_cast<float*>(buf->data());
  for (int64_t i = 0; i < rows * cols; ++i) x[i] = dist(rng);
  w.owned.push_back(buf);
  return MatrixView{DType::kF32, rows, cols, buf->data(),
                    static_cast<size_t>(cols) * sizeof(float)};
}

std::unique_ptr<Model> TinyModel() {
  ModelConfig c;
  c.family = ModelFamily::kLlama;
  c.architecture = "kvzip-tiny";
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.vocab_size = 64;
  c.max_position = 4096;
  c.rms_norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.bos_token_id = 1;
  auto m = std::make_unique<Model>();
  m->config = c;
  ModelWeights& w = m->weights;
  std::mt19937_64 rng(33);
  w.embed = RandomMatrix(w, c.vocab_size, 32, 1.0f, rng);
  w.lm_head = RandomMatrix(w, c.vocab_size, 32, 0.1f, rng);
  w.final_norm.assign(32, 1.0f);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights L;
    L.attn_norm.assign(32, 1.0f);
    L.ffn_norm.assign(32, 1.0f);
    L.wq = RandomMatrix(w, 32, 32, 0.5f, rng);
    L.wk = RandomMatrix(w, 16, 32, 0.5f, rng);
    L.wv = RandomMatrix(w, 16, 32, 0.3f, rng);
    L.wo = RandomMatrix(w, 32, 32, 0.2f, rng);
    L.w_gate = RandomMatrix(w, 64, 32, 0.2f, rng);
    L.w_up = RandomMatrix(w, 64, 32, 0.2f, rng);
    L.w_down = RandomMatrix(w, 32, 64, 0.1f, rng);
    w.layers.push_back(std::move(L));
  }
  return m;
}

// Records each layer's post-RoPE queries of the forward and, at its last chunk, the cached keys.
class Recorder : public LayerHook {
 public:
  Recorder(int n_layers, int n_heads)
      : n_heads_(n_heads),
        queries(static_cast<size_t>(n_layers)),
        keys(static_cast<size_t>(n_layers)) {}
  void AfterAttention(const LayerHookContext& ctx) override {
    const int H = n_heads_, hd = ctx.cache->head_dim();
    auto& q = queries[static_cast<size_t>(ctx.layer)];
    q.insert(q.end(), ctx.queries, ctx.queries + static_cast<size_t>(ctx.n_tokens) * H * hd);
    if (!ctx.info.last_chunk) return;
    auto& k = keys[static_cast<size_t>(ctx.layer)];
    k.assign(static_cast<size_t>(ctx.cache->n_kv_heads()), {});
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      std::vector<float> row(static_cast<size_t>(hd));
      for (int j = 0; j < ctx.cache->Size(ctx.layer, g); ++j) {
        ctx.cache->KeyAt(ctx.layer, g, j, row.data());
        k[static_cast<size_t>(g)].push_back(row);
      }
    }
  }
  int n_heads_;
  std::vector<std::vector<float>> queries;                         // [L][t*H*hd]
  std::vector<std::vector<std::vector<std::vector<float>>>> keys;  // [L][KV][slot][hd]
};

struct Case {
  double ratio;
  bool layerwise;
  int chunk;
};

void RunCase(const Case& cs) {
  const auto model = TinyModel();
  const ModelConfig& c = model->config;
  const int L = c.n_layers, KV = c.n_kv_heads, H = c.n_heads, G = H / KV, hd = c.head_dim,
            n_sink = 4;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> tok(2, 63);
  std::vector<int32_t> context(41);
  for (auto& t : context) t = tok(rng);
  ContextReplayPrompts prompts;
  prompts.prefix_length = 3;
  prompts.repeat_first = {5, 6, 7};
  prompts.repeat_next = {8, 9};
  prompts.suffix = {10, 11};
  const int n = static_cast<int>(context.size());

  // Brute force: scores [L][KV][n] in double.
  std::vector<double> score(static_cast<size_t>(L) * KV * n, 0.0);
  Transformer tf(*model, 1);
  for (int start = prompts.prefix_length; start < n; start += cs.chunk) {
    const int end = std::min(n, start + cs.chunk);
    std::vector<int32_t> ids =
        start == prompts.prefix_length ? prompts.repeat_first : prompts.repeat_next;
    if (start > prompts.prefix_length)
      ids.insert(ids.end(), context.begin() + std::max(start - 8, start - cs.chunk),
                 context.begin() + start);
    ids.insert(ids.end(), prompts.suffix.begin(), prompts.suffix.end());
    ids.insert(ids.end(), context.begin() + start, context.begin() + end);
    const int q = static_cast<int>(ids.size());
    KVCache cache = tf.NewCache();
    std::vector<float> logits;
    std::vector<int32_t> pos(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = i;
    ForwardOptions fo;
    ASSERT_TRUE(tf.Forward(context, pos, cache, fo, logits).ok());
    Recorder rec(L, H);
    std::vector<int32_t> rpos(static_cast<size_t>(q));
    for (int i = 0; i < q; ++i) rpos[static_cast<size_t>(i)] = n + i;
    ForwardOptions ro;
    ro.hook = &rec;
    ro.phase = ForwardPhase::kQuestion;
    ro.max_chunk = 5;  // the replay arrives in several chunks
    ASSERT_TRUE(tf.Forward(ids, rpos, cache, ro, logits).ok());
    const int sink = std::min(n_sink, start);
    for (int l = 0; l < L; ++l) {
      for (int g = 0; g < KV; ++g) {
        const auto& K = rec.keys[static_cast<size_t>(l)][static_cast<size_t>(g)];
        ASSERT_EQ(static_cast<int>(K.size()), n + q);
        for (int t = 0; t < q; ++t) {
          for (int hg = 0; hg < G; ++hg) {
            const float* qv = &rec.queries[static_cast<size_t>(l)]
                                          [(static_cast<size_t>(t) * H + g * G + hg) * hd];
            std::vector<int> S;
            for (int j = 0; j < sink; ++j) S.push_back(j);
            for (int j = start; j < end; ++j) S.push_back(j);
            for (int j = n; j <= n + t; ++j) S.push_back(j);
            std::vector<double> lg;
            double mx = -1e300;
            for (int j : S) {
              double d = 0;
              for (int ch = 0; ch < hd; ++ch)
                d += static_cast<double>(qv[ch]) *
                     K[static_cast<size_t>(j)][static_cast<size_t>(ch)];
              lg.push_back(d / std::sqrt(static_cast<double>(hd)));
              mx = std::max(mx, lg.back());
            }
            double sum = 0;
            for (double x : lg) sum += std::exp(x - mx);
            for (size_t i = 0; i < S.size(); ++i) {
              const int j = S[i];
              if (j < start || j >= end) continue;
              double& s = score[(static_cast<size_t>(l) * KV + g) * n + j];
              s = std::max(s, std::exp(lg[i] - mx) / sum);
            }
          }
        }
      }
    }
  }
  const double top = *std::max_element(score.begin(), score.end()) + 1;
  for (int lg = 0; lg < L * KV; ++lg) {
    for (int p = 0; p < n_sink; ++p) score[static_cast<size_t>(lg) * n + p] = top;
  }
  std::set<size_t> evicted;
  auto bottom = [&](size_t begin, size_t count, size_t k) {
    std::vector<size_t> idx(count);
    for (size_t i = 0; i < count; ++i) idx[i] = begin + i;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      if (score[a] != score[b]) return score[a] < score[b];
      return a % n < b % n;
    });
    for (size_t i = 0; i < k; ++i) evicted.insert(idx[i]);
  };
  const size_t per_layer = static_cast<size_t>(KV) * n;
  if (cs.layerwise) {
    for (int l = 0; l < L; ++l)
      bottom(l * per_layer, per_layer, static_cast<size_t>(per_layer * cs.ratio));
  } else {
    bottom(0, score.size(), static_cast<size_t>(score.size() * cs.ratio));
  }

  auto spec = ParsePressSpec("kvzip:chunk=" + std::to_string(cs.chunk) +
                             ",layerwise=" + (cs.layerwise ? "1" : "0"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  spec->budget.removed_fraction = cs.ratio;
  auto press = CreatePress(*spec);
  ASSERT_TRUE(press.ok()) << press.status().ToString();
  Session session(tf, press->get(), DType::kF32, 7);
  std::vector<float> logits;
  {
    Session no_prompts(tf, press->get(), DType::kF32, 7);
    const Status s = no_prompts.Prefill(context, ForwardPhase::kPrefill, logits);
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  }
  ASSERT_TRUE((*press)->Attach(c).ok());
  session.set_replay_prompts(prompts);
  ASSERT_TRUE(session.Prefill(context, ForwardPhase::kPrefill, logits).ok());
  EXPECT_EQ(session.next_position(), n);
  size_t kept_total = 0;
  std::vector<int> per_layer_kept(static_cast<size_t>(L), 0);
  for (int l = 0; l < L; ++l) {
    for (int g = 0; g < KV; ++g) {
      std::set<int32_t> want;
      for (int p = 0; p < n; ++p) {
        if (!evicted.count((static_cast<size_t>(l) * KV + g) * n + p)) want.insert(p);
      }
      const auto got = session.cache().Positions(l, g);
      EXPECT_EQ(std::set<int32_t>(got.begin(), got.end()), want) << "layer " << l << " head " << g;
      kept_total += got.size();
      per_layer_kept[static_cast<size_t>(l)] += static_cast<int>(got.size());
    }
  }
  EXPECT_EQ(kept_total, score.size() - evicted.size());
  if (cs.layerwise) {
    EXPECT_EQ(per_layer_kept[0], per_layer_kept[1])
        << "layerwise: every layer prunes the same count";
  }
  std::set<int> head_sizes;
  for (int l = 0; l < L; ++l) {
    for (int g = 0; g < KV; ++g) head_sizes.insert(session.cache().Size(l, g));
  }
  EXPECT_GT(head_sizes.size(), 1u) << "heads keep different counts";
  // The question goes on top of the compressed context at the next position.
  ASSERT_TRUE(session.Prefill(std::vector<int32_t>{3, 4}, ForwardPhase::kQuestion, logits).ok());
  EXPECT_EQ(session.next_position(), n + 2);
}

TEST(Kvzip, GlobalPruningMatchesBruteForce) { RunCase({0.5, false, 2048}); }
TEST(Kvzip, ChunkedReplayMatchesBruteForce) { RunCase({0.3, false, 16}); }
TEST(Kvzip, LayerwisePruningMatchesBruteForce) { RunCase({0.6, true, 10}); }

TEST(Kvzip, RejectsABudget) {
  auto spec = ParsePressSpec("kvzip");
  ASSERT_TRUE(spec.ok());
  spec->budget.cache_budget = 16;
  auto press = CreatePress(*spec);
  ASSERT_TRUE(press.ok());
  const auto model = TinyModel();
  Transformer tf(*model, 1);
  Session session(tf, press->get(), DType::kF32);
  ContextReplayPrompts prompts;
  session.set_replay_prompts(prompts);
  std::vector<float> logits;
  EXPECT_EQ(session.Prefill(std::vector<int32_t>(20, 3), ForwardPhase::kPrefill, logits).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kvpress
