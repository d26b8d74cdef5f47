// Batched decoding: several independent sequences (each with its own KV cache and press) decoded
// together, one token per active sequence per step, their steps forwarded as one batch
// (Transformer::ForwardBatch) so the weights are read once per step for all of them. Sequences
// leave the batch as they stop; the others go on.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "core/status.h"
#include "generate/generator.h"
#include "generate/session.h"

namespace kvpress {

// One sequence of a batch.
struct BatchSequence {
  Session* session = nullptr;  // prefilled; not owned
  std::vector<float> logits;   // [V] after the prompt (used for the first token only)
  DecodeLoopOptions options;   // its `context` must outlive the call
  TokenCallback on_token;      // may be empty
};

// Prefills `prompt` in `session` (a fresh one, with options.press) and returns it as a sequence
// ready for DecodeContinuous / DecodeBatch. `prompt` must outlive the decoding (the loop's
// context). Cancelled when options.cancel is raised during the prefill.
StatusOr<BatchSequence> StartSequence(Session& session, std::span<const int32_t> prompt,
                                      const GenerateOptions& options, TokenCallback on_token);

// Supplies the next prefilled sequence of a continuous batch, or nullopt when there is none left.
using NextSequenceFn = std::function<StatusOr<std::optional<BatchSequence>>()>;
// Receives a finished sequence (its session holds the final cache and metrics) and its result.
using SequenceDoneFn = std::function<Status(BatchSequence& sequence, DecodeResult result)>;

// Continuous batching: keeps up to `width` sequences decoding together; when one stops, `done` gets
// it and `next` refills its place, until `next` runs dry and all have stopped. Per sequence the
// tokens are those of Session::Decode alone.
Status DecodeContinuous(Transformer& model, int width, const NextSequenceFn& next,
                        const SequenceDoneFn& done);

// Continuous batching for a server, where sequences arrive while others decode: `next` returning
// nullopt means "none waiting now", not "none ever"; it is asked again before every step while a
// place is free. Returns once no sequence is active and `next` has none (the caller waits for work
// and calls again). Per sequence the tokens are those of Session::Decode alone. `on_step` (may be
// empty) sees each batched step's size and duration in seconds.
using StepFn = std::function<void(int batch, double seconds)>;
Status DecodeServing(Transformer& model, int width, const NextSequenceFn& next,
                     const SequenceDoneFn& done, const StepFn& on_step = {});

// Decodes every sequence until it stops. Each result is what Session::Decode would produce for
// that sequence alone (same sampler, stop criteria and press steps; logits may differ in the last
// bits because the matrix products run on B rows). Each session's decoding_time counts the batched
// steps it took part in.
StatusOr<std::vector<DecodeResult>> DecodeBatch(Transformer& model,
                                                std::vector<BatchSequence>& sequences);

// Generate() for several prompts at once: each prompt is prefilled on its own (with
// options[i].press when set), then all are decoded together. options.size() == prompts.size();
// presses must be distinct objects. `on_token[i]` (optional, may be shorter) sees sequence i's
// tokens.
StatusOr<std::vector<GenerateResult>> GenerateBatch(
    Transformer& model, const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<GenerateOptions>& options, const std::vector<TokenCallback>& on_token = {});

}  // namespace kvpress
