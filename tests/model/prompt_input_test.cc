// generate/prompt_input.h, the prompt ids `kvpress generate` and the Python generate() share: ids
// pass through, a plain prompt gets BOS and is cut to max_context_length, a pipeline prompt is
// BuildPipelinePrompt's (with the model's chat template when asked), and CheckPromptFits refuses
// what the model cannot run, naming the caller's own argument spelling.
#include "generate/prompt_input.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "generate/chat_prompt.h"
#include "test_util.h"
#include "tokenizer/load_tokenizer.h"

namespace kvpress {
namespace {

using ::testing::HasSubstr;

constexpr PromptArgNames kPy = {"prompt_ids", "prompt", "max_context_length",
                                "max_context_length=N", "chat=True"};

// A model with a config only (CheckPromptFits reads the vocabulary and the trained positions).
Model ConfigOnly(int vocab, int max_position) {
  Model m;
  m.path = "tiny.gguf";
  m.config.vocab_size = vocab;
  m.config.max_position = max_position;
  return m;
}

TEST(PromptInput, IdsPassThroughWithoutATokenizer) {
  PromptInput in;
  in.ids = std::vector<int32_t>{5, 6, 7};
  in.pipeline = true;  // ids win over the other forms, as --prompt-ids with --question
  auto p = BuildPromptIds(nullptr, nullptr, "m", in, kCliPromptArgNames);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->context, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_TRUE(p->questions.empty());
  in.ids.reset();
  in.text = "hello";
  EXPECT_EQ(BuildPromptIds(nullptr, nullptr, "m", in, kCliPromptArgNames).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(PromptInput, CheckPromptFitsNamesTheCallersArguments) {
  const Model m = ConfigOnly(64, 10);
  PromptIds p;
  p.context = {1, 2, 64};
  Status s = CheckPromptFits(m, p, kCliPromptArgNames);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--prompt-ids: id 64 is outside the vocabulary [0, 64)"));
  p.context = {-1};
  EXPECT_THAT(CheckPromptFits(m, p, kPy).message(), HasSubstr("prompt_ids: id -1"));
  p.context.clear();
  EXPECT_THAT(CheckPromptFits(m, p, kPy).message(),
              HasSubstr("prompt: empty prompt and the model has no BOS token"));
  // 8 context + the longest question (3) = 11 > 10 positions: keep at most 10 - 3 = 7.
  p.context.assign(8, 1);
  p.questions = {{1, 2}, {1, 2, 3}};
  s = CheckPromptFits(m, p, kCliPromptArgNames);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("the prompt has 11 tokens but tiny.gguf was trained on 10 "
                                     "positions; pass --max-context-length N (N <= 7)"));
  EXPECT_THAT(CheckPromptFits(m, p, kPy).message(),
              HasSubstr("pass max_context_length=N (N <= 7)"));
  p.context.resize(7);
  EXPECT_TRUE(CheckPromptFits(m, p, kPy).ok());
}

TEST(PromptInput, PlainPromptGetsBosAndIsCut) {
  const std::string bin = testing::SharedData("models/stories260K/tok512.bin");
  SKIP_IF_NO_SHARED(bin);
  auto tok = LoadTokenizer(bin, 512);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  PromptInput in;
  in.text = "Once upon a time there was a girl";
  auto full = BuildPromptIds(tok->get(), nullptr, bin, in, kCliPromptArgNames);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  auto want = (*tok)->Encode(in.text, /*add_special=*/true);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(full->context, *want);
  EXPECT_EQ(full->context.front(), 1);  // BOS
  in.add_bos = false;
  in.max_context_length = 3;
  auto cut = BuildPromptIds(tok->get(), nullptr, bin, in, kCliPromptArgNames);
  ASSERT_TRUE(cut.ok());
  auto no_bos = (*tok)->Encode(in.text, /*add_special=*/false);
  ASSERT_TRUE(no_bos.ok());
  ASSERT_GT(no_bos->size(), 3u);
  EXPECT_EQ(cut->context, std::vector<int32_t>(no_bos->begin(), no_bos->begin() + 3));
  // DecodeAfter: the prompt's text followed by the generated text reads as the whole.
  const std::vector<int32_t> head(want->begin(), want->begin() + 3),
      tail(want->begin() + 3, want->end());
  EXPECT_EQ((*tok)->Decode(head) + DecodeAfter(tok->get(), head, tail), (*tok)->Decode(*want));
  EXPECT_FALSE(DecodeAfter(tok->get(), head, tail).empty());
  EXPECT_EQ(DecodeAfter(nullptr, {1}, {2}), "");
}

TEST(PromptInput, PipelineIsBuildPipelinePromptWithTheModelsTemplate) {
  const std::string dir = testing::SharedData("tokenizers/qwen3");
  SKIP_IF_NO_SHARED(dir);
  auto tok = LoadTokenizer(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto cfg = LoadChatTemplateConfig(dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto parsed = ChatTemplate::FromConfig(*cfg, "", false);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ModelChatTemplate chat{std::move(parsed).value(), cfg->special_tokens};
  PromptInput in;
  in.pipeline = true;
  in.context = "The capital of France is Paris.";
  in.questions = {"What is the capital?", "Which country?"};
  in.answer_prefix = "Answer:";
  in.enable_thinking = false;
  for (ChatMode mode : {ChatMode::kAuto, ChatMode::kOn, ChatMode::kOff}) {
    SCOPED_TRACE(static_cast<int>(mode));
    in.chat = mode;
    auto got = BuildPromptIds(tok->get(), &chat, dir, in, kCliPromptArgNames);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    PipelinePromptOptions o;
    o.context = in.context;
    o.questions = in.questions;
    o.answer_prefix = in.answer_prefix;
    o.enable_thinking = false;
    if (mode != ChatMode::kOff) {
      o.chat = &chat.chat_template;
      o.special_tokens = chat.special_tokens;
    }
    auto want = BuildPipelinePrompt(**tok, o);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    EXPECT_EQ(got->context, want->context);
    EXPECT_EQ(got->questions, want->questions);
    EXPECT_EQ((*tok)->Decode(got->context).rfind("<|im_start|>user\n", 0) == 0,
              mode != ChatMode::kOff);
  }
  // A model without a template: auto falls back to the raw prompt, on is refused naming `where`.
  in.chat = ChatMode::kAuto;
  EXPECT_TRUE(BuildPromptIds(tok->get(), nullptr, dir, in, kPy).ok());
  in.chat = ChatMode::kOn;
  const Status s = BuildPromptIds(tok->get(), nullptr, dir, in, kPy).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr(dir + ": chat=True given but the model has no chat template"));
}

}  // namespace
}  // namespace kvpress
