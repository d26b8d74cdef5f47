#include "press/wrapper_press.h"

#include <algorithm>

namespace kvpress {

Status WrapperPress::Attach(const ModelConfig& config) {
  for (auto& c : children_) RETURN_IF_ERROR(c->Attach(config));
  return Press::Attach(config);
}

void WrapperPress::Reset() {
  for (auto& c : children_) c->Reset();
}

AttentionRequest WrapperPress::Request(const ForwardInfo& info) const {
  AttentionRequest r;
  for (const auto& c : children_) {
    const AttentionRequest q = c->Request(info);
    r.sum_all_queries = r.sum_all_queries || q.sum_all_queries;
    r.last_queries = std::max(r.last_queries, q.last_queries);
  }
  return r;
}

void WrapperPress::set_eviction_log(EvictionLog* log) {
  Press::set_eviction_log(log);
  for (auto& c : children_) c->set_eviction_log(log);
}

bool WrapperPress::RenumbersPositions() const {
  return std::any_of(children_.begin(), children_.end(), [](const auto& c) { return c->RenumbersPositions(); });
}

bool WrapperPress::NeedsQuestionTokens() const {
  return std::any_of(children_.begin(), children_.end(), [](const auto& c) { return c->NeedsQuestionTokens(); });
}

bool WrapperPress::CloneChildren(std::vector<std::unique_ptr<Press>>& out) const {
  out.clear();
  for (const auto& c : children_) {
    std::unique_ptr<Press> copy = c->Clone();
    if (copy == nullptr) return false;
    out.push_back(std::move(copy));
  }
  return true;
}

std::optional<LayerTarget> BudgetDriver::Decide(const BudgetPolicy& policy, const LayerHookContext& ctx, double size,
                                                int n, int default_interval) {
  const int interval = policy.compression_interval > 0 ? policy.compression_interval : default_interval;
  auto target = [&](int kept) { return LayerTarget{kept, n > 0 ? 1.0 - static_cast<double>(kept) / n : 0.0}; };
  switch (ctx.info.phase) {
    case ForwardPhase::kPrefill:
      if (!ctx.info.last_chunk) return std::nullopt;
      if (policy.cache_budget > 0) {
        if (size > policy.cache_budget) return target(policy.cache_budget);
      } else if (policy.removed_fraction > 0) {
        return LayerTarget{UpstreamKept(n, policy.removed_fraction), policy.removed_fraction};
      }
      return std::nullopt;
    case ForwardPhase::kQuestion:
    case ForwardPhase::kDecode:
      if (policy.cache_budget > 0) {
        if (ctx.info.phase == ForwardPhase::kDecode && size > policy.cache_budget + std::max(0, interval - 1)) {
          return target(policy.cache_budget);
        }
        return std::nullopt;
      }
      if (policy.target_size > 0 && ctx.info.last_chunk) {
        if (steps_.size() <= static_cast<size_t>(ctx.layer)) steps_.resize(static_cast<size_t>(ctx.layer) + 1, 0);
        int& steps = steps_[static_cast<size_t>(ctx.layer)];
        ++steps;
        if (steps >= (interval > 0 ? interval : 512) || ctx.info.n_tokens >= policy.target_size) {
          steps = 0;
          if (n > policy.target_size) return target(policy.target_size);
        }
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace kvpress
