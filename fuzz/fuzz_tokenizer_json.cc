// tokenizer.json: the SAX reader, every pipeline component, then one encode/decode round.
#include "fuzz/fuzz_util.h"
#include "tokenizer/hf_loaders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = kvpress::fuzz::ScratchDir("tokjson");
  const std::string path = dir + "/tokenizer.json";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto tok = kvpress::LoadTokenizerJson(path);
  kvpress::fuzz::Tally(!tok.ok());
  if (tok.ok()) {
    auto ids = (*tok)->Encode("Hello world 123 <s> héllo\n", true);
    if (ids.ok()) (void)(*tok)->Decode(*ids);
  }
  return 0;
}
