// full: no compression. The hook still runs (so timing and counters are comparable), and the cache
// keeps every slot whatever the budget — the reference every press is measured against.
#include "press/catalog.h"

namespace kvpress {
namespace {

class FullPress : public Press {
 public:
  std::string Name() const override { return "full"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<FullPress>(*this); }

 protected:
  void OnPrefill(const LayerHookContext&) override {}
  void OnDecode(const LayerHookContext&) override {}
};

}  // namespace

PressInfo FullPressInfo() {
  return {"full", "no compression: every slot is kept (budget ignored)", "-", "prefill, decode", "nothing", {},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new FullPress());
          }};
}

}  // namespace kvpress
