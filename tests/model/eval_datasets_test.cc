// Every dataset file shipped in ../shared/data/datasets loads with its documented row count
// (SOURCES.md) and its first prompt is §5.2's template applied to the first row.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "eval/dataset.h"
#include "eval/scoring.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;

const std::string kMathTail = "\nSolve the problem step by step. Wrap your final answer in \"\\boxed{}\".";
const std::string kRTail =
    "Solve the problem step by step. Answer with the option number and wrap your final answer in \"\\boxed{{}}\".";

json FirstJsonLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return json::parse(line);
}

Dataset Load(const std::string& key) {
  DatasetSpec spec = FindDataset(key).value();
  std::string dir = testing::SharedData("datasets");
  StatusOr<Dataset> ds = LoadDatasetFile(spec, LocalDatasetPath(spec, dir).value());
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return ds.ok() ? std::move(ds).value() : Dataset{};
}

struct Expect {
  const char* key;
  size_t rows;
};

TEST(EvalDatasetsShared, RowCountsAndNoSkips) {
  std::string dir = testing::SharedData("datasets");
  SKIP_IF_NO_SHARED(dir);
  for (Expect e : {Expect{"gsm8k", 1319}, {"math500", 500}, {"aime24", 30}, {"aime25", 30}, {"amc23", 40},
                   {"folio", 204}, {"strategyqa", 2290}, {"logiqa", 651}, {"commonsenseqa", 1221},
                   {"lsat-lr", 510}}) {
    Dataset ds = Load(e.key);
    EXPECT_EQ(ds.samples.size(), e.rows) << e.key;
    EXPECT_EQ(ds.skipped, 0u) << e.key;
    for (const Sample& s : ds.samples) {
      ASSERT_FALSE(s.gold.empty()) << e.key << " " << s.id;
      ASSERT_FALSE(s.golds.empty()) << e.key << " " << s.id;
    }
  }
}

TEST(EvalDatasetsShared, FirstPromptsMatchTemplates) {
  std::string dir = testing::SharedData("datasets");
  SKIP_IF_NO_SHARED(dir);
  {
    json r = FirstJsonLine(dir + "/gsm8k/test.jsonl");
    Dataset ds = Load("gsm8k");
    EXPECT_EQ(ds.samples[0].prompt, r["question"].get<std::string>() + kMathTail);
    EXPECT_EQ(ds.samples[0].gold, "18");
  }
  for (auto [key, file] : {std::pair{"math500", "math500/test.jsonl"}, {"aime24", "aime2024/test.jsonl"},
                           {"aime25", "aime2025/test.jsonl"}, {"amc23", "amc23/test.jsonl"}}) {
    json r = FirstJsonLine(dir + "/" + file);
    Dataset ds = Load(key);
    EXPECT_EQ(ds.samples[0].prompt, r["problem"].get<std::string>() + kMathTail) << key;
  }
  EXPECT_EQ(Load("math500").samples[0].gold, "\\left( 3, \\frac{\\pi}{2} \\right)");
  EXPECT_EQ(Load("aime24").samples[0].gold, "204");
  EXPECT_EQ(Load("aime25").samples[0].gold, "70");
  EXPECT_EQ(Load("amc23").samples[0].gold, "27.0");
  {  // AIME 2025: the \f / \t JSON-escape defect is repaired (SOURCES.md).
    Dataset ds = Load("aime25");
    for (const Sample& s : ds.samples) {
      EXPECT_EQ(s.prompt.find('\f'), std::string::npos) << s.id;
      EXPECT_EQ(s.prompt.find('\t'), std::string::npos) << s.id;
    }
  }
  {
    json r = FirstJsonLine(dir + "/folio/folio-validation.jsonl");
    std::string premises;
    for (const json& p : r["premises"]) {
      if (!premises.empty()) premises += '\n';
      premises += p.get<std::string>();
    }
    Dataset ds = Load("folio");
    EXPECT_EQ(ds.samples[0].prompt,
              "Given the premises and conclusion, determine whether the conclusion follows from the premises. "
              "Answer with True, False or Uncertain.\nPremises:\n" + premises + "\nConclusion:\n" +
                  r["conclusion"].get<std::string>() +
                  "\nSolve the problem step by step. Choose your final answer from True, False and Uncertain and "
                  "wrap your final answer in \"\\boxed{}\".");
    EXPECT_EQ(ds.samples[0].gold, r["label"].get<std::string>());
  }
  {
    Dataset ds = Load("strategyqa");
    EXPECT_EQ(ds.samples[0].prompt,
              "Given some facts and a related question, answer the question with true or false.\\Facts:\n"
              "\\Question:\nIs it common to see frost during some college commencements?\nSolve the problem step "
              "by step. Answer with true or false and wrap your final answer in \"\\boxed{}\".");
    EXPECT_EQ(ds.samples[0].gold, "True");
  }
  for (auto [key, file, instr, qlabel] :
       {std::tuple{"logiqa", "logiqa/logiqa-en.jsonl", "Given a context, a query and some options, pick the correct option.",
                   "\nQuery:\n"},
        std::tuple{"lsat-lr", "lsat-lr/lsat-lr.jsonl",
                   "Given a context, a question and some options, pick the correct option.", "\nQuestion:\n"}}) {
    json r = FirstJsonLine(dir + "/" + file);
    std::string p = std::string(instr) + "\nContext:\n" + r["passage"].get<std::string>() + qlabel +
                    r["question"].get<std::string>() + "\nOptions:\n";
    int i = 1;
    for (const json& o : r["options"]) p += std::to_string(i++) + ". " + o.get<std::string>().substr(3) + "\n";
    Dataset ds = Load(key);
    EXPECT_EQ(ds.samples[0].prompt, p + kRTail) << key;
    EXPECT_EQ(ds.samples[0].gold, std::to_string(r["label"].get<std::string>()[0] - 'A' + 1)) << key;
  }
  {
    Dataset ds = Load("commonsenseqa");
    EXPECT_EQ(ds.samples[0].prompt,
              "Question:\nA revolving door is convenient for two direction travel, but it also serves as a security "
              "measure at a what?\nChoices:\nA. bank\nB. library\nC. department store\nD. mall\nE. new york\nSolve "
              "the problem step by step. Answer with the answer choice label and wrap your final answer in "
              "\"\\boxed{}\".");
    EXPECT_EQ(ds.samples[0].gold, "A");
    EXPECT_EQ(ds.samples[0].id, "1afa02df02c908a558b4036e80242fac");
  }
}

TEST(EvalDatasetsShared, GoldsScoreAsCorrectAgainstThemselves) {
  // Sanity: the normalized equivalence accepts every math gold boxed as a response of its own.
  std::string dir = testing::SharedData("datasets");
  SKIP_IF_NO_SHARED(dir);
  for (const char* key : {"gsm8k", "math500", "aime24", "aime25", "amc23"}) {
    Dataset ds = Load(key);
    size_t ok = 0;
    for (const Sample& s : ds.samples) ok += ScoreResponse(ScoringMode::kNormalized, ds.spec.kind, "\\boxed{" + s.gold + "}", s.gold, s.golds).correct;
    EXPECT_EQ(ok, ds.samples.size()) << key;
  }
}

}  // namespace
}  // namespace kvpress::eval
