#include "generate/session.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/timer.h"

namespace kvpress {

Status ForwardPrefill(Transformer& model, std::span<const int32_t> ids, std::span<const int32_t> positions,
                      KVCache& cache, const ForwardOptions& options, int press_chunk, std::vector<float>& logits) {
  const auto* press = dynamic_cast<const Press*>(options.hook);
  if (press_chunk > 0 && press != nullptr && press->budget().cache_budget == 0 &&
      press->budget().removed_fraction > 0) {
    return InvalidArgument("--prefill-chunk needs --cache-budget: --compression-ratio removes a fraction of the whole prompt");
  }
  if (press_chunk <= 0 || options.hook == nullptr || ids.size() != positions.size()) {
    return model.Forward(ids, positions, cache, options, logits);  // one forward (Forward checks the sizes)
  }
  const size_t step = static_cast<size_t>(press_chunk);
  const size_t last_piece = ids.empty() ? 0 : ids.size() - (ids.size() - 1) / step * step;
  if (options.question_tokens > 0 && static_cast<size_t>(options.question_tokens) > last_piece) {
    return InvalidArgument(fmt::format("--prefill-chunk {}: the question's {} tokens must fit in the prompt's last "
                                       "piece ({} tokens)",
                                       press_chunk, options.question_tokens, last_piece));
  }
  const bool renumbers = press != nullptr && press->RenumbersPositions();
  std::vector<int32_t> piece_positions;  // [n] a later piece's positions after a re-numbering press
  for (size_t start = 0; start < ids.size(); start += step) {
    const size_t n = std::min(step, ids.size() - start);
    std::span<const int32_t> piece = positions.subspan(start, n);
    if (renumbers && start > 0) {  // the piece follows the compacted cache (upstream's position rule)
      piece_positions.resize(n);
      for (size_t i = 0; i < n; ++i) piece_positions[i] = cache.NextPosition() + static_cast<int32_t>(i);
      piece = piece_positions;
    }
    ForwardOptions piece_options = options;  // the question (if any) ends the last piece
    if (start + n < ids.size()) piece_options.question_tokens = 0;
    RETURN_IF_ERROR(model.Forward(ids.subspan(start, n), piece, cache, piece_options, logits));
  }
  return Status::Ok();
}

// The session's services to Press::AfterContext: forwards after the context in kQuestion phase
// (one internal chunk per prefill_chunk tokens, as any prompt) and the discard of their slots.
class SessionContextRunner : public ContextRunner {
 public:
  SessionContextRunner(Session& s, std::span<const int32_t> context, int32_t context_end)
      : s_(s), context_(context), context_end_(context_end) {}
  std::span<const int32_t> context() const override { return context_; }
  const ContextReplayPrompts* prompts() const override {
    return s_.has_replay_prompts_ ? &s_.replay_prompts_ : nullptr;
  }
  Status Forward(std::span<const int32_t> ids) override {
    if (ids.empty()) return Status::Ok();
    std::vector<int32_t> pos(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) pos[i] = s_.next_position_ + static_cast<int32_t>(i);
    ForwardOptions fwd;
    fwd.max_chunk = s_.prefill_chunk_;
    fwd.hook = s_.press_;
    fwd.phase = ForwardPhase::kQuestion;
    fwd.cancel = s_.cancel_;
    std::vector<float> logits;
    RETURN_IF_ERROR(s_.model_.Forward(ids, pos, *s_.cache_, fwd, logits));
    s_.next_position_ += static_cast<int32_t>(ids.size());
    return Status::Ok();
  }
  void DiscardAfterContext() override {
    KVCache& c = *s_.cache_;
    for (int l = 0; l < c.n_layers(); ++l) {
      for (int g = 0; g < c.n_kv_heads(); ++g) {
        const auto pos = c.Positions(l, g);
        std::vector<int> keep;
        keep.reserve(pos.size());
        for (int i = 0; i < static_cast<int>(pos.size()); ++i) {
          if (pos[static_cast<size_t>(i)] < context_end_) keep.push_back(i);
        }
        if (keep.size() != pos.size()) c.Retain(l, g, keep);
      }
    }
    s_.next_position_ = context_end_;
  }
  KVCache& cache() override { return *s_.cache_; }

