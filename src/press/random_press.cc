// random — uniform random scores, the floor every press should beat (kvpress RandomPress; the
// reasoning fork registers it but crashes). score_j ~ U(0, 1) from a generator seeded with `seed`
// (spec parameter, default the run's --seed), advanced per prune so runs are reproducible.
#include <random>

#include "press/catalog.h"
#include "press/scorer_press.h"

namespace kvpress {
namespace {

class RandomPress : public ScorerPress {
 public:
  explicit RandomPress(uint64_t seed) : seed_(seed), rng_(seed) {}
  std::string Name() const override { return "random"; }
  std::unique_ptr<Press> Clone() const override { return std::make_unique<RandomPress>(*this); }
  void Reset() override {
    ScorerPress::Reset();
    rng_.seed(seed_);
  }

 protected:
  void Score(const LayerHookContext&, int, bool, std::vector<float>& scores) override {
    for (float& s : scores) s = static_cast<float>(static_cast<double>(rng_() >> 11) * 0x1.0p-53);
  }

 private:
  uint64_t seed_;
  std::mt19937_64 rng_;
};

}  // namespace

PressInfo RandomPressInfo() {
  return {"random", "uniform random scores (seeded)", "-", "prefill, decode", "nothing",
          {{"seed", "run seed", "generator seed"}},
          [](const PressSpec& spec) -> StatusOr<std::unique_ptr<Press>> {
            PressParams p(spec);
            const double seed = p.GetDouble("seed", static_cast<double>(spec.seed), 0, 9007199254740992.0);
            RETURN_IF_ERROR(p.Finish());
            return std::unique_ptr<Press>(new RandomPress(static_cast<uint64_t>(seed)));
          }};
}

}  // namespace kvpress
