// streaming_llm — Xiao et al., "Efficient Streaming Language Models with Attention Sinks",
// ICLR 2024, arXiv:2309.17453.  Keep the first n_sink slots (attention sinks) and the most recent
// ones: score_j = +∞ for the first n_sink slots, else the slot's position (recency). Keys keep their
// absolute RoPE positions (no re-indexing), as in kvpress and the reasoning fork.
#include <limits>

#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class StreamingLlmPress : public ScorerPress {
 public:
  explicit StreamingLlmPress(int n_sink) : n_sink_(n_sink) {}
  std::string Name() const override { return "streaming_llm"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<StreamingLlmPress>(*this); }

 protected:
  void Score(const LayerHookContext& ctx, int kv_head, bool, std::vector<float>& scores) override {
    const std::span<const int32_t> pos = ctx.cache->Positions(ctx.layer, kv_head);
    for (size_t j = 0; j < scores.size(); ++j) {
      scores[j] = static_cast<int>(j) < n_sink_ ? std::numeric_limits<float>::infinity()
                                                : static_cast<float>(pos[j]);
    }
  }

 private:
  int n_sink_;
};

}  // namespace

PressInfo StreamingLlmPressInfo() {
  return {"streaming_llm", "keep the first n_sink slots and the most recent ones",
          "Xiao et al. 2024, arXiv:2309.17453", "prefill, decode", "positions",
          {{"n_sink", "4", "attention-sink slots always kept"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const int n_sink = p.GetInt("n_sink", 4, 0, kMaxPressTokens);
            RETURN_IF_ERROR(p.Finish());
            if (n_sink < 0) return InvalidArgument("streaming_llm: n_sink must be >= 0");
            return std::unique_ptr<Press>(new StreamingLlmPress(n_sink));
          }};
}

}  // namespace kvpress
