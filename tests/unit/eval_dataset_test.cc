// Dataset rows → samples for every layout the loaders accept (HF columns of reference §5.2 and
// the local files), and the skip accounting for missing / ill-formed rows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eval/dataset.h"
#include "eval/json_rows.h"
#include "eval/prompts.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;

const char kMathTail[] = "\nSolve the problem step by step. Wrap your final answer in \"\\boxed{}\".";
const char kRTail[] =
    "Solve the problem step by step. Answer with the option number and wrap your final answer in \"\\boxed{{}}\".";

Sample One(const char* key, const json& row) {
  Dataset ds = BuildDataset(FindDataset(key).value(), {row});
  EXPECT_EQ(ds.samples.size(), 1u) << key << ": " << (ds.skip_reasons.empty() ? "" : ds.skip_reasons[0]);
  return ds.samples.empty() ? Sample{} : ds.samples[0];
}

TEST(EvalDataset, Gsm8kGoldAfterHashes) {
  Sample s = One("gsm8k", {{"question", "Q?"}, {"answer", "work\n#### 1,234 "}});
  EXPECT_EQ(s.prompt, std::string("Q?") + kMathTail);
  EXPECT_EQ(s.gold, "1,234");
  EXPECT_EQ(s.id, "gsm8k-0");
}

TEST(EvalDataset, HfDropLayout) {
  json row = {{"query_id", "q1"}, {"passage", "P"}, {"question", "Who?"},
              {"answers_spans", {{"spans", {"Tom", "Jerry's"}}, {"types", {"span", "span"}}}}};
  Sample s = One("drop", row);
  EXPECT_EQ(s.id, "q1");
  EXPECT_EQ(s.prompt,
            "Passage:\nP\nQuestion:\nWho?\nSolve the problem step by step. Wrap your final answer in \"\\boxed{}\".");
  EXPECT_EQ(s.gold, "['Tom', \"Jerry's\"]");
  EXPECT_EQ(s.golds, (std::vector<std::string>{"Tom", "Jerry's"}));
}

TEST(EvalDataset, HfReclorAndLogiqaLayouts) {
  Sample r = One("reclor", {{"context", "C"}, {"question", "Q"}, {"answers", {"a", "b"}}, {"label", 1}});
  EXPECT_EQ(r.prompt, std::string("Given a context, a question and some options, pick the correct option.\n"
                                  "Context:\nC\nQuestion:\nQ\nOptions:\n1. a\n2. b\n") + kRTail);
  EXPECT_EQ(r.gold, "2");
  Sample l = One("logiqa", {{"context", "C"}, {"query", "Q"}, {"options", {"a", "b"}}, {"correct_option", 0}});
  EXPECT_EQ(l.prompt, std::string("Given a context, a query and some options, pick the correct option.\n"
                                  "Context:\nC\nQuery:\nQ\nOptions:\n1. a\n2. b\n") + kRTail);
  EXPECT_EQ(l.gold, "1");
}

TEST(EvalDataset, HfChoiceLayouts) {
  json choices = {{"label", {"A", "B"}}, {"text", {"x", "y"}}};
  Sample o = One("openbookqa", {{"id", "7"}, {"question_stem", "Q"}, {"choices", choices}, {"answerKey", "B"}});
  EXPECT_EQ(o.prompt, "Question:\nQ\nChoices:\nA. x\nB. y\nSolve the problem step by step. Answer with the answer "
                      "choice label and wrap your final answer in \"\\boxed{}\".");
  EXPECT_EQ(o.gold, "B");
  Sample c = One("commonsenseqa", {{"question", "Q"}, {"choices", choices}, {"answerKey", "A"}});
  EXPECT_EQ(c.prompt.substr(0, 28), "Question:\nQ\nChoices:\nA. x\nB.");
}

TEST(EvalDataset, HfFolioAndStrategyQa) {
  Sample f = One("folio", {{"premises", "p1\np2"}, {"conclusion", "c"}, {"label", "Uncertain"}});
  EXPECT_NE(f.prompt.find("\nPremises:\np1\np2\nConclusion:\nc\n"), std::string::npos);
  EXPECT_EQ(f.gold, "Uncertain");
  Sample s = One("strategyqa", {{"question", "Q?"}, {"answer", true}, {"facts", {"f1", "f2"}}});
  EXPECT_EQ(s.prompt, "Given some facts and a related question, answer the question with true or false.\\Facts:\n"
                      "f1\nf2\\Question:\nQ?\nSolve the problem step by step. Answer with true or false and wrap "
                      "your final answer in \"\\boxed{}\".");
  EXPECT_EQ(s.gold, "True");
}

