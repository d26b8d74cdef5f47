// key_rerotation — the positional compaction of StreamingLLM (Xiao et al., arXiv:2309.17453;
// "SinkCache") and FINCH (Corallo & Papotti, TACL 2024), as upstream kvpress's KeyRerotationPress.
// Wraps any scoring press (`key_rerotation(knorm)`).
//
// A head of n slots keeps its top n_kept by the inner press's score (ties: the more recent slot),
// in ascending position order p_0 < p_1 < … < p_{k−1}; slot i is then re-numbered to position i and
// its post-RoPE key re-rotated by the difference: k_i ← R(i − p_i)·k_i, where R(δ) rotates each
// RoPE pair (a, b) of frequency θ_m by δ·θ_m (RoPE angles add, so k_i becomes the key the model
// would have computed at position i). Values do not change. The session's next position then
// follows the cache (Press::RenumbersPositions): the question and the answer continue at n_kept,
// as upstream's pipeline does (context_length = cache.get_seq_length()).
// Decoding (with --cache-budget B): every prune re-numbers the kept slots to 0..B−1, and the next
// token goes at B, a rolling window like SinkCache. Upstream re-numbers only once, after the
// context; under --compression-ratio (prefill only) both are the same.
#include "press/catalog.h"
#include "press/scorer_press.h"
#include "press/wrapper_press.h"

namespace kvpress {
namespace {

class KeyRerotationPress : public WrapperPress, public LayerCompressor {
 public:
  explicit KeyRerotationPress(std::unique_ptr<Press> inner) {
    children_.push_back(std::move(inner));
  }
  std::string Name() const override { return "key_rerotation"; }
  bool RenumbersPositions() const override { return true; }
  Status Attach(const ModelConfig& config) override {
    inv_freq_ = config.RopeInvFreq();
    return WrapperPress::Attach(config);
  }
  std::unique_ptr<Press> Clone() const override {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<KeyRerotationPress>(std::move(kids[0]));
    copy->config_ = config_;
    copy->budget_ = budget_;
    copy->driver_ = driver_;
    copy->inv_freq_ = inv_freq_;
    return copy;
  }
  void Reset() override {
    WrapperPress::Reset();
    driver_.Reset(config().n_layers);
  }

  void ObserveChunk(const LayerHookContext& ctx) override { inner()->ObserveChunk(ctx); }
  void RetainHead(const LayerHookContext& ctx, int kv_head, std::span<const int> keep) override {
    inner()->RetainHead(ctx, kv_head, keep);
    Compact(ctx, kv_head);
  }
  void CompressLayer(const LayerHookContext& ctx, int n_kept, double, bool decoding) override {
    std::vector<float> scores;
    for (int g = 0; g < ctx.cache->n_kv_heads(); ++g) {
      if (ctx.cache->Size(ctx.layer, g) <= n_kept) continue;
      inner()->ScoreHead(ctx, g, decoding, scores);
      RetainHead(ctx, g, ScorerPress::TopK(scores, ctx.cache->Positions(ctx.layer, g), n_kept));
    }
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override { Step(ctx, false); }
  void OnQuestion(const LayerHookContext& ctx) override { Step(ctx, true); }
  void OnDecode(const LayerHookContext& ctx) override { Step(ctx, true); }

 private:
  LayerCompressor* inner() const { return Compressor(0); }

  // Slot i of the head moves to position i, its key re-rotated.
  void Compact(const LayerHookContext& ctx, int kv_head) {
    std::vector<int32_t> positions(
        static_cast<size_t>(ctx.cache->Size(ctx.layer, kv_head)));  // [Size]
    for (size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<int32_t>(i);
    ctx.cache->Renumber(ctx.layer, kv_head, positions, inv_freq_.data(), config().rope_style);
  }

  void Step(const LayerHookContext& ctx, bool decoding) {
    inner()->ObserveChunk(ctx);
    const int n = ctx.cache->MaxSize(ctx.layer);
    const auto target = driver_.Decide(budget_, ctx, n, n);
    if (target) CompressLayer(ctx, target->n_kept, target->ratio, decoding);
  }

  BudgetDriver driver_;
  std::vector<float> inv_freq_;  // [head_dim/2] the model's RoPE inverse frequencies
};

}  // namespace

PressInfo KeyRerotationPressInfo() {
  PressInfo info{
      "key_rerotation",
      "the inner press's top slots, re-numbered to contiguous positions 0..k-1 with their keys "
      "re-rotated; later tokens continue at k",
      "StreamingLLM (Xiao et al. 2023, arXiv:2309.17453) / FINCH (Corallo & Papotti 2024)",
      "prefill, decode",
      "the inner press's scores",
      {},
      [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
        PressParams p(spec);
        RETURN_IF_ERROR(p.Finish());
        LayerCompressor* inner = nullptr;
        ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
        if (dynamic_cast<ScorerPress*>(child.get()) == nullptr) {
          return FailedPrecondition(
              "key_rerotation needs a scoring press inside (knorm, snapkv, ...), not '" +
              spec.children[0].name + "'");
        }
        return std::unique_ptr<Press>(new KeyRerotationPress(std::move(child)));
      }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

}  // namespace kvpress
