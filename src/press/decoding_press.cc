// decoding / compression_ratio_decoding — upstream kvpress DecodingPress and
// CompressionRatioDecodingPress: compress during generation only, every `interval` steps, to a
// target size. prefill_decoding — upstream PrefillDecodingPress: one press for the prefill, another
// for everything after it.
//
// decoding(P):target=T,interval=N. The prefill is never compressed. Every later forward (the
// question's, then each generated token's) counts one step per layer; when steps ≥ N or the forward
// has ≥ T tokens, the layer is brought to T slots per KV head by P (when it holds more) and the
// count restarts. The cache length therefore cycles through [T, T + N − 1]. Upstream counts the
// question's forward as a step, so in the pipeline the first compression comes after N − 1
// generated tokens (count_question=1, the default, matches it; count_question=0 starts counting at
// the first generated token, as our --target-size policy did before).
// compression_ratio_decoding(P):target_ratio=R: the same with T = max(1, ⌊S(1−R)⌋), S = tokens
// seen so far (last position + 1).
//
// Intentional differences from upstream: (1) upstream passes P the hidden states of up to 256
// buffered decoding steps (hidden_states_buffer_size) so that window-attention scorers see several
// recent queries; here P sees the statistics of the forward that triggers the compression (its own
// query), which is all key/value/position scorers (knorm, streaming_llm, keydiff, lagkv, ...) use
// anyway. (2) Under adakv the heads really shrink (upstream masks). (3) T and N default to
// --target-size/--cache-budget and --compression-interval when given, else 2048 and 512.
#include <fmt/format.h>

#include "press/catalog.h"
#include "press/wrapper_press.h"

namespace kvpress {
namespace {

// Upstream DecodingPress._find_target_compression_ratio: the ratio r with int(n(1−r)) == target,
// found by bisection from 1 − target/n (≤ 20 halvings; 0 when n ≤ target).
double FindTargetRatio(int n, int target) {
  if (n <= target) return 0.0;
  double ratio = 1.0 - static_cast<double>(target) / n, low = 0.0, high = 1.0;
  for (int it = 0; it < 20; ++it) {
    const int kept = static_cast<int>(n * (1.0 - ratio));
    if (kept == target) break;
    if (kept > target) {
      low = ratio;
      ratio = (ratio + high) / 2;
    } else {
      high = ratio;
      ratio = (low + ratio) / 2;
    }
  }
  return ratio;
}

class DecodingPress : public WrapperPress {
 public:
  // target_ratio < 0: fixed `target`; else the target follows the tokens seen.
  DecodingPress(std::string name, std::unique_ptr<Press> inner, int target, double target_ratio, int interval,
                bool count_question)
      : name_(std::move(name)), target_(target), target_ratio_(target_ratio), interval_(interval),
        count_question_(count_question) {
    children_.push_back(std::move(inner));
  }
  std::string Name() const override { return name_; }
  std::unique_ptr<Press> Clone() const override {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<DecodingPress>(name_, std::move(kids[0]), target_, target_ratio_, interval_,
                                                count_question_);
    copy->config_ = config_;
    copy->budget_ = budget_;
    copy->steps_ = steps_;
    return copy;
  }
  void Reset() override {
    WrapperPress::Reset();
    steps_.assign(static_cast<size_t>(config().n_layers), 0);
  }

 protected:
  void OnPrefill(const LayerHookContext&) override {}
  void OnQuestion(const LayerHookContext& ctx) override {
    if (count_question_) Step(ctx);
  }
  void OnDecode(const LayerHookContext& ctx) override { Step(ctx); }

 private:
  void Step(const LayerHookContext& ctx) {
    LayerCompressor* inner = Compressor(0);
    inner->ObserveChunk(ctx);
    if (!ctx.info.last_chunk) return;
    if (steps_.size() != static_cast<size_t>(config().n_layers)) Reset();
    int& steps = steps_[static_cast<size_t>(ctx.layer)];
    ++steps;
    int target = target_;
    if (target_ratio_ >= 0) {
      const int seen = ctx.positions.empty() ? 0 : ctx.positions.back() + 1;
      target = std::max(1, static_cast<int>(seen * (1.0 - target_ratio_)));
    }
    if (steps < interval_ && ctx.info.n_tokens < target) return;
    steps = 0;
    const int n = ctx.cache->MaxSize(ctx.layer);
    if (n > target) inner->CompressLayer(ctx, target, FindTargetRatio(n, target), true);
  }

