#include "generate/batch_decode.h"

#include <algorithm>
#include <memory>

#include "core/check.h"
#include "core/timer.h"

namespace kvpress {

// Friend of Session: drives the sessions' caches, presses and counters one batched step at a time.
class BatchDecoder {
 public:
  // `keep_asking`: a `next` that returns nullopt is asked again after the next step (serving);
  // otherwise it is not asked again (DecodeContinuous).
  static Status Run(Transformer& model, int width, const NextSequenceFn& next,
                    const SequenceDoneFn& done, bool keep_asking = false,
                    const StepFn& on_step = {}) {
    if (width < 1) return InvalidArgument("batch width must be >= 1");
    // A sequence in flight; heap-allocated because DecodeState keeps references into it.
    struct Slot {
      BatchSequence seq;
      std::unique_ptr<DecodeState> state;
      Stopwatch since_start;
    };
    std::vector<std::unique_ptr<Slot>> active;
    bool exhausted = false;
    // Fills free places; a sequence that stops before its first forward finishes at once.
    auto refill = [&]() -> Status {
      while (!exhausted && static_cast<int>(active.size()) < width) {
        // Used in place (not moved out of the StatusOr): GCC 12 misreads the moved-from
        // optional's destructor as reading uninitialized memory (-Wmaybe-uninitialized).
        StatusOr<std::optional<BatchSequence>> next_seq = next();
        if (!next_seq.ok()) return next_seq.status();
        std::optional<BatchSequence>& seq = *next_seq;
        if (!seq) {
          exhausted = !keep_asking;
          break;
        }
        if (seq->session == nullptr)
          return InvalidArgument("DecodeBatch: a sequence has no session");
        if (seq->options.max_new_tokens < 0)
          return InvalidArgument("--max-new-tokens must be >= 0");
        auto slot = std::make_unique<Slot>();
        slot->seq = std::move(*seq);
        slot->state = std::make_unique<DecodeState>(slot->seq.options, slot->seq.on_token);
        if (slot->state->Advance(slot->seq.logits, *slot->seq.session)) {
          active.push_back(std::move(slot));
        } else {
          RETURN_IF_ERROR(Finish(*slot, done));
        }
      }
      return Status::Ok();
    };
    RETURN_IF_ERROR(refill());
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
      for (const auto& slot : active) {
        Session& session = *slot->seq.session;
        tokens.push_back(slot->state->next_token());
        positions.push_back(session.next_position_);
        caches.push_back(session.cache_.get());
        hooks.push_back(session.press_);
      }
      const Stopwatch sw;
      RETURN_IF_ERROR(
          model.ForwardBatch(tokens, positions, caches, hooks, ForwardPhase::kDecode, logits));
      const double step_seconds = sw.Elapsed();
      if (on_step) on_step(static_cast<int>(active.size()), step_seconds);
      std::vector<std::unique_ptr<Slot>> still;
      for (size_t k = 0; k < active.size(); ++k) {
        Slot& slot = *active[k];
        Session& session = *slot.seq.session;
        session.metrics_.decoding_time += step_seconds;
        session.AdvancePosition(1);
        if (slot.seq.options.on_cache) slot.seq.options.on_cache(*session.cache_);
        // Sampled straight from the batch's row (the sampler uses it as scratch): no copy.
        if (slot.state->Advance(std::span<float>(logits).subspan(k * V, V), session)) {
          still.push_back(std::move(active[k]));
        } else {
          RETURN_IF_ERROR(Finish(slot, done));
        }
      }
      active.swap(still);
      RETURN_IF_ERROR(refill());
    }
    return Status::Ok();
  }

 private:
  template <typename SlotT>
  static Status Finish(SlotT& slot, const SequenceDoneFn& done) {
    Session& session = *slot.seq.session;
    session.metrics_.total_decoding_tokens +=
        static_cast<int64_t>(slot.state->result().tokens.size());
    session.decode_wall_ += slot.since_start.Elapsed();
    return done(slot.seq, std::move(slot.state->result()));
  }
};

Status DecodeContinuous(Transformer& model, int width, const NextSequenceFn& next,
                        const SequenceDoneFn& done) {
  return BatchDecoder::Run(model, width, next, done);
}

Status DecodeServing(Transformer& model, int width, const NextSequenceFn& next,
                     const SequenceDoneFn& done, const StepFn& on_step) {
  return BatchDecoder::Run(model, width, next, done, /*keep_asking=*/true, on_step);
}

StatusOr<std::vector<DecodeResult>> DecodeBatch(Transformer& model,
                                                std::vector<BatchSequence>& sequences) {
  std::vector<DecodeResult> results(sequences.size());
  size_t given = 0;
  // Sequences are moved into the decoder and moved back when done; `index` finds their place.
  std::vector<Session*> sessions;
  for (const BatchSequence& s : sequences) sessions.push_back(s.session);
  const NextSequenceFn next = [&]() -> StatusOr<std::optional<BatchSequence>> {
    if (given == sequences.size()) return std::optional<BatchSequence>();
    return std::optional<BatchSequence>(std::move(sequences[given++]));
  };
  const SequenceDoneFn done = [&](BatchSequence& seq, DecodeResult r) -> Status {
    const size_t i = static_cast<size_t>(std::find(sessions.begin(), sessions.end(), seq.session) -
                                         sessions.begin());
    CHECK(i < sequences.size());
    results[i] = std::move(r);
    sequences[i] = std::move(seq);
    return Status::Ok();
  };
  RETURN_IF_ERROR(BatchDecoder::Run(model, static_cast<int>(std::max<size_t>(1, sequences.size())),
                                    next, done));
  return results;
}

StatusOr<BatchSequence> StartSequence(Session& session, std::span<const int32_t> prompt,
                                      const GenerateOptions& options, TokenCallback on_token) {
  BatchSequence seq;
  seq.session = &session;
  session.set_cancel(options.cancel);
  RETURN_IF_ERROR(session.Prefill(prompt, ForwardPhase::kPrefill, seq.logits));
  seq.options = MakeDecodeLoopOptions(options, prompt);
  seq.on_token = std::move(on_token);
  return seq;
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
                                                 options[i].prefill_chunk, options[i].press_chunk));
    ASSIGN_OR_RETURN(seqs[i], StartSequence(*sessions[i], prompts[i], options[i],
                                            i < on_token.size() ? on_token[i] : TokenCallback()));
  }
  ASSIGN_OR_RETURN(std::vector<DecodeResult> decoded, DecodeBatch(model, seqs));
  std::vector<GenerateResult> results;
  for (size_t i = 0; i < n; ++i)
    results.push_back(MakeGenerateResult(*sessions[i], std::move(decoded[i])));
  return results;
}

}  // namespace kvpress