 private:
  Session& s_;
  std::span<const int32_t> context_;
  int32_t context_end_;
};

Session::Session(Transformer& model, Press* press, DType kv_dtype, int prefill_chunk, int press_chunk)
    : model_(model),
      press_(press),
      cache_(std::make_unique<KVCache>(model.NewCache(kv_dtype))),
      prefill_chunk_(prefill_chunk),
      press_chunk_(press_chunk),
      start_(NowSeconds()) {
  if (press_ != nullptr) {
    attach_status_ = press_->Attach(model.config());
    press_->ResetTimes();
  }
}

Status Session::Prefill(std::span<const int32_t> ids, ForwardPhase phase,
                        std::vector<float>& logits, int question_tokens) {
  RETURN_IF_ERROR(attach_status_);  // a press that does not fit the model (e.g. per_layer's list)
  if (phase != ForwardPhase::kPrefill) question_tokens = 0;
  if (question_tokens < 0 || (question_tokens > 0 && static_cast<size_t>(question_tokens) >= ids.size())) {
    return InvalidArgument(fmt::format("query-aware prefill: {} question tokens in a prompt of {} (the context "
                                       "before them must not be empty)",
                                       question_tokens, ids.size()));
  }
  if (phase == ForwardPhase::kPrefill && question_tokens == 0 && press_ != nullptr &&
      press_->NeedsQuestionTokens()) {
    return FailedPrecondition("press " + press_->Name() +
                              " scores the context against the question: give exactly one question (generate "
                              "--context C --question Q; eval --query-aware), it is then prefilled and "
                              "compressed with the context");
  }
  if (ids.empty()) return Status::Ok();
  std::vector<int32_t> pos(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) pos[i] = next_position_ + static_cast<int32_t>(i);
  ForwardOptions fwd;
  fwd.max_chunk = prefill_chunk_;
  fwd.hook = press_;
  fwd.phase = phase;
  fwd.cancel = cancel_;
  fwd.question_tokens = question_tokens;
  const Stopwatch sw;
  const int press_chunk = phase == ForwardPhase::kPrefill ? press_chunk_ : 0;
  RETURN_IF_ERROR(ForwardPrefill(model_, ids, pos, *cache_, fwd, press_chunk, logits));
  AdvancePosition(static_cast<int32_t>(ids.size()));
  if (phase == ForwardPhase::kPrefill && press_ != nullptr && press_->ReplaysContext()) {
    // The press's replay passes and pruning count as press prefill time (once: the hook time
    // inside them is already part of the wall time measured here).
    const PressTimes before = press_->times();
    const Stopwatch replay;
    SessionContextRunner runner(*this, ids, next_position_);
    const Status s = press_->AfterContext(runner);
    PressTimes after = before;
    after.prefill_seconds += replay.Elapsed();
    press_->SetTimes(after);
    RETURN_IF_ERROR(s);
  }
  metrics_.prefill_time += sw.Elapsed();
  metrics_.total_prefill_tokens += static_cast<int64_t>(ids.size());
  return Status::Ok();
}

DecodeState::DecodeState(const DecodeLoopOptions& options, const TokenCallback& on_token)
    : options_(options),
      on_token_(on_token),
      sampler_(options.sampling),
      stop_(options.stop),
      history_(options.context.begin(), options.context.end()) {
  result_.finish_reason = "length";
  if (options.tokenizer != nullptr && !options.stop.stop_strings.empty()) {
    text_ = std::make_unique<StreamingDecoder>(*options.tokenizer, options.context);
  }
}

bool DecodeState::Advance(std::span<float> logits, Session& session) {
  if (static_cast<int>(result_.tokens.size()) >= options_.max_new_tokens) return false;
  const int32_t id = sampler_.Sample(logits, history_);
  session.NoteFirstToken();
  if (stop_.IsEos(id)) {
    result_.finish_reason = "stop";
    return false;
  }
  result_.tokens.push_back(id);
  history_.push_back(id);
  if (on_token_ && !on_token_(id)) {
    result_.finish_reason = "cancelled";
    return false;
  }
  if (text_) text_so_far_ += text_->Push(id);
  const std::string why = stop_.Check(result_.tokens, text_so_far_);
  if (!why.empty()) {
    result_.finish_reason = why;
    return false;
  }
  // No forward is needed after the last allowed token.
  if (static_cast<int>(result_.tokens.size()) == options_.max_new_tokens) return false;
  next_token_ = id;
  return true;
}

void Session::NoteFirstToken() {
  if (!first_token_seen_) {
    metrics_.ttft = NowSeconds() - start_;
    first_token_seen_ = true;
  }
}

Status Session::ForwardDecodeToken(int32_t id, std::vector<float>& logits) {
  ForwardOptions fwd;
  fwd.hook = press_;
  fwd.phase = ForwardPhase::kDecode;
  const Stopwatch sw;
  const int32_t tok[1] = {id};
  const int32_t pos[1] = {next_position_};
  RETURN_IF_ERROR(model_.Forward(tok, pos, *cache_, fwd, logits));
  metrics_.decoding_time += sw.Elapsed();
  AdvancePosition(1);
  return Status::Ok();
}

void Session::AdvancePosition(int32_t n_tokens) {
  next_position_ += n_tokens;
  if (press_ != nullptr && press_->RenumbersPositions()) next_position_ = cache_->NextPosition();
}

StatusOr<DecodeResult> Session::Decode(std::vector<float> logits, const DecodeLoopOptions& o,
                                       const TokenCallback& on_token) {
  if (o.max_new_tokens < 0) return InvalidArgument("--max-new-tokens must be >= 0");
  DecodeState state(o, on_token);
  const Stopwatch wall;
  while (state.Advance(logits, *this)) {
    RETURN_IF_ERROR(ForwardDecodeToken(state.next_token(), logits));
    if (o.on_cache) o.on_cache(*cache_);
  }
  metrics_.total_decoding_tokens += static_cast<int64_t>(state.result().tokens.size());
  decode_wall_ += wall.Elapsed();
  return std::move(state.result());
}

Session::Snapshot Session::Save() const {
  Snapshot s;
  s.cache = std::make_unique<KVCache>(*cache_);
  if (press_ != nullptr) s.press = press_->Clone();
  s.next_position = next_position_;
  return s;
}

void Session::Restore(const Snapshot& s) {
  const size_t peak = cache_->PeakBytes();
  const int peak_slots = cache_->PeakHeadSlots();
  *cache_ = *s.cache;
  cache_->KeepPeakAtLeast(peak, peak_slots);
  if (s.press != nullptr) {
    const PressTimes times = press_ != nullptr ? press_->times() : PressTimes{};
    restored_press_ = s.press->Clone();
    press_ = restored_press_.get();
    press_->SetTimes(times);
  }
  next_position_ = s.next_position;
}

Metrics Session::CurrentMetrics() const {
  Metrics m = metrics_;
  m.total_time = NowSeconds() - start_;
  m.tokens_per_second =
      decode_wall_ > 0 ? static_cast<double>(m.total_decoding_tokens) / decode_wall_ : 0.0;
  m.kv_bytes_live = cache_->LiveBytes();
  m.kv_bytes_peak = cache_->PeakBytes();
  m.kv_tokens_per_head_max = cache_->PeakHeadSlots();
  m.compression_ratio = cache_->RetainedFraction();
  m.evictions = cache_->EvictedSlots();
  m.rss_peak_bytes = PeakRssBytes();
  if (press_ != nullptr) {
    m.press_prefill_time = press_->times().prefill_seconds;
    m.press_decoding_time = press_->times().decoding_seconds;
    m.press_tokens_per_second =
        m.press_decoding_time > 0
            ? static_cast<double>(m.total_decoding_tokens) / m.press_decoding_time
            : 0.0;
  }
  return m;
}

std::vector<int> Session::KeptPerLayer() const {
  std::vector<int> out;
  for (int l = 0; l < cache_->n_layers(); ++l) out.push_back(cache_->MaxSize(l));
  return out;
}

}  // namespace kvpress
