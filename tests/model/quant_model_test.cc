// Real quantized tensors of the shared SmolLM2 Q4_1 file dequantized by us equal gguf-py's
// dequantization bit for bit (SHA-256 of the f32 values in tests/fixtures/quant_goldens/manifest.json).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <fstream>

#include "hub/sha256.h"
#include "model/gguf.h"
#include "ops/quant_blocks.h"
#include "test_util.h"

namespace kvpress {
namespace {

TEST(QuantModelTensors, SmolLM2DequantizationEqualsGgufPy) {
  const std::string path = testing::SharedData("models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  if (path.empty()) GTEST_SKIP() << "../shared/data absent";
  std::ifstream mf(testing::Fixture("quant_goldens/manifest.json"));
  const nlohmann::json manifest = nlohmann::json::parse(mf);
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto g = ReadGguf(**file);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_FALSE(manifest["model_tensors"].empty());
  for (const auto& [name, want] : manifest["model_tensors"].items()) {
    const TensorInfo& t = g->tensors.at(name);
    EXPECT_EQ(DTypeName(t.dtype), want["type"].get<std::string>()) << name;
    const size_t cols = static_cast<size_t>(t.shape.back());
    const size_t rows = t.nbytes / RowBytes(t.dtype, cols);
    std::vector<float> values(rows * cols);
    for (size_t r = 0; r < rows; ++r) DequantizeRow(t.dtype, t.data + r * RowBytes(t.dtype, cols), values.data() + r * cols, cols);
    const std::string out = testing::TempDir("quant_model") + "/values.bin";
    std::ofstream(out, std::ios::binary).write(reinterpret_cast<const char*>(values.data()),
                                               static_cast<std::streamsize>(values.size() * 4));
    auto sha = hub::Sha256File(out);
    std::remove(out.c_str());
    ASSERT_TRUE(sha.ok());
    EXPECT_EQ(*sha, want["dequant_sha256"].get<std::string>()) << name << " (" << DTypeName(t.dtype) << ")";
  }
}

// A NaN block scale in a quantized tensor is refused on load, naming the tensor (the load-time
// weight check reads every block type's f16 fields); --no-check loads it anyway.
TEST(QuantModelTensors, NonFiniteBlockScaleIsRefused) {
  const std::string dir = testing::TempDir("quant_nan");
  for (const char* dtype : {"q4_0", "q4_k", "q6_k", "q5_1"}) {
    const std::string path = dir + "/tiny-" + dtype + ".gguf";
    const auto conv = testing::RunKvpress("convert -m '" + testing::Fixture("../../models/tiny-reasoner") + "' -o '" +
                                          path + "' --to gguf --dtype " + dtype);
    ASSERT_EQ(conv.exit_code, 0) << conv.err;
    size_t offset = 0;
    std::string name;
    {
      auto file = MappedFile::Open(path);
      ASSERT_TRUE(file.ok());
      auto g = ReadGguf(**file);
      ASSERT_TRUE(g.ok()) << g.status().message();
      for (const auto& [n, t] : g->tensors) {
        if (IsQuantized(t.dtype) && n.find("ffn_up") != std::string::npos) {
          name = n;
          offset = static_cast<size_t>(t.data - (*file)->data());
          if (t.dtype == DType::kQ6_K) offset += offsetof(BlockQ6_K, d);  // Q6_K's scale is last
          break;
        }
      }
    }
    ASSERT_FALSE(name.empty()) << dtype;
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    const uint16_t nan_half = 0x7e00;
    f.write(reinterpret_cast<const char*>(&nan_half), 2);
    f.close();
    const auto r = testing::RunKvpress("generate -m '" + path + "' --prompt-ids 1,2,3 -n 2");
    EXPECT_EQ(r.exit_code, 2) << dtype << ": " << r.err;
    EXPECT_NE(r.err.find("non-finite"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("up_proj"), std::string::npos) << r.err;
    EXPECT_EQ(testing::RunKvpress("generate -m '" + path + "' --prompt-ids 1,2,3 -n 2 --no-check").exit_code, 0) << dtype;
  }
}

}  // namespace
}  // namespace kvpress