TEST(EvalDataset, Aime24FallsBackToSolutionAndAmcFloatGold) {
  EXPECT_EQ(One("aime24", {{"problem", "P"}, {"solution", "204"}}).gold, "204");
  EXPECT_EQ(One("aime24", {{"problem", "P"}, {"solution", "long"}, {"answer", "025"}}).gold, "025");
  EXPECT_EQ(One("amc23", {{"problem", "P"}, {"answer", 27.0}}).gold, "27.0");
  EXPECT_EQ(One("jsonl", {{"question", "Q"}, {"answer", 5}}).gold, "5");
  EXPECT_EQ(One("jsonl", {{"question", "Q"}, {"answer", 5}}).prompt, "Q");  // verbatim: no instruction added
}

TEST(EvalDataset, IllFormedRowsAreCountedSkips) {
  std::vector<json> rows = {
      {{"question", "ok"}, {"answer", "#### 1"}},
      {{"question", "no answer"}},
      json::array({1, 2}),
      {{"question", 5}, {"answer", {{"x", 1}}}},
      {{"question", "empty gold"}, {"answer", "####   "}},
  };
  Dataset ds = BuildDataset(FindDataset("gsm8k").value(), rows);
  EXPECT_EQ(ds.rows_read, 5u);
  EXPECT_EQ(ds.samples.size(), 1u);
  EXPECT_EQ(ds.skipped, 4u);
  ASSERT_EQ(ds.skip_reasons.size(), 4u);
  EXPECT_NE(ds.skip_reasons[0].find("row 1"), std::string::npos);
  // Wrong-typed fields in every formatter: never a crash.
  for (const DatasetSpec& spec : AllDatasets()) {
    Dataset bad = BuildDataset(spec, {json::object(), json(nullptr), json("str"),
                                      {{"choices", 3}, {"options", "x"}, {"label", "Q"}, {"passage", 1}}});
    EXPECT_EQ(bad.samples.size(), 0u) << spec.key;
    EXPECT_EQ(bad.skipped, 4u) << spec.key;
  }
}

TEST(EvalDataset, JsonRowFormats) {
  StatusOr<JsonRows> jl = ParseJsonRows("{\"a\":1}\n\nnot json\n{\"a\":2}", "mem");
  ASSERT_TRUE(jl.ok());
  EXPECT_EQ(jl->rows.size(), 2u);
  ASSERT_EQ(jl->bad_lines.size(), 1u);
  EXPECT_EQ(jl->bad_lines[0], "line 3: invalid JSON (syntax error at byte 2)");
  EXPECT_EQ(ParseJsonRows("[{\"a\":1},{\"a\":2}]", "mem")->rows.size(), 2u);
  EXPECT_EQ(ParseJsonRows("{\"examples\":[{\"input\":\"q\"}]}", "mem")->rows.size(), 1u);
  EXPECT_EQ(ParseJsonRows("{\"rows\":[{\"row_idx\":0,\"row\":{\"a\":1}}]}", "mem")->rows[0]["a"], 1);
  EXPECT_FALSE(ParseJsonRows("", "mem").ok());
  EXPECT_FALSE(ParseJsonRows("garbage\nmore", "mem").ok());
  EXPECT_FALSE(ReadJsonRows("/nonexistent/file.jsonl").ok());
}

TEST(EvalDataset, SpecLookup) {
  EXPECT_EQ(FindDataset("AIME2024")->kind, DatasetKind::kAime24);
  EXPECT_FALSE(FindDataset("mmlu").ok());
  EXPECT_EQ(AllDatasets().size(), 21u);  // 14 reasoning sets + 7 long-context benchmarks
  size_t long_context = 0;
  for (const DatasetSpec& d : AllDatasets()) long_context += IsLongContextDataset(d.kind) ? 1 : 0;
  EXPECT_EQ(long_context, 7u);
  EXPECT_TRUE(IsSyntheticDataset(FindDataset("ruler")->kind));
  EXPECT_FALSE(IsSyntheticDataset(FindDataset("longbench-v2")->kind));
  EXPECT_FALSE(LocalDatasetPath(FindDataset("drop").value(), "/d").ok());
  EXPECT_EQ(LocalDatasetPath(FindDataset("gsm8k").value(), "/d").value(), "/d/gsm8k/test.jsonl");
}

}  // namespace
}  // namespace kvpress::eval

namespace kvpress::eval {
namespace {

// Result rows are keyed by sample id (resume), so a repeated id field must not merge two samples.
TEST(EvalDataset, SampleIdsAreUniqueEvenWhenRowsRepeatAnId) {
  const std::vector<nlohmann::json> rows = {{{"id", "x"}, {"question", "A"}, {"answer", "1"}},
                                            {{"id", "x"}, {"question", "B"}, {"answer", "2"}},
                                            {{"question", "C"}, {"answer", "3"}}};
  const Dataset d = BuildDataset(SpecFor(DatasetKind::kJsonl), rows);
  ASSERT_EQ(d.samples.size(), 3u);
  EXPECT_EQ(d.samples[0].id, "x");
  EXPECT_EQ(d.samples[1].id, "x#row1");
  EXPECT_EQ(d.samples[2].id, "jsonl-2");
}

}  // namespace
}  // namespace kvpress::eval
