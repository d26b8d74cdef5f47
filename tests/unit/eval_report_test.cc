// kvpress report (src/eval/report.h, svg_plot.h, tools/cmd_report.cc): score files in a temp dir
// (2 datasets x full + 2 presses x 2 budgets, plus unusable files), the library's tables and
// plots, the CLI's outputs and exit codes. Every SVG is validated as XML with xmllint
// (libxml2-utils; missing -> failure) and, when rsvg-convert or ImageMagick is at hand, rendered.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/report.h"
#include "eval/svg_plot.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;
using testing::RunKvpress;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;
namespace fs = std::filesystem;

const char* kModel = "org/Model-1";

int Shell(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool OnPath(const std::string& tool) { return Shell("command -v " + tool + " >/dev/null 2>&1") == 0; }

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

json Score(const std::string& dataset, const std::string& press, int budget, double acc, double tokens) {
  return {{"dataset", dataset},   {"model_name", kModel},        {"press_name", press},
          {"cache_budget", budget}, {"accuracy", acc},          {"avg_score", acc},
          {"num_samples", 10},      {"avg_output_tokens", tokens}, {"press_ms_per_token", budget / 1000.0},
          {"avg_kv_bytes_peak", 1000000.0}, {"max_kv_bytes_peak", 1572864}, {"avg_compression", 0.5},
          {"protocol", "paper"},    {"scoring", "exact"},        {"max_new_tokens", 512},
          {"random_seed", 42},      {"result_file", press + ".jsonl"}};
}

// dir/<dataset>/<press>_<budget>_score.json for 2 datasets x (full + h2o, knorm at 64 and 256),
// plus a corrupt file, one lacking 'accuracy', and a per-sample .jsonl that must be ignored.
std::string MakeResults() {
  const std::string dir = TempDir("report");
  for (const std::string ds : {"math500", "gsm8k"}) {
    const int base = ds == "gsm8k" ? 8 : 6;  // tenths
    WriteText(dir + "/" + ds + "/full_0_score.json", Score(ds, "full", 0, base / 10.0, 300).dump(2));
    for (const std::string press : {"knorm", "h2o"}) {
      for (int budget : {256, 64}) {
        const double acc = (base - (press == "knorm" ? 2 : 1) - (budget == 64 ? 1 : 0)) / 10.0;
        json s = Score(ds, press, budget, acc, 400 + budget);
        if (press == "knorm" && budget == 64) s.erase("avg_output_tokens");  // optional key missing
        WriteText(fmt::format("{}/{}/{}_{}_score.json", dir, ds, press, budget), s.dump());
      }
    }
  }
  WriteText(dir + "/broken_score.json", "{\"dataset\": \"gsm8k\", ");
  WriteText(dir + "/noacc_score.json", R"({"dataset": "gsm8k", "model_name": "m", "press_name": "h2o", "cache_budget": 1})");
  WriteText(dir + "/gsm8k/h2o_64.jsonl", "{\"id\": 1}\n");
  return dir;
}

TEST(ReportLibrary, ScansGroupsAndOrders) {
  const std::string dir = MakeResults();
  auto scan = ScanScoreFiles(dir);
  ASSERT_TRUE(scan.ok()) << scan.status().message();
  EXPECT_EQ(scan->rows.size(), 10u);
  EXPECT_EQ(scan->skipped, 2u);
  ASSERT_EQ(scan->skip_reasons.size(), 2u);
  EXPECT_NE(scan->skip_reasons[0].find("broken_score.json: invalid JSON"), std::string::npos);
  EXPECT_NE(scan->skip_reasons[1].find("'accuracy'"), std::string::npos);

  const std::vector<ReportGroup> groups = GroupScoreRows(scan->rows);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].dataset, "gsm8k");
  EXPECT_EQ(groups[1].dataset, "math500");
  std::vector<std::string> order;
  for (const ScoreRow& r : groups[0].rows) order.push_back(fmt::format("{}@{}", r.press_name, r.cache_budget));
  EXPECT_EQ(order, (std::vector<std::string>{"full@0", "h2o@64", "h2o@256", "knorm@64", "knorm@256"}));
  EXPECT_FALSE(groups[0].varies_protocol);
  EXPECT_FALSE(groups[0].varies_seed);

  EXPECT_FALSE(ScanScoreFiles(dir + "/nope").ok());
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(1572864), "1.5 MiB");
  EXPECT_EQ(HumanBytes(3.0 * (1u << 30)), "3.0 GiB");
}

