// Dataset rows (JSON / JSONL) and their conversion to samples for a math and a choice dataset.
#include "eval/dataset.h"
#include "eval/dataset_spec.h"
#include "eval/json_rows.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rows = kvpress::eval::ParseJsonRows(text, "fuzz.jsonl");
  kvpress::fuzz::Tally(!rows.ok());
  if (!rows.ok()) return 0;
  for (const char* key : {"gsm8k", "commonsenseqa", "drop", "jsonl"}) {
    auto spec = kvpress::eval::FindDataset(key);
    if (spec.ok()) (void)kvpress::eval::BuildDataset(*spec, rows->rows);
  }
  return 0;
}
