// Real quantized tensors of the shared SmolLM2 Q4_1 file dequantized by us equal gguf-py's
// dequantization bit for bit (SHA-256 of the f32 values in tests/fixtures/quant_goldens/manifest.json).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "hub/sha256.h"
#include "model/gguf.h"
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

}  // namespace
}  // namespace kvpress
