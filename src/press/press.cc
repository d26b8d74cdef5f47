#include "press/press.h"

#include "core/timer.h"

namespace kvpress {

Status Press::Attach(const ModelConfig& config) {
  config_ = config;
  Reset();
  return Status::Ok();
}

void Press::AfterAttention(const LayerHookContext& ctx) {
  const Stopwatch sw;
  switch (ctx.info.phase) {
    case ForwardPhase::kPrefill: OnPrefill(ctx); break;
    case ForwardPhase::kQuestion: OnQuestion(ctx); break;
    case ForwardPhase::kDecode: OnDecode(ctx); break;
  }
  const double dt = sw.Elapsed();
  if (ctx.info.phase == ForwardPhase::kDecode) {
    times_.decoding_seconds += dt;
  } else {
    times_.prefill_seconds += dt;
  }
}

void Press::BeforeAttention(const LayerHookContext& ctx) {
  if (!RewritesBeforeAttention()) return;
  const Stopwatch sw;
  OnBeforeAttention(ctx);
  const double dt = sw.Elapsed();
  if (ctx.info.phase == ForwardPhase::kDecode) {
    times_.decoding_seconds += dt;
  } else {
    times_.prefill_seconds += dt;
  }
}

}  // namespace kvpress
