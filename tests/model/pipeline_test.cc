// The context + questions pipeline on stories260K: the context is prefilled once, and each answer
// equals the answer of a separate single-question run with the same press (exact cache restore).
#include <gtest/gtest.h>

#include "generate/pipeline.h"
#include "model/model.h"
#include "press/registry.h"
#include "test_util.h"
#include "tokenizer/llama2c_tokenizer.h"

namespace kvpress {
namespace {

class Stories260KPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string bin = testing::SharedData("models/stories260K/stories260K.bin");
    if (bin.empty()) GTEST_SKIP() << "../shared/data not found; skipping (needs shared test data)";
    auto m = LoadModel(bin);
    ASSERT_TRUE(m.ok());
    model_ = std::move(m).value();
    auto tok = Llama2cTokenizer::Load(testing::SharedData("models/stories260K/tok512.bin"), 512);
    ASSERT_TRUE(tok.ok());
    tok_ = std::move(tok).value();
  }

  std::vector<int32_t> Ids(const std::string& text, bool bos) {
    auto ids = tok_->Encode(text, bos);
    EXPECT_TRUE(ids.ok());
    return *ids;
  }

  StatusOr<PipelineResult> Run(const std::string& press_name, int budget, const std::vector<int32_t>& context,
                               const std::vector<std::vector<int32_t>>& questions) {
    PressSpec spec;
    spec.name = press_name;
    spec.budget.cache_budget = budget;
    auto press = CreatePress(spec);
    EXPECT_TRUE(press.ok());
    Transformer t(*model_, 2);
    GenerateOptions opt;
    opt.max_new_tokens = 40;
    opt.stop_ids = {1};
    opt.press = press->get();
    return RunPipeline(t, context, questions, opt);
  }

  std::unique_ptr<Model> model_;
  std::unique_ptr<Llama2cTokenizer> tok_;
};

TEST_F(Stories260KPipeline, EachAnswerEqualsASeparateSingleQuestionRun) {
  const std::vector<int32_t> context =
      Ids("Once upon a time, there was a little girl named Lily. She loved to play outside in the park "
          "with her friends. One day, she saw a big red ball under a tree.",
          true);
  const std::vector<std::vector<int32_t>> questions = {Ids(" Lily wanted", false), Ids(" Her mom said", false),
                                                       Ids(" The ball was", false)};
  ASSERT_GT(context.size(), 32u);
  for (const char* press : {"full", "knorm", "streaming_llm", "h2o", "snapkv_d", "tova", "observed_attention",
                            "keydiff", "random"}) {
    auto multi = Run(press, 32, context, questions);
    ASSERT_TRUE(multi.ok()) << press;
    ASSERT_EQ(multi->answers.size(), questions.size());
    int64_t question_tokens = 0;
    for (size_t q = 0; q < questions.size(); ++q) {
      question_tokens += static_cast<int64_t>(questions[q].size());
      auto single = Run(press, 32, context, {questions[q]});
      ASSERT_TRUE(single.ok());
      EXPECT_EQ(multi->answers[q].tokens, single->answers[0].tokens) << press << " question " << q;
      EXPECT_FALSE(multi->answers[q].tokens.empty()) << press;
    }
    // The context is prefilled once; the questions are added on top.
    EXPECT_EQ(multi->metrics.total_prefill_tokens, static_cast<int64_t>(context.size()) + question_tokens) << press;
    if (std::string(press) != "full") {
      EXPECT_LE(multi->metrics.kv_tokens_per_head_max, static_cast<int64_t>(context.size()));
      EXPECT_GT(multi->metrics.evictions, 0) << press;
    }
  }
}

TEST_F(Stories260KPipeline, QuestionTokensAreNeverCompressed) {
  const std::vector<int32_t> context = Ids("Once upon a time, there was a little girl named Lily.", true);
  std::vector<int32_t> question = Ids(" She loved to play outside in the park with her friends and her dog", false);
  // Budget below context + question: after the question prefill every question slot is still there.
  PressSpec spec;
  spec.name = "knorm";
  spec.budget.cache_budget = 8;
  auto press = CreatePress(spec);
  ASSERT_TRUE(press.ok());
  Transformer t(*model_, 2);
  Session s(t, press->get(), DType::kF32);
  std::vector<float> logits;
  ASSERT_TRUE(s.Prefill(context, ForwardPhase::kPrefill, logits).ok());
  EXPECT_EQ(s.cache().MaxSize(), 8);
  ASSERT_TRUE(s.Prefill(question, ForwardPhase::kQuestion, logits).ok());
  EXPECT_EQ(s.cache().MaxSize(), 8 + static_cast<int>(question.size()));
}

TEST(StopCriteria, RepetitionNeedsFiveConsecutiveRepeatsOfA2To10Gram) {
  std::vector<int32_t> t = {9, 9, 9, 1, 2, 1, 2, 1, 2, 1, 2};
  EXPECT_FALSE(StopCriteria::EndsWithRepetition(t));  // (1 2) x4
  t.insert(t.end(), {1, 2});
  EXPECT_TRUE(StopCriteria::EndsWithRepetition(t));  // (1 2) x5
  std::vector<int32_t> same(12, 7);
  EXPECT_TRUE(StopCriteria::EndsWithRepetition(same));  // (7 7) x5 within 12 tokens
  std::vector<int32_t> ten;
  for (int r = 0; r < 5; ++r)
    for (int i = 0; i < 10; ++i) ten.push_back(100 + i);
  EXPECT_TRUE(StopCriteria::EndsWithRepetition(ten));
  ten.pop_back();
  EXPECT_FALSE(StopCriteria::EndsWithRepetition(ten));
  EXPECT_FALSE(StopCriteria::EndsWithRepetition(std::vector<int32_t>{1, 2, 1, 2, 1, 2, 1, 2, 1}));  // < 10 tokens
}

}  // namespace
}  // namespace kvpress
