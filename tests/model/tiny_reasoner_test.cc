// The bundled tiny reasoning model (models/tiny-reasoner, compiled into kvpress) through the whole
// stack: `kvpress sweep` without --model on 50 held-out problems. Full cache must stay accurate
// (>= 0.8), and the KV cache must hold exactly what the budget says: at budget B, once prompt +
// answer exceed B, kv_bytes_peak is within 5% of B x layers x KV heads x head_dim x 2 x 4 bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "test_util.h"

namespace kvpress::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kModelDir = std::string(KVPRESS_SOURCE_DIR) + "/models/tiny-reasoner";

// The result file of the (press, budget) cell in `dir`.
std::string ResultFile(const std::string& dir, const std::string& press, int budget) {
  const std::string key = "__" + press + "__budget" + std::to_string(budget) + "__";
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(key) != std::string::npos && name.size() > 6 && name.substr(name.size() - 6) == ".jsonl") {
      return e.path().string();
    }
  }
  return "";
}

TEST(TinyReasoner, SweepAccuracyAndKvBytesFollowTheBudget) {
  if (!fs::exists(kModelDir + "/model.safetensors")) GTEST_SKIP() << "models/tiny-reasoner absent";
  const json config = json::parse(ReadFileToString(kModelDir + "/config.json").value());
  const int64_t bytes_per_slot = int64_t{2} * 4 * config["num_hidden_layers"].get<int64_t>() *
                                 config["num_key_value_heads"].get<int64_t>() * config["head_dim"].get<int64_t>();
  const std::string dir = TempDir("tiny_reasoner");
  const CommandResult r = RunKvpress("sweep --datasets jsonl=" + kModelDir + "/test.jsonl" +
                                     " --presses full,streaming_llm,knorm --budgets 16,64 --num-samples 50"
                                     " --max-new-tokens 64 --threads 1 --output-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const auto full = ReadJsonLines(ResultFile(dir, "full", 0));
  ASSERT_EQ(full.size(), 50u);
  int correct = 0;
  for (const json& row : full) correct += row["correct"].get<bool>() ? 1 : 0;
  EXPECT_GE(correct, 40) << "full-cache accuracy " << correct / 50.0 << " < 0.8";

  for (const char* press : {"streaming_llm", "knorm"}) {
    for (int budget : {16, 64}) {
      const auto rows = ReadJsonLines(ResultFile(dir, press, budget));
      ASSERT_EQ(rows.size(), 50u) << press << " " << budget;
      int over_budget = 0;
      for (const json& row : rows) {
        const int64_t seen = row["input_token_count"].get<int64_t>() + row["output_token_count"].get<int64_t>();
        const int64_t peak = row["kv_bytes_peak"].get<int64_t>(), live = row["kv_bytes_live"].get<int64_t>();
        // Never more than the prompt (prefilled whole, then compressed) or budget + the step's new slot.
        const int64_t prompt = row["input_token_count"].get<int64_t>();
        EXPECT_LE(peak, std::max(prompt, int64_t{budget} + 1) * bytes_per_slot) << press << " " << budget;
        EXPECT_LE(live, int64_t{budget} * bytes_per_slot);
        if (prompt <= budget && seen > budget + 1) {  // decoding reached the budget: steady state
          ++over_budget;
          const double formula = static_cast<double>(budget) * static_cast<double>(bytes_per_slot);
          EXPECT_GE(static_cast<double>(peak), formula);
          EXPECT_LE(static_cast<double>(peak), 1.05 * formula) << press << " budget " << budget;
          EXPECT_EQ(live, int64_t{budget} * bytes_per_slot);
        }
      }
      if (budget == 64) {
        EXPECT_GT(over_budget, 0) << press << ": no sample reached the budget";
      }
    }
  }
}

TEST(TinyReasoner, GenerateWithoutModelUsesTheBundledModel) {
  if (!fs::exists(kModelDir + "/model.safetensors")) GTEST_SKIP() << "models/tiny-reasoner absent";
  const CommandResult r = RunKvpress("generate --context 'b=7, e=6, j=4. Find e.' --max-new-tokens 32 --threads 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_EQ(out["answers"][0]["text"], "e=6. \\boxed{6}");
}

}  // namespace
}  // namespace kvpress::testing