TEST(ReportLibrary, MarkdownCsvJson) {
  auto scan = ScanScoreFiles(MakeResults());
  ASSERT_TRUE(scan.ok());
  const std::vector<ReportGroup> groups = GroupScoreRows(scan->rows);

  const std::string md = RenderMarkdown(groups, scan->skipped);
  EXPECT_NE(md.find("10 score files in 2 (dataset, model) groups; 2 skipped."), std::string::npos) << md;
  const size_t g1 = md.find("## gsm8k \u2014 org/Model-1"), g2 = md.find("## math500 \u2014 org/Model-1");
  ASSERT_NE(g1, std::string::npos) << md;
  ASSERT_NE(g2, std::string::npos);
  EXPECT_LT(g1, g2);
  EXPECT_NE(md.find("| press | budget | n | accuracy [95% CI] | Wilson 95% | mean output tokens | press ms/token | "
                    "KV peak (max) |"),
            std::string::npos);
  EXPECT_EQ(md.find("\u0394 vs"), std::string::npos);  // no --compare: no comparison column
  EXPECT_EQ(md.find("protocol |"), std::string::npos);  // nothing varies: no protocol/seed columns
  const size_t full = md.find("| full | \u2014 | 10 | 0.800 |  | 300.0 | 0.000 | 1.5 MiB |");
  const size_t h2o64 = md.find("| h2o | 64 | 10 | 0.600 |  | 464.0 | 0.064 | 1.5 MiB |");
  const size_t h2o256 = md.find("| h2o | 256 | 10 | 0.700 |  | 656.0 | 0.256 | 1.5 MiB |");
  const size_t knorm64 = md.find("| knorm | 64 | 10 | 0.500 |  |  | 0.064 | 1.5 MiB |");  // missing tokens
  ASSERT_NE(full, std::string::npos) << md;
  ASSERT_NE(h2o64, std::string::npos) << md;
  ASSERT_NE(h2o256, std::string::npos) << md;
  ASSERT_NE(knorm64, std::string::npos) << md;
  EXPECT_TRUE(full < h2o64 && h2o64 < h2o256 && h2o256 < knorm64 && knorm64 < g2);
  EXPECT_NE(md.find("| press | \u2014 | 64 | 256 |"), std::string::npos) << md;  // pivot
  EXPECT_NE(md.find("| full | 0.800 |  |  |"), std::string::npos) << md;
  EXPECT_NE(md.find("| h2o |  | 0.600 | 0.700 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| knorm |  | 0.500 | 0.600 |"), std::string::npos) << md;

  const std::string csv = RenderCsv(groups);
  EXPECT_EQ(Count(csv, "\n"), 11u);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "dataset,model_name,press_name,press_spec,cache_budget,accuracy,avg_score,num_samples,"
            "avg_output_tokens,press_ms_per_token,avg_kv_bytes_peak,max_kv_bytes_peak,avg_compression,"
            "protocol,scoring,max_new_tokens,random_seed,result_file,avg_end_to_end_tokens_per_second,correct,"
            "accuracy_ci_lo,accuracy_ci_hi,wilson_lo,wilson_hi,compare_to,n_paired,mcnemar_b,mcnemar_c,delta,"
            "delta_ci_lo,delta_ci_hi,p_mcnemar,p_holm,significant,score_file");
  EXPECT_NE(csv.find("\ngsm8k,org/Model-1,full,,0,0.8,0.8,10,300.0,0.0,1000000.0,1572864,0.5,paper,exact,512,42,"
                     "full.jsonl,"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\ngsm8k,org/Model-1,knorm,,64,0.5,0.5,10,,0.064,"), std::string::npos) << csv;

  const json j = RenderJson(groups);
  ASSERT_EQ(j.size(), 10u);
  EXPECT_EQ(j[0]["press_name"], "full");
  EXPECT_EQ(j[0]["dataset"], "gsm8k");
  EXPECT_EQ(j[1]["press_name"], "h2o");
  EXPECT_EQ(j[1]["cache_budget"], 64);
  EXPECT_EQ(j[3]["press_name"], "knorm");
  EXPECT_TRUE(j[3]["avg_output_tokens"].is_null());
  EXPECT_TRUE(j[3]["score_file"].get<std::string>().find("gsm8k/knorm_64_score.json") != std::string::npos);
  EXPECT_EQ(j[9]["dataset"], "math500");
}

// Runs that share (dataset, model, press, budget) but differ in protocol or seed stay apart.
TEST(ReportLibrary, VariantsAreNeverMerged) {
  std::vector<ScoreRow> rows;
  auto add = [&](const std::string& press, int budget, const std::string& protocol, int seed, double acc) {
    json s = Score("gsm8k", press, budget, acc, 100);
    s["protocol"] = protocol;
    s["random_seed"] = seed;
    auto r = ParseScoreRow(s, fmt::format("{}_{}_{}_{}", press, budget, protocol, seed));
    ASSERT_TRUE(r.ok());
    rows.push_back(*r);
  };
  add("full", 0, "paper", 1, 0.9);
  add("h2o", 64, "paper", 1, 0.5);
  add("h2o", 64, "chat", 1, 0.6);
  add("h2o", 64, "chat", 2, 0.7);
  const std::vector<ReportGroup> groups = GroupScoreRows(rows);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_TRUE(groups[0].varies_protocol);
  EXPECT_TRUE(groups[0].varies_seed);
  const std::string md = RenderMarkdown(groups, 0);
  EXPECT_NE(md.find("| press | budget | protocol | seed | n |"), std::string::npos) << md;
  EXPECT_NE(md.find("| h2o | 64 | chat/exact | 1 | 10 | 0.600 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| h2o | 64 | chat/exact | 2 | 10 | 0.700 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| h2o | 64 | paper/exact | 1 | 10 | 0.500 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| h2o (chat/exact, seed 2) |  | 0.700 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| full (paper/exact, seed 1) | 0.900 |  |"), std::string::npos) << md;
  const std::vector<SvgFile> plots = RenderPlots(groups);
  ASSERT_EQ(plots.size(), 4u);
  EXPECT_EQ(Count(plots[0].svg, "<polyline"), 3u);  // one series per press and variant

  auto missing = ParseScoreRow(json{{"dataset", "x"}}, "f_score.json");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'model_name'"), std::string::npos);
  EXPECT_FALSE(ParseScoreRow(json::array(), "a_score.json").ok());
}

// Ratio-mode runs (budget 0, compression_ratio r) and chunked budget runs keep their own rows and
// pivot columns: "ratio 0.50", "2048, chunk 512", never merged into a budget-0 column.
TEST(ReportLibrary, RatioAndChunkedRunsHaveTheirOwnColumns) {
  const std::string dir = TempDir("report-ratio");
  WriteText(dir + "/full_score.json", Score("ruler", "full", 0, 1.0, 9).dump());
  for (double r : {0.25, 0.5}) {
    json s = Score("ruler", "knorm", 0, r == 0.25 ? 0.9 : 0.6, 9);
    s["compression_ratio"] = r;
    s["result_file"] = fmt::format("knorm_r{}.jsonl", r);
    WriteText(dir + fmt::format("/knorm_r{}_score.json", r), s.dump());
  }
  json chunked = Score("ruler", "knorm", 2048, 0.7, 9);
  chunked["prefill_chunk"] = 512;
  WriteText(dir + "/knorm_b2048_score.json", chunked.dump());
  auto scan = ScanScoreFiles(dir);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  const std::string md = RenderMarkdown(GroupScoreRows(scan->rows), scan->skipped);
  EXPECT_NE(md.find("| knorm | ratio 0.25 | 10 | 0.900 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| knorm | ratio 0.50 | 10 | 0.600 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| knorm | 2048, chunk 512 | 10 | 0.700 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| press | \u2014 | 2048, chunk 512 | ratio 0.25 | ratio 0.50 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| knorm |  | 0.700 | 0.900 | 0.600 |"), std::string::npos) << md;
}

TEST(SvgPlot, EscapesAndIsDeterministic) {
  ASSERT_TRUE(OnPath("xmllint")) << "xmllint not found: install libxml2-utils (scripts/install-deps.sh)";
  LinePlot p;
  p.title = "a<b & \"c\" 'd' \x01";
  p.x_label = "budget";
  p.y_label = "accuracy";
  p.series.resize(2);
  p.series[0].name = "x<y>";
  p.series[0].points = {{128, 0.5}, {64, 0.25}, {NAN, 1}};
  p.series[1].name = "empty";
  p.references.resize(1);
  p.references[0].label = "full & more";
  p.references[0].y = 0.75;
  p.log2_x = true;
  const std::string svg = RenderSvgLinePlot(p);
  EXPECT_EQ(svg, RenderSvgLinePlot(p));
  EXPECT_NE(svg.find("a&lt;b &amp; &quot;c&quot; &apos;d&apos;"), std::string::npos);
  EXPECT_NE(svg.find("x&lt;y&gt;"), std::string::npos);
  EXPECT_EQ(Count(svg, "<polyline"), 2u);
  EXPECT_EQ(Count(svg, "class=\"reference\""), 1u);
  EXPECT_NE(svg.find(">64</text>"), std::string::npos);  // power-of-two ticks
  const std::string path = TempDir("svg") + "/p.svg";
  WriteText(path, svg);
  EXPECT_EQ(Shell("xmllint --noout " + path), 0) << svg;
  EXPECT_EQ(SanitizeFileName("org/Model 1:x"), "org_Model_1_x");
  EXPECT_EQ(SanitizeFileName(""), "_");
}

TEST(ReportCli, WritesEverything) {
  ASSERT_TRUE(OnPath("xmllint")) << "xmllint not found: install libxml2-utils (scripts/install-deps.sh)";
  const std::string dir = MakeResults(), out = TempDir("report-out") + "/sub";
  const auto r = RunKvpress("report " + dir + " --output-dir " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| h2o | 64 | 10 | 0.600 ["), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("wrote 11 files"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipping score file"), std::string::npos) << r.err;
  EXPECT_EQ(ReadText(out + "/report.md"), r.out);
  EXPECT_EQ(Count(ReadText(out + "/report.csv"), "\n"), 11u);
  EXPECT_EQ(json::parse(ReadText(out + "/report.json")).size(), 10u);
  for (const std::string ds : {"gsm8k", "math500"}) {
    for (const std::string what : {"accuracy", "output_tokens"}) {
      const std::string svg_path = fmt::format("{}/{}__org_Model-1__{}.svg", out, ds, what);
      const std::string svg = ReadText(svg_path);
      ASSERT_FALSE(svg.empty()) << svg_path;
      EXPECT_EQ(Shell("xmllint --noout " + svg_path), 0) << svg_path;
      EXPECT_EQ(Count(svg, "<polyline"), 2u) << svg_path;  // h2o, knorm
      EXPECT_EQ(Count(svg, "class=\"reference\""), 1u) << svg_path;
      EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
      EXPECT_NE(svg.find(">h2o</text>"), std::string::npos);
      EXPECT_NE(svg.find(">full cache ("), std::string::npos);
    }
  }

  // Render one plot when a rasterizer is at hand.
  const std::string svg_path = out + "/gsm8k__org_Model-1__accuracy.svg", png = out + "/plot.png";
  std::string render;
  if (OnPath("rsvg-convert")) render = "rsvg-convert -o " + png + " " + svg_path;
  else if (Shell("convert -version 2>/dev/null | grep -q 'Version: ImageMagick'") == 0)
    render = "convert " + svg_path + " " + png;
  if (render.empty()) {
    std::printf("[ skipped  ] PNG rendering: neither rsvg-convert nor ImageMagick convert on PATH\n");
  } else {
    ASSERT_EQ(Shell(render), 0) << render;
    EXPECT_EQ(ReadText(png).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  }

  // Only the CSV, no plots; the output directory defaults to DIR.
  const auto csv_only = RunKvpress("report " + dir + " --format csv --no-plots");
  ASSERT_EQ(csv_only.exit_code, 0) << csv_only.err;
  EXPECT_NE(csv_only.err.find("wrote 1 files"), std::string::npos) << csv_only.err;
  EXPECT_TRUE(fs::exists(dir + "/report.csv"));
  EXPECT_FALSE(fs::exists(dir + "/report.md"));
}

TEST(ReportCli, ExitCodes) {
  const std::string dir = TempDir("report-empty");
  auto r = RunKvpress("report " + dir + "/missing");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing: not a directory"), std::string::npos) << r.err;
  WriteText(dir + "/x_score.json", "not json");
  r = RunKvpress("report " + dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no valid *_score.json file found (1 skipped)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/report.md"));
  r = RunKvpress("report " + dir + " --format md,xml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--format: 'xml'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kvpress::eval
