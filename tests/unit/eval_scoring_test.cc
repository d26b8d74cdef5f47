// Answer extraction and scoring: the committed case table (tests/fixtures/scoring_cases.json,
// with Hugging Face math-verify's verdicts recorded by scripts/goldens/score_with_math_verify.py)
// plus focused checks of the fork's extractor, the DROP metric and the equivalence helpers.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "eval/drop_metric.h"
#include "eval/extract.h"
#include "eval/math_equiv.h"
#include "eval/scoring.h"
#include "test_util.h"

namespace kvpress::eval {
namespace {

using nlohmann::json;

std::vector<std::string> Golds(const json& gold) {
  if (gold.is_array()) return gold.get<std::vector<std::string>>();
  return {gold.get<std::string>()};
}

// The fork's gt_answer string for a case (DROP: the Python repr of the span list).
std::string ForkGold(const json& gold) {
  if (gold.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < gold.size(); ++i) s += (i ? ", '" : "'") + gold[i].get<std::string>() + "'";
    return s + "]";
  }
  return gold.get<std::string>();
}

TEST(ScoringCases, TableMatchesExpectedVerdictsAndMathVerify) {
  StatusOr<json> doc = ReadJsonFile(testing::Fixture("scoring_cases.json"));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const json& cases = (*doc)["cases"];
  ASSERT_GE(cases.size(), 150u);
  int math_total = 0, math_agree = 0, fork_checked = 0;
  std::map<std::string, int> per_dataset;
  for (const json& c : cases) {
    const std::string id = c["id"];
    StatusOr<DatasetSpec> spec = FindDataset(c["dataset"].get<std::string>());
    ASSERT_TRUE(spec.ok()) << id;
    ++per_dataset[spec->key];
    const std::string response = c["response"];
    Verdict v = ScoreResponse(ScoringMode::kNormalized, spec->kind, response, ForkGold(c["gold"]), Golds(c["gold"]));
    EXPECT_EQ(v.correct, c["expected"].get<bool>())
        << id << " (" << c.value("note", "") << "): response=" << response << " gold=" << c["gold"].dump()
        << " extracted='" << v.extracted << "'";
    if (c.contains("fork_expected")) {
      ++fork_checked;
      Verdict f = ScoreResponse(ScoringMode::kExact, spec->kind, response, ForkGold(c["gold"]), Golds(c["gold"]));
      EXPECT_EQ(f.correct, c["fork_expected"].get<bool>())
          << id << " (fork): response=" << response << " extracted='" << f.extracted << "'";
    }
    if (c.contains("math_verify")) {
      ++math_total;
      bool agree = c["math_verify"].get<bool>() == v.correct;
      math_agree += agree;
      if (!agree) {
        std::cout << "[math-verify disagreement] " << id << ": ours=" << v.correct
                  << " math_verify=" << c["math_verify"].get<bool>() << " justification: "
                  << c.value("justification", "(none)") << "\n";
        EXPECT_FALSE(c.value("justification", "").empty()) << id << " disagrees with math-verify without a justification";
      }
    }
  }
  ASSERT_GT(math_total, 0);
  double agreement = double(math_agree) / math_total;
  std::cout << "[scoring cases] " << cases.size() << " cases, " << fork_checked << " with fork verdicts; "
            << "math-verify agreement " << math_agree << "/" << math_total << " = " << agreement << "\n";
  EXPECT_GE(agreement, 0.95);
  EXPECT_GE(per_dataset.size(), 12u);  // every dataset family is represented
}

TEST(ForkExtract, FollowsReferenceSteps) {
  EXPECT_EQ(ForkExtract(DatasetKind::kGsm8k, "  18.0 "), "18.0");           // whole float
  EXPECT_EQ(ForkExtract(DatasetKind::kGsm8k, "Banana"), "Banana");          // purely alphabetic
  EXPECT_EQ(ForkExtract(DatasetKind::kGsm8k, "x \\boxed{\\frac{1}{2}} y"), "\\frac{1}{2}");
  EXPECT_EQ(ForkExtract(DatasetKind::kCommonsenseQa, "\\boxed{\\text{(B)}}"), "\\text{(B)}");  // no unwrap
  EXPECT_EQ(ForkExtract(DatasetKind::kFolio, "\\boxed{\\text{True}}"), "True");               // unwrap works
  EXPECT_EQ(ForkExtract(DatasetKind::kGsm8k, "So the Answer is 18.5 dollars"), "18");          // cut at '.'
  EXPECT_EQ(ForkExtract(DatasetKind::kGsm8k, "The final answer is B\nmore"), "b");            // lowercased
  EXPECT_EQ(ForkExtract(DatasetKind::kLogiqa, "I pick option 3 here"), "3 here");             // second cue list
  EXPECT_EQ(ForkExtract(DatasetKind::kGsm8k, "no cue at all 42"), "");
  EXPECT_EQ(ForkExtract(DatasetKind::kStrategyQa, " TRUE "), "true");
  EXPECT_EQ(ForkExtract(DatasetKind::kGsm8k, "\\boxed{1{2}3}"), "1{2}3");  // nested braces kept
}

TEST(ForkExactMatch, ReproducesDefects) {
  EXPECT_FALSE(ForkExactMatch(DatasetKind::kGsm8k, "18.0", "18"));
  EXPECT_TRUE(ForkExactMatch(DatasetKind::kOpenbookQa, "b", "B"));
  EXPECT_TRUE(ForkExactMatch(DatasetKind::kDrop, "7", "['7']"));
  EXPECT_FALSE(ForkExactMatch(DatasetKind::kDrop, "Tom", "['Tom']"));  // only single characters can pass
}

TEST(Extract, LastBoxedNestedAndUnbalanced) {
  EXPECT_EQ(LastBoxed("a \\boxed{1} b \\boxed{\\frac{a}{b}}").value(), "\\frac{a}{b}");
  EXPECT_EQ(LastBoxed("\\boxed{\\{1,2\\}}").value(), "\\{1,2\\}");
  EXPECT_EQ(LastBoxed("\\boxed 5$").value(), "5");
  EXPECT_EQ(LastBoxed("\\fbox{7}").value(), "7");
  EXPECT_EQ(LastBoxed("\\boxed{12").value(), "12");
  EXPECT_FALSE(LastBoxed("no box").has_value());
  EXPECT_EQ(UnwrapTextCommands("\\text{(B)} \\textbf{x}"), "(B) x");
  EXPECT_EQ(ExtractAnswer(DatasetKind::kGsm8k, "Thus the answer is 3.5 meters. Done."), "3.5 meters");
}

TEST(MathEquiv, Helpers) {
  EXPECT_EQ(NormalizeLatex("\\dfrac12"), "\\frac{1}{2}");
  EXPECT_EQ(NormalizeLatex("\\left( 1, 2 \\right)"), "(1,2)");
  EXPECT_EQ(NormalizeLatex("10,\\!080"), "10080");
  EXPECT_NEAR(EvaluateConstant("\\frac{\\sqrt{3}}{2}").value(), 0.8660254, 1e-6);
  EXPECT_NEAR(EvaluateConstant("3\\pi/4").value(), 2.3561945, 1e-6);
  EXPECT_FALSE(EvaluateConstant("x+1").has_value());
  EXPECT_EQ(ParseNumericAnswer("$1,234.50").value(), 1234.5);
  EXPECT_EQ(ParseNumericAnswer("025").value(), 25);
  EXPECT_FALSE(ParseNumericAnswer("18 or 19").has_value());
  EXPECT_TRUE(LatexEquivalent("[1,2)", "\\left[1, 2\\right)"));
  EXPECT_FALSE(LatexEquivalent("(1,2)", "[1,2]"));
}

TEST(DropMetric, OfficialNormalisationAndF1) {
  EXPECT_EQ(DropNormalizeAnswer("The 3 Dogs!"), "3.0 dogs");
  EXPECT_EQ(DropNormalizeAnswer("field-goal"), "field goal");
  DropMetrics m = DropScore({"Chicago"}, {"Chicago", "Denver"});
  EXPECT_EQ(m.exact_match, 0.0);
  EXPECT_DOUBLE_EQ(m.f1, 0.5);
  m = DropScore({"Denver", "Chicago"}, {"Chicago", "Denver"});
  EXPECT_EQ(m.exact_match, 1.0);
  EXPECT_DOUBLE_EQ(m.f1, 1.0);
  m = DropScore({"the Denver Broncos"}, {"Broncos"});
  EXPECT_EQ(m.exact_match, 0.0);
  EXPECT_DOUBLE_EQ(m.f1, 0.67);
  m = DropScore({"24 yards"}, {"23 yards"});  // numbers must match
  EXPECT_DOUBLE_EQ(m.f1, 0.0);
  Verdict v = ScoreExtracted(DatasetKind::kDrop, "Chicago", {"Chicago", "Denver"});
  EXPECT_FALSE(v.correct);
  EXPECT_DOUBLE_EQ(v.score, 0.5);
}

TEST(Scoring, NeverCrashesOnArbitraryText) {
  // Deterministic random strings over the characters the parsers care about, plus deep nesting.
  const std::string alphabet = "\\{}()[]^_0123456789abx.,-+/ $%:\n";
  const std::vector<std::string> words = {"\\boxed{", "\\frac", "\\sqrt", "\\text{", "\\left(", "\\right)",
                                          "answer is", "option", "\\pi", "\\{", "\\}", "####", "the", "and"};
  uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  std::vector<std::string> inputs = {std::string(5000, '{') + "1" + std::string(5000, '}'),
                                     "\\boxed{" + std::string(3000, '(') + "\\frac{1}{2}",
                                     std::string(2000, '-') + "1", "\\frac" + std::string(300, '{')};
  for (int n = 0; n < 600; ++n) {
    std::string s;
    int len = next() % 40;
    for (int i = 0; i < len; ++i) s += (next() % 3 == 0) ? words[next() % words.size()] : std::string(1, alphabet[next() % alphabet.size()]);
    inputs.push_back(s);
  }
  for (const std::string& s : inputs) {
    for (const DatasetSpec& spec : AllDatasets()) {
      (void)ScoreResponse(ScoringMode::kExact, spec.kind, s, s, {s});
      (void)ScoreResponse(ScoringMode::kNormalized, spec.kind, s, s, {s, "x"});
    }
  }
  SUCCEED();
}

TEST(Scoring, ModeNames) {
  EXPECT_EQ(ParseScoringMode("exact").value(), ScoringMode::kExact);
  EXPECT_FALSE(ParseScoringMode("fuzzy").ok());
  EXPECT_STREQ(ScoringModeName(ScoringMode::kNormalized), "normalized");
}

}  // namespace
}  // namespace kvpress::eval
