#include "generate/generator.h"

#include <algorithm>

#include "core/timer.h"

namespace kvpress {

StatusOr<GenerateResult> Generate(Transformer& model, const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options, const TokenCallback& on_token,
                                  KVCache* cache_out) {
  if (prompt.empty()) return InvalidArgument("the prompt has no tokens (add BOS or text)");
  if (options.max_new_tokens < 0) return InvalidArgument("--max-new-tokens must be >= 0");
  const Stopwatch total;
  GenerateResult result;
  Metrics& m = result.metrics;
  KVCache cache = model.NewCache(options.kv_dtype);
  if (options.press != nullptr) {
    RETURN_IF_ERROR(options.press->Attach(model.config()));
    options.press->ResetTimes();
  }
  Sampler sampler(options.sampling);
  std::vector<int32_t> history = prompt;
  std::vector<int32_t> positions(prompt.size());
  for (size_t i = 0; i < prompt.size(); ++i) positions[i] = static_cast<int32_t>(i);

  ForwardOptions fwd;
  fwd.max_chunk = options.prefill_chunk;
  fwd.hook = options.press;
  fwd.phase = ForwardPhase::kPrefill;
  std::vector<float> logits;
  Stopwatch phase;
  RETURN_IF_ERROR(model.Forward(prompt, positions, cache, fwd, logits));
  m.prefill_time = phase.Elapsed();
  m.total_prefill_tokens = static_cast<int64_t>(prompt.size());

  result.finish_reason = "length";
  fwd.phase = ForwardPhase::kDecode;
  int32_t next_pos = static_cast<int32_t>(prompt.size());
  const Stopwatch decode_wall;
  for (int step = 0; step < options.max_new_tokens; ++step) {
    const int32_t id = sampler.Sample(logits, history);
    if (step == 0) m.ttft = total.Elapsed();
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end()) {
      result.finish_reason = "stop";
      break;
    }
    result.tokens.push_back(id);
    history.push_back(id);
    if (on_token && !on_token(id)) {
      result.finish_reason = "cancelled";
      break;
    }
    if (step + 1 == options.max_new_tokens) break;  // no forward needed for the last token
    phase.Reset();
    const int32_t tok[1] = {id};
    const int32_t pos[1] = {next_pos++};
    RETURN_IF_ERROR(model.Forward(tok, pos, cache, fwd, logits));
    m.decoding_time += phase.Elapsed();
  }
  const double decode_seconds = decode_wall.Elapsed();
  m.tokens_per_second = decode_seconds > 0 ? static_cast<double>(result.tokens.size()) / decode_seconds : 0.0;
  m.total_decoding_tokens = static_cast<int64_t>(result.tokens.size());
  m.total_time = total.Elapsed();
  m.kv_bytes_live = cache.LiveBytes();
  m.kv_bytes_peak = cache.PeakBytes();
  m.kv_tokens_per_head_max = cache.PeakHeadSlots();
  m.compression_ratio = cache.RetainedFraction();
  m.evictions = cache.EvictedSlots();
  if (options.press != nullptr) {
    m.press_prefill_time = options.press->times().prefill_seconds;
    m.press_decoding_time = options.press->times().decoding_seconds;
    m.press_tokens_per_second =
        m.press_decoding_time > 0 ? static_cast<double>(m.total_decoding_tokens) / m.press_decoding_time : 0.0;
  }
  m.rss_peak_bytes = PeakRssBytes();
  if (cache_out != nullptr) *cache_out = std::move(cache);
  return result;
}

}  // namespace kvpress
