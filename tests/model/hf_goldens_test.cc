// Tiny random-weight Hugging Face models of every supported architecture against logits recorded
// from transformers itself (scripts/goldens/make_engine_fixtures.py), in f32 and bf16 storage.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "generate/generator.h"
#include "model/model.h"
#include "model/transformer.h"
#include "ops/matmul.h"
#include "test_util.h"

namespace kvpress {
namespace {

using nlohmann::json;
using testing::Fixture;
using testing::RelativeError;

const char* kFixtures[] = {"llama_gqa_rope3_f32", "llama_gqa_rope3_bf16", "llama_mha_tied_f32",
                           "llama_mha_tied_bf16", "mistral_gqa_f32",      "mistral_gqa_bf16",
                           "mistral_swa_f32",     "qwen2_bias_f32",       "qwen2_bias_bf16",
                           "qwen3_qknorm_f32",    "qwen3_qknorm_bf16"};

class HfGolden : public ::testing::TestWithParam<const char*> {
 protected:
  // transformers computed the goldens in f32 from the stored weights: the exact f32-activation
  // path (on AVX512-BF16 CPUs bf16 weights otherwise take bf16-rounded activations).
  void SetUp() override {
    SetQuantizedActivations(false);
    auto m = LoadModel(Fixture(std::string("models/") + GetParam()));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(m).value();
    auto g = ReadJsonFile(Fixture(std::string("goldens/") + GetParam() + ".json"));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    golden_ = std::move(g).value();
  }

  // All-position logits of `ids` from a fresh cache.
  std::vector<float> Prefill(const std::vector<int32_t>& ids, KernelMode mode, int chunk) {
    Transformer t(*model_, 2, mode);
    KVCache cache = t.NewCache();
    std::vector<int32_t> pos(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) pos[i] = static_cast<int32_t>(i);
    ForwardOptions o;
    o.all_logits = true;
    o.max_chunk = chunk;
    std::vector<float> logits;
    EXPECT_TRUE(t.Forward(ids, pos, cache, o, logits).ok());
    return logits;
  }

  void TearDown() override { SetQuantizedActivations(true); }

  std::unique_ptr<Model> model_;
  json golden_;
};

TEST_P(HfGolden, PrefillLogitsMatchTransformers) {
  const size_t V = static_cast<size_t>(model_->config.vocab_size);
  double worst = 0.0;
  for (const json& c : golden_["prefill"]) {
    const auto ids = c["input_ids"].get<std::vector<int32_t>>();
    // Chunk of 100 so the 300-token prompt is prefilled in 3 chunks.
    const std::vector<float> logits = Prefill(ids, KernelMode::kFast, 100);
    const auto positions = c["positions"].get<std::vector<size_t>>();
    for (size_t r = 0; r < positions.size(); ++r) {
      const auto want = c["logits"][r].get<std::vector<float>>();
      std::vector<float> got(logits.begin() + static_cast<std::ptrdiff_t>(positions[r] * V),
                             logits.begin() + static_cast<std::ptrdiff_t>((positions[r] + 1) * V));
      const double err = RelativeError(got, want);
      worst = std::max(worst, err);
      EXPECT_LT(err, 1e-4) << "prompt length " << ids.size() << ", position " << positions[r];
    }
  }
  std::printf("[ figures  ] %s: max relative error vs transformers %.2e\n", GetParam(), worst);
}

TEST_P(HfGolden, GreedyDecodeMatchesTransformers) {
  const json& g = golden_["greedy"];
  Transformer t(*model_, 2);
  GenerateOptions opt;
  opt.max_new_tokens = static_cast<int>(g["generated_ids"].size());
  KVCache cache = t.NewCache();
  const auto prompt = g["prompt_ids"].get<std::vector<int32_t>>();
  auto r = Generate(t, prompt, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tokens, g["generated_ids"].get<std::vector<int32_t>>());

  std::vector<int32_t> pos(prompt.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
  std::vector<float> logits;
  ASSERT_TRUE(t.Forward(prompt, pos, cache, {}, logits).ok());
  const auto gen = g["generated_ids"].get<std::vector<int32_t>>();
  for (size_t k = 0; k < gen.size(); ++k) {
    const std::string key = std::to_string(k);
    if (g["step_logits"].contains(key)) {
      EXPECT_LT(RelativeError(logits, g["step_logits"][key].get<std::vector<float>>()), 1e-4) << "step " << k;
    }
    const int32_t tok = gen[k];
    const int32_t p = static_cast<int32_t>(prompt.size() + k);
    ASSERT_TRUE(t.Forward({&tok, 1}, {&p, 1}, cache, {}, logits).ok());
  }
}

TEST_P(HfGolden, FastForwardEqualsScalarReference) {
  const json& c = golden_["prefill"][2];  // the 300-token prompt
  const auto ids = c["input_ids"].get<std::vector<int32_t>>();
  const std::vector<float> fast = Prefill(ids, KernelMode::kFast, 256);
  const std::vector<float> ref = Prefill(ids, KernelMode::kReference, 300);
  const double err = RelativeError(fast, ref);
  std::printf("[ figures  ] %s: fast vs scalar reference %.2e\n", GetParam(), err);
  EXPECT_LT(err, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfGolden, ::testing::ValuesIn(kFixtures),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace kvpress
