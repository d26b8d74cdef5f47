// Score files (report) and result files (resume, rescore): parsing, typed fields, report rendering.
#include <vector>

#include "core/json_parse.h"
#include "eval/report.h"
#include "eval/report_stats.h"
#include "eval/result_file.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = kvpress::ParseJson(text, "fuzz_score.json");
  bool refused = !doc.ok();
  if (doc.ok()) {
    auto row = kvpress::eval::ParseScoreRow(*doc, "fuzz_score.json");
    refused = !row.ok();
    if (row.ok()) {
      std::vector<kvpress::eval::ScoreRow> rows = {*row, *row};
      auto groups = kvpress::eval::GroupScoreRows(rows);
      kvpress::eval::OrderRows(groups, {}, false);
      kvpress::eval::BootstrapOptions bootstrap;
      bootstrap.resamples = 100;
      kvpress::eval::AddAccuracyIntervals(groups, bootstrap);
      (void)kvpress::eval::RenderMarkdown(groups, 0);
      (void)kvpress::eval::RenderCsv(groups);
      (void)kvpress::eval::RenderJson(groups).dump(2);
      (void)kvpress::eval::RenderPlots(groups);
    }
  }
  const std::string path = kvpress::fuzz::ScratchFile("result.jsonl", data, size);
  (void)kvpress::eval::ReadResultRows(path, /*repair=*/false);
  kvpress::fuzz::Tally(refused);
  return 0;
}
