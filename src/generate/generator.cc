#include "generate/generator.h"

#include <algorithm>

namespace kvpress {

std::vector<int32_t> DefaultStopIds(const ModelConfig& config, const Tokenizer* tokenizer) {
  std::vector<int32_t> ids(config.eos_token_ids.begin(), config.eos_token_ids.end());
  if (tokenizer != nullptr && tokenizer->EosId() >= 0 && config.format != SourceFormat::kLlama2c &&
      std::find(ids.begin(), ids.end(), tokenizer->EosId()) == ids.end()) {
    ids.push_back(tokenizer->EosId());
  }
  if (config.stop_on_bos && config.bos_token_id >= 0) ids.push_back(config.bos_token_id);
  return ids;
}

DecodeLoopOptions MakeDecodeLoopOptions(const GenerateOptions& options,
                                        std::span<const int32_t> context) {
  DecodeLoopOptions d;
  d.max_new_tokens = options.max_new_tokens;
  d.sampling = options.sampling;
  d.stop = StopOptions{options.stop_ids, options.stop_strings, options.stop_on_repetition};
  d.tokenizer = options.tokenizer;
  d.context = context;
  d.on_cache = options.on_cache;
  return d;
}

GenerateResult MakeGenerateResult(const Session& session, DecodeResult decoded) {
  GenerateResult result;
  result.tokens = std::move(decoded.tokens);
  result.finish_reason = std::move(decoded.finish_reason);
  result.metrics = session.CurrentMetrics();
  result.kept_per_layer = session.KeptPerLayer();
  return result;
}

StatusOr<GenerateResult> Generate(Transformer& model, const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options, const TokenCallback& on_token) {
  if (prompt.empty()) return InvalidArgument("the prompt has no tokens (add BOS or text)");
  Session session(model, options.press, options.kv_dtype, options.prefill_chunk, options.press_chunk);
  session.set_cancel(options.cancel);
  if (options.replay_prompts) session.set_replay_prompts(*options.replay_prompts);
  std::vector<float> logits;
  const Status prefill = session.Prefill(prompt, ForwardPhase::kPrefill, logits);
  if (prefill.code() == StatusCode::kCancelled) return MakeGenerateResult(session, DecodeResult{{}, "cancelled"});
  RETURN_IF_ERROR(prefill);
  ASSIGN_OR_RETURN(
      DecodeResult r,
      session.Decode(std::move(logits), MakeDecodeLoopOptions(options, prompt), on_token));
  return MakeGenerateResult(session, std::move(r));
}

}  // namespace kvpress
