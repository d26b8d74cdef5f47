// llama2.c checkpoints (.bin): header, shared/separate classifier, tensor sizes.
#include "fuzz/fuzz_util.h"
#include "model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = kvpress::fuzz::ScratchFile("model.bin", data, size);
  auto model = kvpress::LoadLlama2cModel(path);
  kvpress::fuzz::Tally(!model.ok());
  return 0;
}
