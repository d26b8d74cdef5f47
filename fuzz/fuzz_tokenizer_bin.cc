// llama2.c tokenizer.bin: the vocabulary reader, then one encode/decode round.
#include "fuzz/fuzz_util.h"
#include "tokenizer/llama2c_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int vocab = 1 + data[0] % 64;  // the count comes from the model
  const std::string path = kvpress::fuzz::ScratchFile("tokenizer.bin", data + 1, size - 1);
  auto tok = kvpress::Llama2cTokenizer::Load(path, vocab);
  kvpress::fuzz::Tally(!tok.ok());
  if (tok.ok()) {
    auto ids = (*tok)->Encode("Hello world 123", true);
    if (ids.ok()) (void)(*tok)->Decode(*ids);
  }
  return 0;
}
