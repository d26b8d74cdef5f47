// GGUF files: the container parser and the model loader (metadata, tensor table, config).
#include "fuzz/fuzz_util.h"
#include "model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = kvpress::fuzz::ScratchFile("model.gguf", data, size);
  auto model = kvpress::LoadModel(path);
  kvpress::fuzz::Tally(!model.ok());
  if (model.ok()) (void)(*model)->weights.MatrixBytes();
  return 0;
}
