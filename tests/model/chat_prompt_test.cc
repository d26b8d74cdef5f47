// The pipeline's chat split (reference §4) with real Qwen3 tokenizer files: the context lands in the
// user turn, and each question is followed by the end-of-turn + assistant header of the template.
#include <gtest/gtest.h>

#include "generate/chat_prompt.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/load_tokenizer.h"

namespace kvpress {
namespace {

TEST(ChatPrompt, Qwen3SplitsTheRenderedTurnAroundTheContext) {
  const std::string dir = testing::SharedData("tokenizers/qwen3");
  SKIP_IF_NO_SHARED(dir);
  auto tok = LoadTokenizer(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto cfg = LoadChatTemplateConfig(dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto chat = ChatTemplate::FromConfig(*cfg, "", false);
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  PipelinePromptOptions o;
  o.context = "The capital of France is Paris. Its river is the Seine.";
  o.questions = {"What is the capital?", "Which river?"};
  o.answer_prefix = "Answer:";
  o.chat = &*chat;
  o.special_tokens = cfg->special_tokens;
  o.enable_thinking = false;
  auto p = BuildPipelinePrompt(**tok, o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->used_chat_template);
  const std::string context = (*tok)->Decode(p->context);
  EXPECT_EQ(context, "<|im_start|>user\n" + o.context);
  ASSERT_EQ(p->questions.size(), 2u);
  const std::string q0 = (*tok)->Decode(p->questions[0]);
  EXPECT_EQ(q0.rfind("What is the capital?<|im_end|>\n<|im_start|>assistant\n", 0), 0u) << q0;
  EXPECT_EQ(q0.substr(q0.size() - 7), "Answer:");
  // The full conversation equals context + question token for token (no merge across the split
  // point in this case: the split falls between the context text and the question text).
  std::vector<int32_t> joined = p->context;
  joined.insert(joined.end(), p->questions[1].begin(), p->questions[1].end());
  EXPECT_EQ((*tok)->Decode(joined).find("<|im_start|>user\nThe capital"), 0u);
}

TEST(ChatPrompt, WithoutTemplateTheContextGetsBosAndQuestionsANewline) {
  const std::string bin = testing::SharedData("models/stories260K/tok512.bin");
  SKIP_IF_NO_SHARED(bin);
  auto tok = LoadTokenizer(bin, 512);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  PipelinePromptOptions o;
  o.context = "Once upon a time";
  o.questions = {"Lily"};
  o.max_context_length = 3;
  auto p = BuildPipelinePrompt(**tok, o);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->used_chat_template);
  EXPECT_EQ(p->context.front(), 1);  // BOS
  EXPECT_TRUE(p->truncated);
  EXPECT_EQ(p->context.size(), 3u);
  const std::string q = (*tok)->Decode(p->questions[0]);
  EXPECT_EQ(q.back(), '\n');
}

}  // namespace
}  // namespace kvpress