  std::string name_;
  int target_;
  double target_ratio_;
  int interval_;
  bool count_question_;
  std::vector<int> steps_;  // [L] steps since the layer was last compressed
};

StatusOr<std::unique_ptr<Press>> Create(const PressSpec& spec, bool ratio_mode) {
  PressParams p(spec);
  const BudgetPolicy& b = spec.budget;
  const int default_target = b.target_size > 0 ? b.target_size : b.cache_budget > 0 ? b.cache_budget : 2048;
  const int target = ratio_mode ? 1 : p.GetInt("target", default_target, 1, kMaxPressTokens);
  const double target_ratio =
      ratio_mode ? p.GetDouble("target_ratio", b.removed_fraction > 0 ? b.removed_fraction : 0.5, 0, 0.999999) : -1;
  const int interval = p.GetInt("interval", b.compression_interval > 0 ? b.compression_interval : 512, 1, kMaxPressTokens);
  const int count_question = p.GetInt("count_question", 1, 0, 1);
  RETURN_IF_ERROR(p.Finish());
  LayerCompressor* inner = nullptr;
  ASSIGN_OR_RETURN(std::unique_ptr<Press> child, CreateChildPress(spec, 0, &inner));
  return std::unique_ptr<Press>(
      new DecodingPress(spec.name, std::move(child), target, target_ratio, interval, count_question != 0));
}

class PrefillDecodingPress : public WrapperPress {
 public:
  PrefillDecodingPress(std::unique_ptr<Press> prefill, std::unique_ptr<Press> decoding) {
    children_.push_back(std::move(prefill));
    children_.push_back(std::move(decoding));
  }
  std::string Name() const override { return "prefill_decoding"; }
  std::unique_ptr<Press> Clone() const override {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<PrefillDecodingPress>(std::move(kids[0]), std::move(kids[1]));
    copy->config_ = config_;
    copy->budget_ = budget_;
    return copy;
  }
  AttentionRequest Request(const ForwardInfo& info) const override {
    return children_[info.phase == ForwardPhase::kPrefill ? 0 : 1]->Request(info);
  }

 protected:
  void OnPrefill(const LayerHookContext& ctx) override { children_[0]->AfterAttention(ctx); }
  void OnQuestion(const LayerHookContext& ctx) override { children_[1]->AfterAttention(ctx); }
  void OnDecode(const LayerHookContext& ctx) override { children_[1]->AfterAttention(ctx); }
};

}  // namespace

PressInfo DecodingPressInfo() {
  PressInfo info{"decoding",
                 "compress during generation only: every `interval` steps, back to `target` slots per KV head "
                 "(upstream DecodingPress)",
                 "kvpress DecodingPress",
                 "decode (the prefill is left whole)",
                 "the inner press's scores",
                 {{"target", "--target-size, --cache-budget or 2048", "slots per KV head after each compression"},
                  {"interval", "--compression-interval or 512", "decoding steps between compressions"},
                  {"count_question", "1", "1: the question's forward counts as a step (upstream); 0: it does not"}},
                 [](const PressSpec& spec) { return Create(spec, false); }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

PressInfo CompressionRatioDecodingPressInfo() {
  PressInfo info{"compression_ratio_decoding",
                 "decoding with target = max(1, floor(seen*(1-target_ratio))), seen = tokens so far "
                 "(upstream CompressionRatioDecodingPress)",
                 "kvpress CompressionRatioDecodingPress",
                 "decode (the prefill is left whole)",
                 "the inner press's scores",
                 {{"target_ratio", "--compression-ratio or 0.5", "fraction of the tokens seen that is removed"},
                  {"interval", "--compression-interval or 512", "decoding steps between compressions"},
                  {"count_question", "1", "1: the question's forward counts as a step (upstream); 0: it does not"}},
                 [](const PressSpec& spec) { return Create(spec, true); }};
  info.min_children = info.max_children = 1;
  info.children_help = "a scoring press";
  return info;
}

PressInfo PrefillDecodingPressInfo() {
  PressInfo info{"prefill_decoding",
                 "the first inner press compresses the prefill, the second everything after "
                 "(upstream PrefillDecodingPress), e.g. prefill_decoding(snapkv,decoding(knorm))",
                 "kvpress PrefillDecodingPress",
                 "prefill, decode",
                 "what the inner presses need",
                 {},
                 [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
                   PressParams p(spec);
                   RETURN_IF_ERROR(p.Finish());
                   ASSIGN_OR_RETURN(std::unique_ptr<Press> prefill, CreateChildPress(spec, 0));
                   ASSIGN_OR_RETURN(std::unique_ptr<Press> decoding, CreateChildPress(spec, 1));
                   return std::unique_ptr<Press>(new PrefillDecodingPress(std::move(prefill), std::move(decoding)));
                 }};
  info.min_children = info.max_children = 2;
  info.children_help = "prefill press, decoding press (use full for none)";
  return info;
}

}  // namespace kvpress
