// stories260K (a real trained llama2.c model) against its golden: greedy ids and logits.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "generate/generator.h"
#include "model/model.h"
#include "model/transformer.h"
#include "test_util.h"

namespace kvpress {
namespace {

using testing::SharedData;

struct Golden {
  std::vector<int32_t> ids;
  nlohmann::json logits_check;
};

Golden LoadGolden() {
  Golden g;
  auto j = ReadJsonFile(SharedData("models/stories260K/greedy_t0_steps256.json"));
  EXPECT_TRUE(j.ok());
  g.ids = (*j)["generated_ids"].get<std::vector<int32_t>>();
  g.logits_check = (*j)["logits_check"];
  return g;
}

TEST(Stories260K, LogitsMatchGoldenAtFirstPositions) {
  const std::string bin = SharedData("models/stories260K/stories260K.bin");
  SKIP_IF_NO_SHARED(bin);
  auto model = LoadModel(bin);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Golden g = LoadGolden();
  for (KernelMode mode : {KernelMode::kFast, KernelMode::kReference}) {
    Transformer t(**model, 2, mode);
    KVCache cache = t.NewCache();
    std::vector<float> logits;
    for (const auto& p : g.logits_check["positions"]) {
      const int32_t tok = p["input_token"].get<int32_t>();
      const int32_t pos = p["pos"].get<int32_t>();
      ASSERT_TRUE(t.Forward({&tok, 1}, {&pos, 1}, cache, {}, logits).ok());
      double sum = 0;
      for (float v : logits) sum += v;
      EXPECT_NEAR(sum, p["logit_sum"].get<double>(), 1e-2) << "pos " << pos;  // sum of 512 values
      for (const auto& top : p["top5"]) {
        EXPECT_NEAR(logits[top[0].get<size_t>()], top[1].get<double>(), 1e-3) << "pos " << pos;
      }
    }
  }
}

TEST(Stories260K, GreedyIdsMatchGolden) {
  const std::string bin = SharedData("models/stories260K/stories260K.bin");
  SKIP_IF_NO_SHARED(bin);
  auto model = LoadModel(bin);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Golden g = LoadGolden();
  Transformer t(**model, 2);
  GenerateOptions opt;
  opt.max_new_tokens = 256;
  opt.stop_ids = {1};
  auto r = Generate(t, {1}, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tokens, g.ids);
}

TEST(Stories260K, CliJsonPrintsGoldenIdsAndText) {
  const std::string bin = SharedData("models/stories260K/stories260K.bin");
  const std::string tok = SharedData("models/stories260K/tok512.bin");
  SKIP_IF_NO_SHARED(bin);
  auto r = testing::RunKvpress("generate --model " + bin + " --tokenizer " + tok +
                               " --prompt '' --max-new-tokens 256 --temperature 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  auto golden = ReadJsonFile(SharedData("models/stories260K/greedy_t0_steps256.json"));
  ASSERT_TRUE(golden.ok());
  EXPECT_EQ(j["tokens"].get<std::vector<int32_t>>(), (*golden)["generated_ids"].get<std::vector<int32_t>>());
  EXPECT_EQ(j["text"].get<std::string>(), (*golden)["text"].get<std::string>());
  EXPECT_EQ(j["finish_reason"], "length");
  EXPECT_EQ(j["prompt_tokens"], 1);
  EXPECT_GT(j["metrics"]["kv_bytes_peak"].get<int64_t>(), 0);
}

}  // namespace
}  // namespace kvpress
