// Hugging Face directories: config.json and model.safetensors from one input ("<config>\n----\n<file>").
#include <fstream>

#include "fuzz/fuzz_util.h"
#include "model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [config, tensors] = kvpress::fuzz::SplitInput(data, size);
  const std::string dir = kvpress::fuzz::ScratchDir("hf");
  std::ofstream(dir + "/config.json", std::ios::binary | std::ios::trunc) << config;
  std::ofstream(dir + "/model.safetensors", std::ios::binary | std::ios::trunc) << tensors;
  auto model = kvpress::LoadModel(dir);
  kvpress::fuzz::Tally(!model.ok());
  return 0;
}
