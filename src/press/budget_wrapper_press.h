// The plumbing of a wrapper press around one inner LayerCompressor (the `inner` of
// `chunk(knorm)`, `criticalkv(snapkv)`, `cam(...)`): InnerWrapperPress holds it and clones the
// whole press with its config and budget; BudgetWrapperPress adds the BudgetPolicy loop that most
// such wrappers share: on every prefill chunk, question and decode forward, the inner press
// observes the chunk, BudgetDriver decides whether ctx.layer is compressed and to what size, and
// the subclass's CompressToTarget chooses the slots. A budget-driven press is then its selection
// rule, its parameters and one Clone line:
//
//   class BlockPress : public BudgetWrapperPress {
//    public:
//     BlockPress(std::unique_ptr<Press> inner, int block_size);
//     std::unique_ptr<Press> Clone() const override { return CloneAs<BlockPress>(block_size_); }
//    protected:
//     void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& t, bool decoding)
//         override;
//   };
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "press/wrapper_press.h"

namespace kvpress {

class InnerWrapperPress : public WrapperPress {
 protected:
  explicit InnerWrapperPress(std::unique_ptr<Press> inner) {
    children_.push_back(std::move(inner));
  }
  // The wrapped press (always a LayerCompressor: the registry's CreateChildPress checks it).
  LayerCompressor* inner() const { return Compressor(0); }

  // A copy of this press: T(clone of the inner press, args...) with this press's config and
  // budget (and, for a BudgetWrapperPress, its driver's step counts); nullptr when the inner press
  // cannot be cloned. A subclass with state of its own copies it into the result.
  template <class T, class... Args>
  std::unique_ptr<T> CloneAs(Args&&... args) const {
    std::vector<std::unique_ptr<Press>> kids;
    if (!CloneChildren(kids)) return nullptr;
    auto copy = std::make_unique<T>(std::move(kids[0]), std::forward<Args>(args)...);
    static_cast<InnerWrapperPress&>(*copy).CopyWrapperStateFrom(*this);
    return copy;
  }

  // Copies what CloneAs carries over (config, budget) from `from`, a press of the same class.
  virtual void CopyWrapperStateFrom(const InnerWrapperPress& from) {
    config_ = from.config_;
    budget_ = from.budget_;
  }
};

class BudgetWrapperPress : public InnerWrapperPress {
 public:
  // Resets the inner press and the driver; a subclass with state of its own extends it.
  void Reset() override;

 protected:
  explicit BudgetWrapperPress(std::unique_ptr<Press> inner) : InnerWrapperPress(std::move(inner)) {}

  // The average slots per KV head of ctx.layer that the budget is weighed against; default: the
  // longest head (MaxSize), as every head holds the same slots unless a head-adaptive press ran.
  virtual double LayerSize(const LayerHookContext& ctx) const;
  // Compresses ctx.layer to `target` (n_kept slots per KV head on average; the upstream ratio
  // for this length). `decoding`: a question or decode forward (the inner scorer's phase).
  virtual void CompressToTarget(const LayerHookContext& ctx, const LayerTarget& target,
                                bool decoding) = 0;

  void OnPrefill(const LayerHookContext& ctx) override { Step(ctx, /*decoding=*/false); }
  void OnQuestion(const LayerHookContext& ctx) override { Step(ctx, /*decoding=*/true); }
  void OnDecode(const LayerHookContext& ctx) override { Step(ctx, /*decoding=*/true); }
  void CopyWrapperStateFrom(const InnerWrapperPress& from) override;

 private:
  // The inner press observes the chunk; the driver decides; CompressToTarget prunes.
  void Step(const LayerHookContext& ctx, bool decoding);

  BudgetDriver driver_;
};

}  // namespace kvpress
