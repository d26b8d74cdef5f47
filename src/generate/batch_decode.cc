#include "generate/batch_decode.h"

#include <algorithm>
#include <memory>

#include "core/timer.h"

namespace kvpress {

// Friend of Session: drives the sessions' caches, presses and counters one batched step at a time.
class BatchDecoder {
 public:
  static StatusOr<std::vector<DecodeResult>> Run(Transformer& model,
                                                 std::vector<BatchSequence>& seqs) {
    const size_t n = seqs.size();
    std::vector<std::unique_ptr<DecodeState>> states;
    std::vector<size_t> active;
    const Stopwatch wall;
    for (size_t i = 0; i < n; ++i) {
      BatchSequence& s = seqs[i];
      if (s.session == nullptr) return InvalidArgument("DecodeBatch: a sequence has no session");
      if (s.options.max_new_tokens < 0) return InvalidArgument("--max-new-tokens must be >= 0");
      states.push_back(std::make_unique<DecodeState>(s.options, s.on_token));
    }
    auto finish = [&](size_t i) {
      Session& session = *seqs[i].session;
      session.metrics_.total_decoding_tokens +=
          static_cast<int64_t>(states[i]->result().tokens.size());
      session.decode_wall_ += wall.Elapsed();
    };
    for (size_t i = 0; i < n; ++i) {
      if (states[i]->Advance(seqs[i].logits, *seqs[i].session)) {
        active.push_back(i);
      } else {
        finish(i);
      }
    }
    const size_t V = static_cast<size_t>(model.config().vocab_size);
    std::vector<int32_t> tokens, positions;
    std::vector<KVCache*> caches;
    std::vector<LayerHook*> hooks;
    std::vector<float> logits;
    while (!active.empty()) {
      tokens.clear();
      positions.clear();
      caches.clear();
      hooks.clear();
      for (size_t i : active) {
        Session& session = *seqs[i].session;
        tokens.push_back(states[i]->next_token());
        positions.push_back(session.next_position_);
        caches.push_back(session.cache_.get());
        hooks.push_back(session.press_);
      }
      const Stopwatch sw;
      RETURN_IF_ERROR(
          model.ForwardBatch(tokens, positions, caches, hooks, ForwardPhase::kDecode, logits));
      const double step_seconds = sw.Elapsed();
      std::vector<size_t> still;
      for (size_t k = 0; k < active.size(); ++k) {
        const size_t i = active[k];
        Session& session = *seqs[i].session;
        session.metrics_.decoding_time += step_seconds;
        ++session.next_position_;
        if (seqs[i].options.on_cache) seqs[i].options.on_cache(*session.cache_);
        std::vector<float>& row = seqs[i].logits;
        row.assign(logits.begin() + static_cast<std::ptrdiff_t>(k * V),
                   logits.begin() + static_cast<std::ptrdiff_t>((k + 1) * V));
        if (states[i]->Advance(row, session)) {
          still.push_back(i);
        } else {
          finish(i);
        }
      }
      active.swap(still);
    }
    std::vector<DecodeResult> out;
    out.reserve(n);
    for (auto& st : states) out.push_back(std::move(st->result()));
    return out;
  }
};

StatusOr<std::vector<DecodeResult>> DecodeBatch(Transformer& model,
                                                std::vector<BatchSequence>& sequences) {
  return BatchDecoder::Run(model, sequences);
}

StatusOr<std::vector<GenerateResult>> GenerateBatch(
    Transformer& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<GenerateOptions>& options, const std::vector<TokenCallback>& on_token) {
  if (options.size() != prompts.size())
    return InvalidArgument("GenerateBatch: one GenerateOptions per prompt");
  const size_t n = prompts.size();
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<BatchSequence> seqs(n);
  for (size_t i = 0; i < n; ++i) {
    if (prompts[i].empty()) return InvalidArgument("the prompt has no tokens (add BOS or text)");
    sessions.push_back(std::make_unique<Session>(model, options[i].press, options[i].kv_dtype,
                                                 options[i].prefill_chunk));
    RETURN_IF_ERROR(sessions[i]->Prefill(prompts[i], ForwardPhase::kPrefill, seqs[i].logits));
    seqs[i].session = sessions[i].get();
    seqs[i].options = MakeDecodeLoopOptions(options[i], prompts[i]);
    if (i < on_token.size()) seqs[i].on_token = on_token[i];
  }
  ASSIGN_OR_RETURN(std::vector<DecodeResult> decoded, DecodeBatch(model, seqs));
  std::vector<GenerateResult> results(n);
  for (size_t i = 0; i < n; ++i) {
    results[i].tokens = std::move(decoded[i].tokens);
    results[i].finish_reason = std::move(decoded[i].finish_reason);
    results[i].metrics = sessions[i]->CurrentMetrics();
    results[i].kept_per_layer = sessions[i]->KeptPerLayer();
  }
  return results;
}

}  // namespace kvpress
