#include "generate/pipeline.h"

namespace kvpress {
namespace {

Metrics Subtract(Metrics total, const Metrics& before) {
  total.prefill_time -= before.prefill_time;
  total.decoding_time -= before.decoding_time;
  total.press_prefill_time -= before.press_prefill_time;
  total.press_decoding_time -= before.press_decoding_time;
  total.total_prefill_tokens -= before.total_prefill_tokens;
  total.total_decoding_tokens -= before.total_decoding_tokens;
  return total;
}

}  // namespace

StatusOr<PipelineResult> RunPipeline(Transformer& model, const std::vector<int32_t>& context,
                                     const std::vector<std::vector<int32_t>>& questions,
                                     const GenerateOptions& options, const TokenCallback& on_token) {
  if (context.empty()) return InvalidArgument("the context has no tokens");
  std::vector<std::vector<int32_t>> qs = questions;
  if (qs.empty()) qs.emplace_back();
  PipelineResult result;
  result.context_tokens = static_cast<int>(context.size());
  auto session_ptr = std::make_unique<Session>(model, options.press, options.kv_dtype, options.prefill_chunk,
                                                   options.press_chunk);
  session_ptr->set_cancel(options.cancel);
  if (options.replay_prompts) session_ptr->set_replay_prompts(*options.replay_prompts);
  std::vector<float> context_logits;
  RETURN_IF_ERROR(session_ptr->Prefill(context, ForwardPhase::kPrefill, context_logits, options.query_tokens));
  const bool reuse = session_ptr->CanSnapshot();
  Session::Snapshot snapshot = session_ptr->Save();
  for (size_t q = 0; q < qs.size(); ++q) {
    if (q > 0) {
      if (reuse) {
        session_ptr->Restore(snapshot);
      } else {  // the press cannot be copied: rebuild the compressed context from scratch
        session_ptr = std::make_unique<Session>(model, options.press, options.kv_dtype, options.prefill_chunk,
                                                   options.press_chunk);
        session_ptr->set_cancel(options.cancel);
        if (options.replay_prompts) session_ptr->set_replay_prompts(*options.replay_prompts);
        RETURN_IF_ERROR(session_ptr->Prefill(context, ForwardPhase::kPrefill, context_logits, options.query_tokens));
      }
    }
    Session& session = *session_ptr;
    if (options.on_question) options.on_question(q);
    const Metrics before = session.CurrentMetrics();
    std::vector<float> logits = context_logits;
    RETURN_IF_ERROR(session.Prefill(qs[q], ForwardPhase::kQuestion, logits));
    std::vector<int32_t> history = context;
    history.insert(history.end(), qs[q].begin(), qs[q].end());
    ASSIGN_OR_RETURN(DecodeResult r, session.Decode(std::move(logits), MakeDecodeLoopOptions(options, history), on_token));
    PipelineAnswer a;
    a.question_ids = qs[q];
    a.tokens = std::move(r.tokens);
    a.finish_reason = std::move(r.finish_reason);
    a.metrics = Subtract(session.CurrentMetrics(), before);
    a.kept_per_layer = session.KeptPerLayer();
    result.answers.push_back(std::move(a));
  }
  result.metrics = session_ptr->CurrentMetrics();
  return result;
}

}  // namespace kvpress
