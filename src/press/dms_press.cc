// dms — Łańcucki et al., "Inference-Time Hyper-Scaling with KV Cache Compression" (Dynamic Memory
// Sparsification), arXiv:2506.05345; the inference rule of upstream kvpress 0.5.5's DMSPress.
//
// Each token is scored once, when it enters the cache, by the wrapped scorer: s_j (per KV head).
// The last `window` tokens are protected; when token j leaves that window it is evicted from head g
// iff s_j,g < threshold. So the cache holds every recent token plus the older ones that scored at
// least the threshold: the compression ratio follows the content, not a budget.
//   dms(P):threshold=τ,window=128,decoding=0
// With decoding=0 only the prefill is compressed (upstream's default); with decoding=1 the question
// and every generated token are scored and evicted the same way (the question's forward counts as
// decoding there, as upstream's `is_prefilling` does).
//
// The trained evictors of DMS (a model fine-tuned to predict the eviction bit, e.g.
// nvidia/Qwen3-8B-DMS-8x) are not used: like upstream, any scorer stands in for them, and the rule
// is tested on a fixture (tests/unit/press_dms_test.cc).
// Difference from upstream: the scorer sees the whole cache of the layer and the new tokens' scores
// are taken from it; upstream shows the scorer only the new tokens' keys and values. Identical for
// per-slot scorers (knorm); scorers whose score depends on the other slots (keydiff, snapkv) see
// the whole cache here. Evicted slots leave the cache (upstream masks them).
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "press/catalog.h"
#include "press/scorer_press.h"
#include "press/wrapper_press.h"

namespace kvpress {
namespace {

class DmsPress : public WrapperPress {
 public:
  DmsPress(std::unique_ptr<Press> inner, double threshold, int window, bool decoding)
      : threshold_(threshold), window_(window), decoding_(decoding) {
    children_.push_back(std::move(inner));
  }
  std::string Name() const override { return "dms"; }
  std::unique_ptr<Press> Clone() const override {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<DmsPress>(std::move(kids[0]), threshold_, window_, decoding_);
    copy->config_ = config_;
    copy->budget_ = budget_;
    copy->buffers_ = buffers_;
    return copy;
  }
  void Reset() override {
    WrapperPress::Reset();
    buffers_.assign(static_cast<size_t>(config().n_layers), Buffer{});
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override {
    // A prefill chunk that is the whole layer starts a new sequence (upstream clears at prefill).
    if (ctx.cache->Size(ctx.layer, 0) == ctx.n_tokens)
      buffers_[static_cast<size_t>(ctx.layer)] = Buffer{};
    Step(ctx, false);
  }
  void OnQuestion(const LayerHookContext& ctx) override {
    if (decoding_) Step(ctx, true);
  }
  void OnDecode(const LayerHookContext& ctx) override {
    if (decoding_) Step(ctx, true);
  }

 private:
  // Tokens still inside the protection window, oldest first.
  struct Buffer {
    std::deque<int32_t> pos;                // [n] positions
    std::vector<std::deque<float>> scores;  // [H_kv][n] their scores, per KV head
  };

  void Step(const LayerHookContext& ctx, bool decoding) {
    LayerCompressor* inner = Compressor(0);
    inner->ObserveChunk(ctx);
    const int KV = config().n_kv_heads;
    Buffer& b = buffers_[static_cast<size_t>(ctx.layer)];
    b.scores.resize(static_cast<size_t>(KV));
    std::vector<float> scores;
    for (int g = 0; g < KV; ++g) {
      inner->ScoreHead(ctx, g, decoding, scores);
      const int n = static_cast<int>(scores.size());
      for (int t = 0; t < ctx.n_tokens; ++t) {
        b.scores[static_cast<size_t>(g)].push_back(
            scores[static_cast<size_t>(n - ctx.n_tokens + t)]);
      }
    }
    for (int t = 0; t < ctx.n_tokens; ++t) b.pos.push_back(ctx.positions[static_cast<size_t>(t)]);
    // A forward split into chunks attends densely, as upstream's single prefill forward: evict at
    // its last chunk only.
    if (!ctx.info.last_chunk) return;
    const int n_out = static_cast<int>(b.pos.size()) - window_;
    if (n_out <= 0) return;
    for (int g = 0; g < KV; ++g) {
      std::vector<int32_t> evict;  // ascending positions
      std::deque<float>& s = b.scores[static_cast<size_t>(g)];
      for (int i = 0; i < n_out; ++i) {
        if (s[static_cast<size_t>(i)] < threshold_) evict.push_back(b.pos[static_cast<size_t>(i)]);
      }
      s.erase(s.begin(), s.begin() + n_out);
      if (evict.empty()) continue;
      const auto pos = ctx.cache->Positions(ctx.layer, g);
      std::vector<int> keep;
      for (int i = 0; i < static_cast<int>(pos.size()); ++i) {
        if (!std::binary_search(evict.begin(), evict.end(), pos[static_cast<size_t>(i)]))
          keep.push_back(i);
      }
      inner->RetainHead(ctx, g, keep);
    }
    b.pos.erase(b.pos.begin(), b.pos.begin() + n_out);
  }

  double threshold_;
  int window_;
  bool decoding_;
  std::vector<Buffer> buffers_;  // [L]
};

}  // namespace

PressInfo DmsPressInfo() {
  PressInfo info{
      "dms",
      "each token scored once by the inner press; evicted when it leaves the last `window` tokens "
      "with a score "
      "below `threshold` (content-dependent compression)",
      "Lancucki et al. 2025, arXiv:2506.05345 (rule of kvpress DMSPress; no trained evictor)",
      "prefill; decode with decoding=1",
      "the inner press's scores",
      {{"threshold", "(required)",
        "scores below it are evicted (e.g. -7 for knorm: keys with norm > 7)"},
       {"window", "128", "most recent tokens never evicted"},
       {"decoding", "0", "1 = also score and evict the question and generated tokens"}},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        const double threshold =
            p.GetDouble("threshold", std::numeric_limits<double>::quiet_NaN(), -1e30, 1e30);
        const int window = p.GetInt("window", 128, 0, kMaxPressTokens);
        const int decoding = p.GetInt("decoding", 0, 0, 1);
        RETURN_IF_ERROR(p.Finish());
        if (std::isnan(threshold)) {
          return FailedPrecondition(
              "press 'dms' needs threshold=T (scores below T are evicted), e.g. "
              "dms(knorm):threshold=-7");
        }
        LayerCompressor* inner = nullptr;
        ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
        if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
          return FailedPrecondition("dms needs a scoring press inside (knorm, snapkv, ...), not '" +
                                    spec.children[0].name + "'");
        }
        return std::unique_ptr<Press>(
            new DmsPress(std::move(child), threshold, window, decoding == 1));
      }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
