#include "press/budget_wrapper_press.h"

namespace kvpress {

void BudgetWrapperPress::Reset() {
  WrapperPress::Reset();
  driver_.Reset(config().n_layers);
}

double BudgetWrapperPress::LayerSize(const LayerHookContext& ctx) const {
  return ctx.cache->MaxSize(ctx.layer);
}

void BudgetWrapperPress::CopyWrapperStateFrom(const InnerWrapperPress& from) {
  InnerWrapperPress::CopyWrapperStateFrom(from);
  driver_ = static_cast<const BudgetWrapperPress&>(from).driver_;
}

void BudgetWrapperPress::Step(const LayerHookContext& ctx, bool decoding) {
  inner()->ObserveChunk(ctx);
  const int n = ctx.cache->MaxSize(ctx.layer);
  if (const auto target = driver_.Decide(budget_, ctx, LayerSize(ctx), n)) {
    CompressToTarget(ctx, *target, decoding);
  }
}

}  // namespace kvpress
